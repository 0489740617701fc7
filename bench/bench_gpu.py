"""The classic GPU run: progressive resizing 64 -> 128 -> 256 -> 512 (`go_big`) against a direct 512 run, on one GPU.

    bench/bench_gpu.sh                      # one large GPU, < 8 min: 600 demo renders at 640x480, the full profile, then direct 512
    bench/bench_gpu.sh --smoke              # CPU smoke run (CI): 10 tiny renders, 32 -> 64 and direct 64, 1 epoch each, < 2 min
    .venv/bin/python bench/bench_gpu.py --n 1000 --epochs 35,20,25,19   # the classic epochs (longer)

Prints the classic results table (one row per stage, and the direct run last) with each stage's wall time and peak
GPU memory (`torch.cuda.max_memory_allocated`), then the two runs' totals. Mixed precision (bf16 where supported),
channels-last, DataLoader workers and pinned memory are synthlab's GPU defaults (`synthlab.distrib.gpu_defaults`).
The 512 px stage is trained from 480-row renders (`upsample=True`): the sizes are the classic square ones.
"""
import argparse, json, shutil, tempfile, time
from pathlib import Path
import torch
from fastai.callback.core import Callback

class PeakMemory(Callback):
    "Peak GPU memory (MiB) of each fit, by stage size"
    def __init__(self): self.peaks = {}
    def before_fit(self):
        if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    def after_fit(self):
        if torch.cuda.is_available(): self.peaks[tuple(self.learn.spec.size)] = torch.cuda.max_memory_allocated()/2**20

def _ints(s): return [int(o) for o in s.split(',') if o.strip()]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=600, help='demo renders at 640x480 (rendered once, then reused from synthlab_home())')
    p.add_argument('--data', default=None, help='use this Unity dataset instead of the demo renders')
    p.add_argument('--sizes', type=_ints, default=[64, 128, 256, 512], help='stage sizes (square)')
    p.add_argument('--epochs', type=_ints, default=[20, 10, 10, 8], help='epochs per stage (the classic run: 35,20,25,19)')
    p.add_argument('--bs', type=_ints, default=[64, 64, 32, 16], help='batch size per stage (one GPU of 80+ GB; the classic 11 GB rule was 16 scaled with the area)')
    p.add_argument('--direct-epochs', type=int, default=None, help='epochs of the direct run at the last size (default: the progressive run\'s compute, counted in last-size epochs)')
    p.add_argument('--lr', type=float, default=5e-3, help='max LR of the first stage (lowered at each jump) and of the direct run')
    p.add_argument('--arch', default='resnet34')
    p.add_argument('--workers', type=int, default=None, help='DataLoader workers (default: synthlab.data.default_workers)')
    p.add_argument('--path', default=None, help='keep both runs in this folder (default: a temporary folder, deleted at the end)')
    p.add_argument('--json', default=None, help='also write the numbers to this JSON file')
    p.add_argument('--smoke', action='store_true', help='CPU smoke run: 10 tiny renders, 32 -> 64 and direct 64, 1 epoch each, resnet18 (numbers meaningless)')
    a = p.parse_args(argv)
    from synthlab.core import md_table
    from synthlab.distrib import amp_mode
    from synthlab.render import demo_dataset
    from synthlab.upscale import go_big, read_manifest, results_table, mmss
    root = Path(a.path or tempfile.mkdtemp(prefix='bench_gpu_'))
    t0 = time.perf_counter()
    extra = dict(num_workers=a.workers) if a.workers is not None else {}
    if a.smoke:
        from synthlab.test_utils import tiny_dataset
        torch.set_num_threads(1) # a shared CI CPU: one thread is faster than two fighting
        a.n,a.sizes,a.epochs,a.bs,a.arch,a.direct_epochs = 10,[32, 64],[1, 1],[4, 4],'resnet18',1
        src = tiny_dataset(n=a.n, size=(64, 64), path=root/'data')
        extra = dict(num_workers=0, dls_kwargs=dict(check=False), tensorboard=False, progress=False)
    else: src = Path(a.data) if a.data else demo_dataset(n=a.n, size=(480, 640))
    cuda = torch.cuda.is_available()
    dev = torch.cuda.get_device_name() if cuda else 'CPU (no GPU: times and memory mean nothing)'
    print(f'device: {dev}; mixed precision: {amp_mode() or "off"}; channels-last: {"on" if cuda else "off"}', flush=True)
    print(f'dataset: {src} ({a.n} renders, ready in {time.perf_counter()-t0:.0f}s); runs in {root}', flush=True)
    last = a.sizes[-1]
    if a.direct_epochs is None: a.direct_epochs = max(1, round(sum(e*s*s for e,s in zip(a.epochs, a.sizes))/(last*last)))
    common = dict(arch=a.arch, resume=False, upsample=True, **extra)
    peak = PeakMemory()
    print(f'\n== progressive {" -> ".join(map(str, a.sizes))}: epochs {a.epochs}, bs {a.bs}', flush=True)
    t = time.perf_counter()
    go_big(src, sizes=a.sizes, epochs=a.epochs, lrs=a.lr, bs=a.bs, path=root/'progressive', cbs=[peak], **common)
    wall_p = time.perf_counter() - t
    print(f'\n== direct {last}: {a.direct_epochs} epochs, bs {a.bs[-1]}', flush=True)
    peak_p,peak.peaks = peak.peaks,{}
    t = time.perf_counter()
    go_big(src, sizes=[last], epochs=a.direct_epochs, lrs=a.lr, bs=[a.bs[-1]], path=root/'direct', cbs=[peak], **common)
    wall_d,peak_d = time.perf_counter() - t,peak.peaks
    rp,rd = results_table(root/'progressive'),results_table(root/'direct')
    rd['Resolution'] = rd['Resolution'] + ' (direct)'
    mib = lambda d,s: f'{d[(s, s)]:,.0f} MiB' if (s, s) in d else 'n/a'
    rp['Peak GPU Memory'] = [mib(peak_p, s) for s in a.sizes]
    rd['Peak GPU Memory'] = [mib(peak_d, last)]
    import pandas as pd
    table = pd.concat([rp, rd], ignore_index=True)
    print('\n== results\n' + md_table(table))
    sp,sd = read_manifest(root/'progressive')['stages'],read_manifest(root/'direct')['stages']
    print(f'\nprogressive: {len(sp)} stages, {sum(s["epochs"] for s in sp)} epochs, wall {mmss(wall_p)}, final Dice {sp[-1]["dice"]:.4f}')
    print(f'direct {last}: {sd[0]["epochs"]} epochs, wall {mmss(wall_d)}, final Dice {sd[0]["dice"]:.4f}')
    print(f'total (with the data): {mmss(time.perf_counter()-t0)}')
    res = dict(device=dev, n=a.n, sizes=a.sizes, epochs=a.epochs, bs=a.bs, direct_epochs=a.direct_epochs, lr=a.lr, arch=a.arch,
               progressive_wall=wall_p, direct_wall=wall_d, progressive_dice=sp[-1]['dice'], direct_dice=sd[0]['dice'],
               peak_mib={f'{s}': peak_p.get((s, s)) for s in a.sizes} | {f'direct_{last}': peak_d.get((last, last))},
               table=table.to_dict(orient='records'))
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    if a.path is None: shutil.rmtree(root, ignore_errors=True) # weights and checkpoints: GBs at 512
    return res

if __name__ == '__main__': main()
