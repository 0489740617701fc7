"""Benchmark: the default training recipe on the demo dataset at 64x64 on this machine.

Goal (issue 5): valid DiceMulti >= 0.6 in under 15 minutes (wall clock, CPU, including lr_find).

    python bench/bench_train.py                      # the full default recipe (the lead's quiet run)
    python bench/bench_train.py --smoke              # smoke run (CI): 8 tiny renders, 1 epoch, resnet18, < 60 s

Prints the history table, per-epoch time, the final Dice and PASS/FAIL; writes the run folder (history.csv,
metrics.png, model.json, ...) to --out.
"""
import argparse, json, shutil, sys, time
import pandas as pd
from pathlib import Path

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--epochs', type=int, default=None, help='one-cycle epochs (default: synthlab.train.DEFAULT_EPOCHS)')
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--bs', type=int, default=None, help='batch size (default: synthlab.data.default_bs)')
    p.add_argument('--lr', type=float, default=None, help='max lr (default: lr_find)')
    p.add_argument('--arch', default=None, help='encoder name (default: synthlab.train.default_arch())')
    p.add_argument('--n', type=int, default=300, help='demo renders')
    p.add_argument('--rooms', type=int, default=None, help='rooms of the demo capture session (default: synthlab.render.DEMO_ROOMS; 0: a new room in every render)')
    p.add_argument('--out', default='runs/bench_train', help='run folder (replaced)')
    p.add_argument('--budget', type=float, default=15*60, help='seconds allowed')
    p.add_argument('--target', type=float, default=0.6, help='valid DiceMulti to reach')
    p.add_argument('--smoke', action='store_true', help='smoke run: 8 tiny renders, 1 epoch, resnet18, no lr_find; no PASS/FAIL on Dice')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default; 1 is faster on a busy shared CPU)')
    a = p.parse_args(argv)

    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from synthlab.render import demo_dataset, DEMO_ROOMS
    from synthlab.train import train, DEFAULT_EPOCHS
    t0 = time.time()
    rooms = DEMO_ROOMS if a.rooms is None else (a.rooms or None)
    extra = {}
    if a.smoke: # a few tiny renders in a temporary folder, one epoch, a fixed lr: proves the recipe runs end to end
        import tempfile
        from synthlab.test_utils import tiny_dataset
        if not a.threads: torch.set_num_threads(1) # a shared CI CPU: one thread is faster than two fighting
        tmp = Path(tempfile.mkdtemp(prefix='bench_train_'))
        a.n,a.epochs,a.lr,a.arch,a.bs,a.out = 8,a.epochs or 1,a.lr or 3e-3,a.arch or 'resnet18',a.bs or 4,str(tmp/'run')
        data,extra = tiny_dataset(n=a.n, size=(a.size, a.size), path=tmp/'data'),dict(num_workers=0, cache=False, progress=False)
    else: data = demo_dataset(n=a.n, rooms=rooms)
    t_data = time.time()-t0
    out = Path(a.out)
    if out.exists(): shutil.rmtree(out)
    t1 = time.time()
    learn,hist = train(data, epochs=a.epochs or DEFAULT_EPOCHS, lr=a.lr, size=a.size, bs=a.bs, path=out, arch=a.arch,
                       tensorboard=False, show=True, **extra)
    t_train = time.time()-t1
    cfg = json.loads((out/'run.json').read_text())
    hist = pd.read_csv(out/'history.csv')   # what was recorded, also when the guard stopped the run early
    if getattr(learn, 'guard_stopped', None): print('\n' + learn.guard_stopped)
    secs = [float(m)*60+float(s) for m,s in (t.split(':') for t in hist['time'])]
    ep_s = sum(secs)/len(secs)
    dice = float(hist.dice_multi.iloc[-1])
    print(hist.to_string(index=False))
    print(f'\ndataset: {Path(data).name} ({a.n} renders' + (', tiny smoke set)' if a.smoke else f', {rooms} rooms)' if rooms else ', a new room in each)'))
    print(f'device: {"cuda" if torch.cuda.is_available() else "cpu"} x{torch.get_num_threads()} threads; '
          f'{len(learn.dls.train_ds)} train / {len(learn.dls.valid_ds)} valid images at {a.size}px; '
          f'arch {cfg["arch"]}, bs {cfg["bs"]}, lr {cfg["lr"]:.2e}, epochs {cfg["epochs"]}')
    print(f'data (render or reuse): {t_data:.0f}s; train total (incl. lr_find, plots): {t_train:.0f}s; '
          f'mean epoch {ep_s:.1f}s; final valid DiceMulti {dice:.3f}')
    print(f'estimate for {DEFAULT_EPOCHS} epochs: {t_train - sum(secs) + ep_s*DEFAULT_EPOCHS:.0f}s')
    if a.smoke:
        shutil.rmtree(out.parent, ignore_errors=True)
        print('SMOKE run: no pass/fail'); return 0
    ok = dice >= a.target and t_train <= a.budget
    print(f'{"PASS" if ok else "FAIL"}: DiceMulti {dice:.3f} (target {a.target}), {t_train:.0f}s (budget {a.budget:.0f}s)')
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())
