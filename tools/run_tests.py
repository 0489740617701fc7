#!/usr/bin/env python
"""Run every check and test synthlab has, in CI order, and end with `N passed, N failed`.

1. notebooks are clean (`nbdev_clean` changes nothing);
2. the library is in sync (`nbdev_export` changes nothing in synthlab/);
3. README.md matches nbs/index.ipynb;
4. `nbdev_test` over all notebooks, under a timeout, failing if it ran fewer notebooks than nbs/ holds;
5. `pytest tests`.
Checks compare file contents before and after, so they work on a dirty working tree too.
"""
import hashlib, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
os.chdir(root)
bin_dir = Path(sys.executable).parent
NB_TIMEOUT = int(os.environ.get('SYNTHLAB_NB_TIMEOUT', 1800))
PY_TIMEOUT = int(os.environ.get('SYNTHLAB_PYTEST_TIMEOUT', 2400))

def digest(folder, pattern):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob(pattern))
            if '.ipynb_checkpoints' not in p.parts and '__pycache__' not in p.parts}

def changed(before, after): return sorted(set(before.items()) ^ set(after.items()))

def run(cmd, timeout=None, env=None):
    print('$', ' '.join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, timeout=timeout, env=env)

def scratch(name):
    "A fresh temp folder for one test phase, used as TMPDIR and SYNTHLAB_HOME: training tests write ~1 GB of checkpoints each"
    d = Path(tempfile.mkdtemp(prefix=f'synthlab-{name}-'))
    (d/'home').mkdir()
    return d, {'TMPDIR': str(d), 'SYNTHLAB_HOME': str(d/'home')}

def main():
    t0, failures = time.time(), []
    env = {k:v for k,v in os.environ.items() if k != 'IN_TEST'}   # IN_TEST makes nbdev_export a no-op
    # 1. clean notebooks
    before = digest('nbs', '*.ipynb')
    run([bin_dir/'nbdev_clean'], env=env)
    if d := changed(before, digest('nbs', '*.ipynb')):
        failures.append('notebooks were not clean (nbdev_clean changed: ' + ', '.join(sorted({p for p,_ in d})) + '); commit the cleaned notebooks')
    # 2. library in sync
    before = digest('synthlab', '*.py')
    run([bin_dir/'nbdev_export'], env=env)
    if d := changed(before, digest('synthlab', '*.py')):
        failures.append('synthlab/ was out of sync with the notebooks (nbdev_export changed: ' + ', '.join(sorted({p for p,_ in d})) + '); commit the exported library')
    # 3. README
    if run([sys.executable, 'tools/make_readme.py', '--check']).returncode: failures.append('README.md out of step with nbs/index.ipynb')
    for f in failures: print('FAILED CHECK:', f, flush=True)
    # 4. notebooks
    nbs = sorted(p for p in Path('nbs').rglob('*.ipynb') if not p.name.startswith(('_', '.')) and '.ipynb_checkpoints' not in p.parts)
    nb_passed = nb_failed = 0
    print(f'\n== nbdev_test: {len(nbs)} notebooks', flush=True)
    tmp, tmp_env = scratch('nbdev_test')
    try:
        r = subprocess.Popen(['timeout', str(NB_TIMEOUT), bin_dir/'nbdev_test', '--do_print', '--timing', '--n_workers', '2'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**env, **tmp_env})
        lines = []
        for line in r.stdout: print(line, end='', flush=True); lines.append(line)
        r.wait(); out = ''.join(lines)
        ran = {Path(f).name for f in re.findall(r'^- Completed (\S.*\.ipynb)\s*$', out, re.M)}
        failed = set()
        if m := re.search(r'nbdev Tests Failed On The Following Notebooks:\n=+\n((?:\t.*\n?)+)', out):
            failed = {l.strip() for l in m.group(1).splitlines() if l.strip()}
        if r.returncode == 124: print(f'nbdev_test timed out after {NB_TIMEOUT}s', flush=True)
        if r.returncode != 0 and not failed: failed = {'nbdev_test'}
        nb_failed = len(failed)
        nb_passed = max(len(ran - failed), 0) if r.returncode == 0 or failed else 0
        if len(ran) < len(nbs):
            missing = sorted({p.name for p in nbs} - ran)
            print(f'nbdev_test ran {len(ran)} of {len(nbs)} notebooks; not run: {missing}', flush=True)
            nb_failed += len(missing)
    except Exception as e:
        print('nbdev_test could not run:', e, flush=True); nb_failed = len(nbs)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    # 5. pytest
    print('\n== pytest tests', flush=True)
    tmp, tmp_env = scratch('pytest')
    junit = tmp/'junit.xml'
    try:
        r = run([sys.executable, '-m', 'pytest', 'tests', '-q', '-p', 'no:cacheprovider', f'--junitxml={junit}',
                 f'--basetemp={tmp/"pytest"}'], timeout=PY_TIMEOUT, env={**env, **tmp_env})
        xml = junit.read_text() if junit.exists() else ''
        m = re.search(r'<testsuite [^>]*', xml)
        attr = lambda k: int(re.search(rf'{k}="(\d+)"', m.group(0)).group(1)) if m and re.search(rf'{k}="(\d+)"', m.group(0)) else 0
        py_total, py_fail, py_err, py_skip = attr('tests'), attr('failures'), attr('errors'), attr('skipped')
        py_failed = py_fail + py_err + (1 if r.returncode not in (0, 1) and not (py_fail + py_err) else 0)
        py_passed = py_total - py_fail - py_err - py_skip
    except subprocess.TimeoutExpired:
        print(f'pytest timed out after {PY_TIMEOUT}s'); py_passed, py_failed, py_skip = 0, 1, 0
    finally: shutil.rmtree(tmp, ignore_errors=True)
    passed, failed = nb_passed + py_passed, nb_failed + py_failed + len(failures)
    print(f'\nnotebooks: {nb_passed} passed, {nb_failed} failed; pytest: {py_passed} passed, {py_failed} failed; checks: {len(failures)} failed; {time.time()-t0:.0f}s')
    print(f'{passed} passed, {failed} failed', flush=True)
    sys.exit(1 if failed or passed == 0 else 0)

if __name__ == '__main__': main()
