#!/usr/bin/env python
"""Execute notebooks in place and keep their outputs (the documentation people read on GitHub), then tidy (no stderr, no progress text) and clean them.

    .venv/bin/python tools/run_nb.py nbs/03_debug.ipynb [more.ipynb ...]

Each notebook runs in its own folder, as `nbdev_test` runs it but without `IN_TEST`, so it shows the full
(demo-dataset) configuration; cells flagged `slow` or `cuda` are skipped. A cell that raises stops the run and leaves the notebook file unchanged.
"""
import os, subprocess, sys, time
from pathlib import Path
from execnb.shell import CaptureShell
from execnb.nbio import read_nb, write_nb

def tidy(nb):
    "Drop what a reader should not see: stderr (warnings with local paths) and progress text a terminal overwrites with \\r"
    for c in nb.cells:
        if c.cell_type != 'code': continue
        outs = []
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream':
                if o.get('name') == 'stderr': continue
                t = '\n'.join(l.rsplit('\r', 1)[-1] for l in ''.join(o['text']).split('\n'))
                if not t.strip(): continue
                o['text'] = t
            outs.append(o)
        c['outputs'] = outs
    return nb

SKIP = ('slow', 'cuda') # flags of cells too heavy for this: they keep the outputs they had (`notest` cells do run)

def _skip(cell)->bool:
    "A code cell flagged `#| slow` or `#| cuda`"
    first = [l.strip() for l in cell.source.splitlines() if l.strip().startswith('#|')]
    return cell.cell_type == 'code' and any(f in l.split() for l in first for f in SKIP)

def run_nb(fn):
    fn = Path(fn).resolve()
    nb = read_nb(fn)
    cwd, t0 = os.getcwd(), time.time()
    os.chdir(fn.parent)
    try:
        sh = CaptureShell(mpl_format='png')
        sh.run_all(nb, exc_stop=True, preproc=_skip)
    finally: os.chdir(cwd)
    write_nb(tidy(nb), fn)
    print(f'{fn.name}: executed in {time.time()-t0:.0f}s', flush=True)

if __name__ == '__main__':
    os.environ.pop('IN_TEST', None)
    fns = sys.argv[1:]
    for f in fns: run_nb(f)
    for f in fns: subprocess.run([Path(sys.executable).parent/'nbdev_clean', '--fname', f], check=True)
