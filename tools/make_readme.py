#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb (Quarto is not available); `--check` fails if they differ.

Markdown cells are copied as they are; code cells become ```python blocks (cells marked `#| hide`
are left out, `#|` directives are dropped) followed by their plain-text output, if any: printed text (stdout) and
results that have no rich form. Tables, plots and pictures (HTML or image outputs) and stderr stay in the notebook,
so the README shows no `<PIL.Image ...>` or DataFrame dumps.
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def _text(o:dict) -> str:
    "The plain text of one output for the README: stdout, or a result with no HTML/image form; else ''"
    if o.get('output_type') == 'stream': return ''.join(o.get('text', '')) if o.get('name') == 'stdout' else ''
    data = o.get('data', {})
    if any(k == 'text/html' or k.startswith('image/') for k in data): return ''
    return ''.join(data.get('text/plain', ''))

def render(nb:dict) -> str:
    parts = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src.strip()); continue
        lines = src.splitlines()
        if any(l.strip().replace(' ', '') in ('#|hide', '#|exporti', '#|export') for l in lines): continue
        code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if code: parts.append(f'```python\n{code}\n```')
        txt = ''.join(_text(o) for o in c.get('outputs', []))
        if txt.strip(): parts.append(f'```\n{txt.rstrip()}\n```')
    return '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    want = render(json.loads((root/'nbs'/'index.ipynb').read_text()))
    readme = root/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != want:
            sys.exit('README.md is out of step with nbs/index.ipynb: run `python tools/make_readme.py` and commit README.md')
        print('README.md matches nbs/index.ipynb')
    else:
        readme.write_text(want); print(f'wrote {readme}')
