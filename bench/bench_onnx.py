"""Latency of the exported default-arch U-Net (resnet34, 24 classes) in onnxruntime vs PyTorch eager, the compute
floor, and int8 vs float.

    .venv/bin/python bench/bench_onnx.py [--threads 2] [--reps 5] [--epochs 2]
    .venv/bin/python bench/bench_onnx.py --smoke     # resnet18, 8 tiny renders, one epoch, 64 px: checks it runs (< 60 s)

One run on this CPU, batch 1, after warm-up. Measurements are interleaved (ORT, torch, ORT, torch, ...) so that
load from other processes hits both sides alike; the median of `--reps` runs is reported (about half as many
at sizes above 256). onnxruntime's
thread spinning is off so that its idle threads do not slow down the torch call that follows.
Compute floor = model FLOPs (counted with `torch.utils.flop_counter.FlopCounterMode`, 2 per multiply-add) divided
by the fp32 rate of a large `torch.mm` on the same threads.
Latency does not depend on the weights, but the int8 argmax agreement does: a barely trained model is unsure about
most pixels, and int8 noise flips them. `--model runs/bench_train/model.json` (a model spec written by `train`, e.g.
by `bench/bench_train.py`, or `runs/demo/model.json` of the pipeline) measures it on a trained model, on its validation
split at its training size; the training config is the `run.json` beside it (train's) or the one that the pipeline's
`summary.json` names (`train_run`). Without it the model is trained briefly (`--epochs` at 64 px on a few renders).
"""
import argparse, json, statistics, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch
sys.path.insert(0, str(Path(__file__).resolve().parents[1])) # run from a checkout without installing

warnings.filterwarnings('ignore')

def _median_time(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def interleaved(fs:dict, reps:int, warmup:int=1)->dict:
    "Median seconds per call of each function in `fs`, calling them in turn (A, B, A, B, ...)"
    for f in fs.values():
        for _ in range(warmup): f()
    ts = {k: [] for k in fs}
    for _ in range(reps):
        for k, f in fs.items():
            t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in ts.items()}

def matmul_rate(ns=(1024, 2048, 3072), reps:int=3)->float:
    "Measured fp32 FLOP/s of `torch.mm` on `n x n` matrices: the best over sizes `ns` and `reps` runs"
    rates = []
    for n in ns:
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.mm(a, b)
        rates.append(2 * n**3 / min(_timeit(lambda: torch.mm(a, b)) for _ in range(reps)))
    return max(rates)

def _timeit(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t

def model_flops(model, h, w)->int:
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as fc: model(torch.zeros(1, 3, h, w))
    return fc.get_total_flops()

def train_config(model)->dict:
    "The training config (train's `run.json`: source, valid_files, ...) of the model spec `model` (a `model.json`)"
    from synthlab.core import SynthlabError, read_json
    d = Path(model).parent
    run = read_json(d/'run.json', 'run config') if (d/'run.json').exists() else {}
    if 'source' in run: return run
    if (d/'summary.json').exists():
        tr = read_json(d/'summary.json', 'pipeline summary').get('train_run')
        if tr and (d/tr/'run.json').exists():
            run = read_json(d/tr/'run.json', 'run config')
            if 'source' in run: return run
    raise SynthlabError('no training config beside this model: neither a run.json with `source` (written by `train`) '
                        'nor a summary.json whose `train_run` names one (written by the pipeline)', fn=model,
                        fix='pass the model.json of a `synthlab train` run or of a `synthlab demo` run folder')

def main(threads=2, reps=5, epochs=4, sizes=(128, 256, 512), n_imgs=32, model=None, arch='resnet34', data_size=(128, 96),
         matmul_ns=(1024, 2048, 3072), exporter='auto', parity_sizes=((64, 64), (128, 96)), int8_side=256):
    torch.set_num_threads(threads)
    from synthlab.test_utils import tiny_dataset
    from synthlab.data import unity_dls
    from synthlab.unity import load_unity
    from synthlab.train import seg_learner, load_model
    from synthlab.export import export_onnx, quantize_onnx, compare_onnx, plain_model, SegmentationExport
    from synthlab.infer import OnnxSegmenter
    from PIL import Image
    d = Path(tempfile.mkdtemp(prefix='bench-onnx-'))
    t0 = time.time()
    if model:
        learn = load_model(model)
        q_size = learn.spec.size  # int8 calibrated and compared at the model's training size
        run = train_config(model)  # the run's data and validation split
        source = run['source']
        dls = unity_dls(source, size=q_size, bs=8, num_workers=0, cache=False, valid_files=run['valid_files'])
        mets = json.loads(Path(model).read_text()).get('metrics') or {}
        print(f"model {model}: {learn.spec.arch}, trained at {q_size}, valid Dice {mets.get('dice_multi', float('nan')):.3f}")
    else:
        source = tiny_dataset(n=n_imgs, size=data_size, path=d/'data', seed=1)
        dls = unity_dls(source, size=64, bs=8, num_workers=0, cache=False)
        learn = seg_learner(dls, arch=arch)
        if epochs:
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-3)
        q_size = None  # native size (padding only)
        print(f'trained {arch} U-Net ({learn.spec.n_classes} classes) {epochs} epochs at 64 px on {n_imgs} renders: {time.time()-t0:.0f}s')
    fn = export_onnx(learn, d/'model.onnx', sizes=parity_sizes, exporter=exporter, verbose=True)
    # no spinning: idle onnxruntime threads would otherwise keep burning the cores that the next torch call needs
    cfg = {'session.intra_op.allow_spinning': '0'}
    seg = OnnxSegmenter(fn, n_threads=threads, config=cfg)
    spec, facts = seg.spec, seg.export_info
    # PyTorch eager, same computation as the graph: uint8 in, normalise, U-Net, argmax
    w = SegmentationExport(learn.model, spec.mean, spec.std).eval()
    rate = matmul_rate(matmul_ns)
    print(f"exporter {facts['exporter']} opset {facts['opset']}; threads {threads}; fp32 matmul rate {rate/1e9:.1f} GFLOP/s")
    rows = []
    rng = np.random.default_rng(0)
    for s in sizes:
        x = rng.integers(0, 256, (1, 3, s, s), dtype=np.uint8)
        xt = torch.from_numpy(x)
        def f_ort(): seg.sess.run(['mask'], {seg.input_name: x})
        def f_pt():
            with torch.inference_mode(): w(xt)
        t = interleaved(dict(ort=f_ort, torch=f_pt), reps if s <= 256 else max(2, reps // 2 + 1))
        fl = model_flops(w.model, s, s)
        floor = fl / rate
        rows.append(dict(size=s, gflops=fl/1e9, ort_ms=t['ort']*1e3, torch_ms=t['torch']*1e3, floor_ms=floor*1e3,
                         ort_vs_torch=t['ort']/t['torch'], ort_vs_floor=t['ort']/floor))
        r = rows[-1]
        print(f"{s:4d}px  {r['gflops']:6.1f} GFLOP  ort {r['ort_ms']:8.1f} ms  torch {r['torch_ms']:8.1f} ms  floor {r['floor_ms']:7.1f} ms"
              f"  ort/torch {r['ort_vs_torch']:.2f}  ort/floor {r['ort_vs_floor']:.2f}", flush=True)
    # int8: calibrate on training renders, compare on validation renders (at their native size)
    train = [np.asarray(Image.open(f).convert('RGB')) for f in dls.train.items[:16]]
    valid = [np.asarray(Image.open(f).convert('RGB')) for f in dls.valid.items]
    ds = load_unity(source, check=False)
    gt = [ds.mask(f) for f in dls.valid.items]
    q = quantize_onnx(fn, d/'model.int8.onnx', calib_imgs=train, size=q_size)
    qseg = OnnxSegmenter(q, n_threads=threads, config=cfg)
    agree = compare_onnx(fn, q, valid, masks=gt, size=q_size)
    agree_train = compare_onnx(fn, q, valid, size=spec.size)  # squished to the training size
    agree256 = compare_onnx(fn, q, valid, max_side=int8_side)
    x = rng.integers(0, 256, (1, 3, int8_side, int8_side), dtype=np.uint8)
    t = interleaved(dict(float=lambda: seg.sess.run(['mask'], {seg.input_name: x}),
                         int8=lambda: qseg.sess.run(['mask'], {qseg.input_name: x})), reps)
    res = dict(rows=rows, matmul_gflops=rate/1e9, int8_ms=t['int8']*1e3, float_ms=t['float']*1e3,
               int8_vs_float=t['int8']/t['float'], int8_agreement=agree, int8_agreement_train_size=agree_train,
               int8_agreement_256=agree256)
    print(f"int8 {int8_side}px: {t['int8']*1e3:.1f} ms vs float {t['float']*1e3:.1f} ms = {res['int8_vs_float']:.2f}x; "
          f"argmax agreement {agree['agreement']:.2%} (Dice {agree['dice']:.3f}) on {agree['n_images']} validation renders at {q_size or 'their size'}, "
          f"{agree_train['agreement']:.2%} at the training size, {agree256['agreement']:.2%} resized to {int8_side}; Dice vs ground truth float {agree['dice_ref_gt']:.3f}, int8 {agree['dice_other_gt']:.3f}")
    r256 = next((r for r in rows if r['size'] == 256), None)
    if r256:
        print('targets: ' + ', '.join([f"ort/torch at 256 {r256['ort_vs_torch']:.2f} (<= 0.5: {'met' if r256['ort_vs_torch']<=0.5 else 'NOT met'})",
              f"ort/floor at 256 {r256['ort_vs_floor']:.2f} (<= 2: {'met' if r256['ort_vs_floor']<=2 else 'NOT met'})",
              f"int8/float {res['int8_vs_float']:.2f} (<= 0.6: {'met' if res['int8_vs_float']<=0.6 else 'NOT met'})",
              f"int8 agreement {agree['agreement']:.2%} (>= 99%: {'met' if agree['agreement']>=0.99 else 'NOT met'})"]))
    (d/'bench.json').write_text(json.dumps(res, indent=1))
    print(f'results: {d/"bench.json"}')
    return res

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--epochs', type=int, default=4)
    p.add_argument('--sizes', type=int, nargs='+', default=[128, 256, 512])
    p.add_argument('--model', default=None, help='model.json of a train run (run.json beside it) or of a pipeline run (summary.json beside it); default: train briefly')
    p.add_argument('--smoke', action='store_true', help='a quick check that the benchmark runs: resnet18, 8 renders, 1 epoch, 64 px (< 60 s)')
    a = p.parse_args()
    if a.smoke: main(a.threads, reps=1, epochs=1, sizes=(64,), n_imgs=8, model=a.model, arch='resnet18', data_size=(48, 64),
                      matmul_ns=(512,), exporter='torchscript', parity_sizes=((64, 64),), int8_side=64)
    else: main(a.threads, a.reps, a.epochs, tuple(a.sizes), model=a.model)
