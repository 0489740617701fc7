"""Does progressive resizing pay? Progressive 64 -> 128 against training directly at 128 for the same epochs.

    .venv/bin/python bench/bench_upscale.py                      # demo dataset (300 renders), 5+5 vs 10 epochs, resnet34
    .venv/bin/python bench/bench_upscale.py --smoke              # smoke run (CI): 10 tiny renders, 32 -> 64 px, 1+1 vs 2 epochs, resnet18, < 60 s

Prints the wall time and final valid Dice of each run and the ratio
(time for the progressive run to reach the direct run's final Dice) / (time of the direct run); target <= 0.6.
The progressive run's time counts everything a stage does (dataloaders, weight transfer, training, saving),
from the per-epoch history with cumulative wall time in `stages.json`.
"""
import argparse, json, shutil, tempfile, time
from pathlib import Path
import torch

def time_to_reach(hist, target:float, size=None):
    "Cumulative wall time of the first epoch in `hist` (a `stage_history` DataFrame) at `size` with Dice >= `target`, else None"
    if size is not None: hist = hist[hist['size'] == hist['size'].iloc[-1]] if size == 'last' else hist[hist['size'] == size]
    hit = hist[hist['dice'] >= target]
    return float(hit['run_time'].iloc[0]) if len(hit) else None

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=300, help='renders in the demo dataset')
    p.add_argument('--rooms', type=int, default=None, help='rooms of the demo capture session (default: synthlab.render.DEMO_ROOMS; 0: a new room in every render)')
    p.add_argument('--epochs', type=int, nargs=2, default=[5, 5], metavar=('E64', 'E128'), help='epochs of the 64 and 128 px stages; the direct run gets their sum')
    p.add_argument('--sizes', type=int, nargs=2, default=[64, 128], metavar=('SMALL', 'BIG'))
    p.add_argument('--bs', type=int, default=16, help='batch size at the small size (scaled with the area at the big size, for both runs)')
    p.add_argument('--big_bs', type=int, default=None, help='batch size at the big size, for both runs (default: --bs scaled with the area, the classic rule)')
    p.add_argument('--lr', type=float, default=3e-3, help='max LR of the first stage and of the direct run')
    p.add_argument('--lr_factor', type=float, default=10., help='LR divisor for the second stage')
    p.add_argument('--arch', default='resnet34')
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    p.add_argument('--path', default=None, help='keep both runs in this folder (default: a temporary folder, deleted at the end)')
    p.add_argument('--json', default=None, help='also write the numbers to this JSON file')
    p.add_argument('--smoke', action='store_true', help='smoke run: 10 tiny renders, sizes 32 -> 64, 1+1 epochs, resnet18 (numbers meaningless)')
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    from synthlab.render import demo_dataset, DEMO_ROOMS
    from synthlab.upscale import go_big, stage_history, read_manifest, plan_stages, mmss
    root = Path(a.path or tempfile.mkdtemp(prefix='bench_upscale_'))
    t = time.perf_counter()
    extra = {}
    if a.smoke:
        from synthlab.test_utils import tiny_dataset
        a.n,a.epochs,a.sizes,a.bs,a.arch = 10,[1, 1],[32, 64],8,'resnet18'
        if not a.threads: torch.set_num_threads(1) # a shared CI CPU: one thread is faster than two fighting
        src,extra = tiny_dataset(n=a.n, size=(64, 64), path=root/'data'),dict(dls_kwargs=dict(cache=False, check=False), tensorboard=False, progress=False)
    else: src = demo_dataset(n=a.n, rooms=DEMO_ROOMS if a.rooms is None else (a.rooms or None))
    print(f'dataset: {Path(src).name} ({a.n} renders, ready in {time.perf_counter()-t:.0f}s); runs in {root}', flush=True)
    small,big = a.sizes
    bs = a.bs if a.big_bs is None else [a.bs, a.big_bs]
    prog_plan = plan_stages((small, big), epochs=a.epochs, lrs=a.lr, bs=bs, lr_factor=a.lr_factor)
    big_bs = prog_plan[1]['bs']
    common = dict(arch=a.arch, resume=False, num_workers=0, **extra)
    print(f'\n== progressive {small} -> {big}: epochs {a.epochs}, bs {[s["bs"] for s in prog_plan]}', flush=True)
    go_big(src, sizes=(small, big), epochs=a.epochs, lrs=a.lr, bs=bs, lr_factor=a.lr_factor, path=root/'progressive', **common)
    print(f'\n== direct {big}: {sum(a.epochs)} epochs, bs {big_bs}', flush=True)
    go_big(src, sizes=(big,), epochs=sum(a.epochs), lrs=a.lr, bs=big_bs, path=root/'direct', **common)

    hp,hd = stage_history(root/'progressive'),stage_history(root/'direct')
    tp = sum(s['time'] for s in read_manifest(root/'progressive')['stages'])
    td = sum(s['time'] for s in read_manifest(root/'direct')['stages'])
    dp,dd = float(hp['dice'].iloc[-1]),float(hd['dice'].iloc[-1])
    # only epochs at the big size count: a Dice measured on 64 px masks is not the same score as one on 128 px masks
    reach = time_to_reach(hp, dd, size='last')
    ratio = reach/td if reach is not None else None
    print('\n== per-epoch history (progressive)'); print(hp[['size', 'epoch', 'train_loss', 'valid_loss', 'dice', 'run_time']].round(4).to_string(index=False))
    print('\n== per-epoch history (direct)'); print(hd[['size', 'epoch', 'train_loss', 'valid_loss', 'dice', 'run_time']].round(4).to_string(index=False))
    print(f'\n{"run":<28}{"wall time":>10}{"final Dice":>12}')
    print(f'{f"progressive {small}->{big}":<28}{mmss(tp):>10}{dp:>12.4f}')
    print(f'{f"direct {big}":<28}{mmss(td):>10}{dd:>12.4f}')
    if ratio is None: print(f'progressive never reached the direct run\'s final Dice {dd:.4f}: ratio n/a (target <= 0.6)')
    else: print(f'time for progressive to reach Dice {dd:.4f}: {mmss(reach)}; ratio {ratio:.2f} (target <= 0.6): {"PASS" if ratio <= 0.6 else "FAIL"}')
    res = dict(n=a.n, epochs=a.epochs, sizes=a.sizes, bs=[a.bs, big_bs], lr=a.lr, arch=a.arch, progressive_time=tp, direct_time=td,
               progressive_dice=dp, direct_dice=dd, time_to_reach=reach, ratio=ratio)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))
    if a.path is None: shutil.rmtree(root, ignore_errors=True) # checkpoints and weights: hundreds of MB
    else: print(f'run folders (stages.json, results.md/png per run): {root}')
    return res

if __name__ == '__main__': main()
