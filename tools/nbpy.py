#!/usr/bin/env python
"""Convert between a percent-format draft (`# %%` cells) and a Jupyter notebook.

    python tools/nbpy.py to-nb draft.py nbs/02_unity.ipynb   # draft -> notebook (outputs dropped)
    python tools/nbpy.py to-py nbs/02_unity.ipynb draft.py   # notebook -> draft

Markdown cells start with `# %% [markdown]` and every line is prefixed with `# `.
Drafts are scratch files for editing; the notebook in nbs/ is the source of truth.
"""
import json, sys
from pathlib import Path

def _cell(kind, lines):
    while lines and not lines[-1].strip(): lines.pop()
    while lines and not lines[0].strip(): lines.pop(0)
    src = '\n'.join(lines)
    c = {'cell_type': kind, 'metadata': {}, 'source': src.splitlines(keepends=True)}
    if kind == 'code': c.update(execution_count=None, outputs=[])
    return c

def py2nb(src:str) -> dict:
    cells, kind, buf = [], None, []
    for line in src.splitlines():
        if line.startswith('# %%'):
            if kind is not None: cells.append(_cell(kind, buf))
            kind, buf = ('markdown' if '[markdown]' in line else 'code'), []
            continue
        if kind is None: continue
        if kind == 'markdown': line = line[2:] if line.startswith('# ') else line.lstrip('#')
        buf.append(line)
    if kind is not None: cells.append(_cell(kind, buf))
    cells = [c for c in cells if c['source']]
    return {'cells': cells, 'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
            'nbformat': 4, 'nbformat_minor': 5}

def nb2py(nb:dict) -> str:
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            out.append('# %% [markdown]\n' + '\n'.join('# '+l if l else '#' for l in src.splitlines()))
        else: out.append('# %%\n' + src)
    return '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    cmd, a, b = sys.argv[1:4]
    if cmd == 'to-nb': Path(b).write_text(json.dumps(py2nb(Path(a).read_text()), indent=1, ensure_ascii=False) + '\n')
    elif cmd == 'to-py': Path(b).write_text(nb2py(json.loads(Path(a).read_text())))
    else: sys.exit(__doc__)
