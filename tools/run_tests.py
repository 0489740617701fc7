#!/usr/bin/env python
"""Run every check and test synthlab has, in CI order, and end with `N passed, N failed`.

1. notebooks are clean (`nbdev_clean` changes nothing);
2. the library is in sync (`nbdev_export` changes nothing in synthlab/);
3. README.md matches nbs/index.ipynb;
4. no notebook cell reads the team's `../shared` folder (a fresh clone has none: tests use tests/unity_samples);
5. `nbdev_test` over all notebooks, under a timeout, failing if it ran fewer notebooks than nbs/ holds;
6. `pytest tests`: a skipped test counts as a failure (a fresh clone must run every test);
7. every benchmark runs: `python bench/<name>.py --smoke` for each bench/*.py, one test each.
Checks compare file contents before and after, so they work on a dirty working tree too.
"""
import hashlib, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
os.chdir(root)
bin_dir = Path(sys.executable).parent
NB_TIMEOUT = int(os.environ.get('SYNTHLAB_NB_TIMEOUT', 1800))
PY_TIMEOUT = int(os.environ.get('SYNTHLAB_PYTEST_TIMEOUT', 2400))
BENCH_TIMEOUT = int(os.environ.get('SYNTHLAB_BENCH_TIMEOUT', 300))

def digest(folder, pattern):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob(pattern))
            if '.ipynb_checkpoints' not in p.parts and '__pycache__' not in p.parts}

def changed(before, after): return sorted(set(before.items()) ^ set(after.items()))

def run(cmd, timeout=None, env=None, cwd=None):
    print('$', ' '.join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, timeout=timeout, env=env, cwd=cwd)

def scratch(name):
    "A fresh temp folder for one test phase, used as TMPDIR and SYNTHLAB_HOME: training tests write ~1 GB of checkpoints each"
    d = Path(tempfile.mkdtemp(prefix=f'synthlab-{name}-'))
    (d/'home').mkdir()
    return d, {'TMPDIR': str(d), 'SYNTHLAB_HOME': str(d/'home')}

SHARED_RE = re.compile(r"""(\.\./)+shared\b|['"]shared['"]\s*/|/\s*['"]shared['"]""")

def shared_cells(nbs):
    "`notebook: cell n` for every code cell that reads the team's `../shared` folder"
    res = []
    for nb in nbs:
        try: cells = json.loads(Path(nb).read_text())['cells']
        except (ValueError, KeyError) as e: res.append(f'{nb}: unreadable ({e})'); continue
        for i, c in enumerate(cells):
            if c.get('cell_type') == 'code' and SHARED_RE.search(''.join(c.get('source', ''))): res.append(f'{nb}: cell {i}')
    return res

def skipped_tests(xml):
    "`file::test: reason` of every skipped test in a pytest junit report"
    return [f"{m.group(1)}::{m.group(2)}: {m.group(3)}" for m in
            re.finditer(r'<testcase classname="([^"]*)" name="([^"]*)"[^>]*>\s*<skipped[^>]*message="([^"]*)"', xml)]

def run_benchmarks(env):
    "Run `bench/<name>.py --smoke` for every benchmark in a scratch folder; returns `(passed, failed names)`"
    benches = sorted(Path('bench').glob('*.py'))
    print(f'\n== benchmarks: {len(benches)} smoke runs ({BENCH_TIMEOUT}s each)', flush=True)
    passed, failed = 0, []
    for b in benches:
        tmp, tmp_env = scratch(f'bench-{b.stem}')
        t = time.time()
        try:
            r = run([sys.executable, root/b, '--smoke'], timeout=BENCH_TIMEOUT, cwd=tmp,
                    env={**env, **tmp_env, 'PYTHONPATH': str(root), 'MPLBACKEND': 'Agg'})
            ok, why = r.returncode == 0, f'exit status {r.returncode}'
        except subprocess.TimeoutExpired: ok, why = False, f'timed out after {BENCH_TIMEOUT}s'
        finally: shutil.rmtree(tmp, ignore_errors=True)
        print(f'{b.name} --smoke: {"passed" if ok else "FAILED (" + why + ")"} in {time.time()-t:.0f}s', flush=True)
        if ok: passed += 1
        else: failed.append(f'{b.name} ({why})')
    return passed, failed

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
    # 4. no notebook depends on ../shared
    nbs = sorted(p for p in Path('nbs').rglob('*.ipynb') if not p.name.startswith(('_', '.')) and '.ipynb_checkpoints' not in p.parts)
    if d := shared_cells(nbs):
        failures.append("notebook cells read ../shared, which a fresh clone lacks (use tests/unity_samples): " + ', '.join(d))
    for f in failures: print('FAILED CHECK:', f, flush=True)
    # 5. notebooks
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
    # 6. pytest
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
        if py_skip: # a fresh clone runs every test: a skip hides one that did not run
            print(f'pytest skipped {py_skip} test(s), counted as failures:', *(skipped_tests(xml) or ['(see the pytest output)']), sep='\n  ', flush=True)
            py_failed += py_skip
    except subprocess.TimeoutExpired:
        print(f'pytest timed out after {PY_TIMEOUT}s'); py_passed, py_failed, py_skip = 0, 1, 0
    finally: shutil.rmtree(tmp, ignore_errors=True)
    # 7. benchmarks
    bench_passed, bench_failed = run_benchmarks(env)
    if bench_failed: print('benchmarks that failed their smoke run:', *bench_failed, sep='\n  ', flush=True)
    passed = nb_passed + py_passed + bench_passed
    failed = nb_failed + py_failed + len(bench_failed) + len(failures)
    print(f'\nnotebooks: {nb_passed} passed, {nb_failed} failed; pytest: {py_passed} passed, {py_failed} failed ({py_skip} skipped); '
          f'benchmarks: {bench_passed} passed, {len(bench_failed)} failed; checks: {len(failures)} failed; {time.time()-t0:.0f}s')
    print(f'{passed} passed, {failed} failed', flush=True)
    sys.exit(1 if failed or passed == 0 else 0)

if __name__ == '__main__': main()
