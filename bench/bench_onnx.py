"""Latency of the exported default-arch U-Net (resnet34, 24 classes) in onnxruntime vs PyTorch eager, the compute
floor, and int8 vs float.

    .venv/bin/python bench/bench_onnx.py [--threads 2] [--reps 5] [--epochs 2]

One run on this CPU, batch 1, after warm-up. Measurements are interleaved (ORT, torch, ORT, torch, ...) so that
load from other processes hits both sides alike; the median of `--reps` runs is reported (about half as many
at sizes above 256). onnxruntime's
thread spinning is off so that its idle threads do not slow down the torch call that follows.
Compute floor = model FLOPs (counted with `torch.utils.flop_counter.FlopCounterMode`, 2 per multiply-add) divided
by the fp32 rate of a large `torch.mm` on the same threads.
Latency does not depend on the weights, but the int8 argmax agreement does: a barely trained model is unsure about
most pixels, and int8 noise flips them. `--model runs/bench_train/model.json` (a model card written by `train`, e.g.
by `bench/bench_train.py`) measures it on a trained model, on its validation split at its training size; without it
the model is trained briefly (`--epochs` at 64 px on a few synthetic renders).
"""
import argparse, json, statistics, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch

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

def main(threads=2, reps=5, epochs=4, sizes=(128, 256, 512), n_imgs=32, model=None):
    torch.set_num_threads(threads)
    from synthlab.test_utils import tiny_dataset
    from synthlab.data import unity_dls
    from synthlab.train import seg_learner
    from synthlab.export import export_onnx, quantize_onnx, compare_onnx, plain_model, SegmentationExport
    from synthlab.infer import OnnxSegmenter
    from PIL import Image
    from synthlab.train import load_model
    d = Path(tempfile.mkdtemp(prefix='bench-onnx-'))
    t0 = time.time()
    if model:
        learn = load_model(model)
        q_size = tuple(learn.dls.size)  # int8 calibrated and compared at the model's training size
        run = json.loads((Path(model).parent/'run.json').read_text())  # the run's data and validation split
        dls = unity_dls(run['source'], size=q_size, bs=8, num_workers=0, cache=False, valid_files=run['valid_files'])
        mets = json.loads(Path(model).read_text()).get('metrics') or {}
        print(f"model {model}: {learn.arch_name}, trained at {q_size}, valid Dice {mets.get('dice_multi', float('nan')):.3f}")
    else:
        dls = unity_dls(tiny_dataset(n=n_imgs, size=(128, 96), path=d/'data', seed=1), size=64, bs=8, num_workers=0, cache=False)
        learn = seg_learner(dls, arch='resnet34')
        if epochs:
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-3)
        q_size = None  # native 128 x 96 (padding only)
        print(f'trained resnet34 U-Net ({len(dls.vocab)} classes) {epochs} epochs at 64 px on {n_imgs} renders: {time.time()-t0:.0f}s')
    fn = export_onnx(learn, d/'model.onnx', sizes=((64, 64), (128, 96)), verbose=True)
    # no spinning: idle onnxruntime threads would otherwise keep burning the cores that the next torch call needs
    cfg = {'session.intra_op.allow_spinning': '0'}
    seg = OnnxSegmenter(fn, n_threads=threads, config=cfg)
    meta = seg.meta
    # PyTorch eager, same computation as the graph: uint8 in, normalise, U-Net, argmax
    w = SegmentationExport(learn.model, meta['mean'], meta['std']).eval()
    rate = matmul_rate()
    print(f"exporter {meta['exporter']} opset {meta['opset']}; threads {threads}; fp32 matmul rate {rate/1e9:.1f} GFLOP/s")
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
    # int8: calibrate on training renders, compare on validation renders (native 128 x 96)
    train = [np.asarray(Image.open(f).convert('RGB')) for f in dls.train.items[:16]]
    valid = [np.asarray(Image.open(f).convert('RGB')) for f in dls.valid.items]
    gt = [dls.unity_ds.mask(f) for f in dls.valid.items]
    q = quantize_onnx(fn, d/'model.int8.onnx', calib_imgs=train, size=q_size)
    qseg = OnnxSegmenter(q, n_threads=threads, config=cfg)
    agree = compare_onnx(fn, q, valid, masks=gt, size=q_size)
    agree_train = compare_onnx(fn, q, valid, size=tuple(meta['train_size']))  # squished to the training size
    agree256 = compare_onnx(fn, q, valid, size=256)
    x = rng.integers(0, 256, (1, 3, 256, 256), dtype=np.uint8)
    t = interleaved(dict(float=lambda: seg.sess.run(['mask'], {seg.input_name: x}),
                         int8=lambda: qseg.sess.run(['mask'], {qseg.input_name: x})), reps)
    res = dict(rows=rows, matmul_gflops=rate/1e9, int8_ms=t['int8']*1e3, float_ms=t['float']*1e3,
               int8_vs_float=t['int8']/t['float'], int8_agreement=agree, int8_agreement_train_size=agree_train,
               int8_agreement_256=agree256)
    print(f"int8 256px: {t['int8']*1e3:.1f} ms vs float {t['float']*1e3:.1f} ms = {res['int8_vs_float']:.2f}x; "
          f"argmax agreement {agree['agreement']:.2%} (Dice {agree['dice']:.3f}) on {agree['n_images']} validation renders at {q_size or '128x96'}, "
          f"{agree_train['agreement']:.2%} at the training size, {agree256['agreement']:.2%} resized to 256; Dice vs ground truth float {agree['dice_ref_gt']:.3f}, int8 {agree['dice_other_gt']:.3f}")
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
    p.add_argument('--model', default=None, help='model card (model.json) of a trained run with run.json beside it (default: train briefly)')
    a = p.parse_args()
    main(a.threads, a.reps, a.epochs, tuple(a.sizes), model=a.model)
