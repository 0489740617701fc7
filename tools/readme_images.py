#!/usr/bin/env python
"""Make the README pictures in `readme_images/` from a finished run or a few renders, with synthlab's public API.

    .venv/bin/python tools/readme_images.py --run runs/demo           # after `make demo`: demo_*.png, demo_report.md
    .venv/bin/python tools/readme_images.py --train runs/bench_train  # after bench/bench_train.py: train_metrics.png, train_history.csv
    .venv/bin/python tools/readme_images.py --go-big runs/go_big      # a go_big run folder: go_big.png
    .venv/bin/python tools/readme_images.py --explorer                # explorer.png, debug_label.png (4 renders, seconds)
    .venv/bin/python tools/readme_images.py --explorer path/to/unity/output --item 3

Nothing here runs in CI or trains anything: `--run`, `--train` and `--go-big` copy what those runs wrote (a missing
picture is reported and skipped), `--explorer` renders 4 images and draws them. Run from the repository root;
`--dest` writes somewhere else. Then commit the pictures with the README (`python tools/make_readme.py`).
"""
import argparse, shutil, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# run-folder file -> README picture, as the pipeline writes them (`synthlab demo`, `synthlab.pipeline.run_pipeline`)
DEMO_PICTURES = (('preview.png', 'demo_preview.png'), ('stages.png', 'demo_stages.png'), ('metrics.png', 'demo_metrics.png'),
                 ('predictions.png', 'demo_predictions.png'), ('worst.png', 'demo_worst.png'), ('photos.png', 'demo_photos.png'))
TRAIN_FILES = (('metrics.png', 'train_metrics.png'), ('history.csv', 'train_history.csv'))
GO_BIG_FILES = (('results.png', 'go_big.png'),)

def copy_files(run:Path, names, dest:Path)->list:
    "Copy `run/src` to `dest/dst` for each `(src, dst)` in `names`; returns the files written"
    run, dest = Path(run), Path(dest)
    if not run.is_dir(): sys.exit(f'{run}: no such run folder')
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for src, dst in names:
        if (run/src).exists(): shutil.copy(run/src, dest/dst); out.append(dest/dst)
        else: print(f'skipped {dst}: {run/src} does not exist')
    return out

def demo_images(run:Path, dest:Path)->list:
    "The demo run's pictures, and its `report.md` as `demo_report.md` with the picture links renamed"
    out = copy_files(run, DEMO_PICTURES, dest)
    rep = Path(run)/'report.md'
    if not rep.exists(): print(f'skipped demo_report.md: {rep} does not exist'); return out
    txt = rep.read_text()
    for src, dst in DEMO_PICTURES: txt = txt.replace(f']({src})', f']({dst})')
    (Path(dest)/'demo_report.md').write_text(txt)
    return out + [Path(dest)/'demo_report.md']

def explorer_images(dest:Path, data=None, item:int=0)->list:
    "`explorer.png` (the `LabelExplorer` with furniture, items and living shown) and `debug_label.png` (its largest object class)"
    import numpy as np
    from synthlab.unity import load_unity
    from synthlab.debug import LabelExplorer, debug_label
    if data is None:
        from synthlab.render import render_dataset
        data = render_dataset(Path(tempfile.mkdtemp())/'demo', n=4, size=(480, 640), seed=1, progress=False)
    ds = load_unity(data)
    dest = Path(dest); dest.mkdir(parents=True, exist_ok=True)
    ex = LabelExplorer(ds, idx=item, alpha=0.6)
    ex.show_only('furniture', 'items', 'living')
    ex.render().save(dest/'explorer.png')
    m = ds.mask(item)
    # the most frequent class after the building (void, walls, floor, ceiling, door: values 0-4)
    vals = [int(v) for v in np.argsort(-np.bincount(m.ravel(), minlength=len(ds.codes))) if 4 < v < len(ds.codes)]
    debug_label(m, vals[0] if vals else 1).save(dest/'debug_label.png')
    return [dest/'explorer.png', dest/'debug_label.png']

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run', type=Path, help='a finished `synthlab demo` run folder (e.g. runs/demo)')
    p.add_argument('--train', type=Path, help='a `train` run folder (e.g. runs/bench_train from bench/bench_train.py)')
    p.add_argument('--go-big', type=Path, help='a `go_big` run folder (its results.png)')
    p.add_argument('--explorer', nargs='?', const='', default=None, metavar='DATA',
                   help='draw explorer.png and debug_label.png, from DATA (a Unity folder) or 4 fresh renders')
    p.add_argument('--item', type=int, default=0, help='item shown by --explorer')
    p.add_argument('--dest', type=Path, default=ROOT/'readme_images', help='output folder (default readme_images/)')
    a = p.parse_args(argv)
    if a.run is None and a.train is None and a.go_big is None and a.explorer is None: p.error('nothing to do: give --run, --train, --go-big or --explorer')
    out = []
    if a.run is not None: out += demo_images(a.run, a.dest)
    if a.train is not None: out += copy_files(a.train, TRAIN_FILES, a.dest)
    if a.go_big is not None: out += copy_files(a.go_big, GO_BIG_FILES, a.dest)
    if a.explorer is not None: out += explorer_images(a.dest, a.explorer or None, a.item)
    for f in out: print(f'wrote {f}')
    return out

if __name__ == '__main__': main()
