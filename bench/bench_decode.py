"""Benchmark: colour-mask decoding in `synthlab.masks` against the PNG decode itself and the naive per-colour loop.

Run from the repo root: `.venv/bin/python bench/bench_decode.py` (about 10 s). For a 640x480 RGBA mask with 24
colours it prints the PNG decode time, decode+map time and their ratio (target <= 2.0: the mapping adds at most
one PNG decode), and the same for the obvious loop over the palette colours. All timings are medians of repeats
taken in the same run, after one warm-up call (which also builds the cached colour lookup table).
`--smoke` takes 5 repeats per timing: it proves the benchmark runs (a few seconds), its numbers are noisy.
"""
import argparse, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])) # run from a checkout without installing
import numpy as np
from PIL import Image
from synthlab.core import COLORS, CODES
from synthlab.masks import MaskDecoder, read_mask_png

def make_mask(w=640, h=480, seed=0)->np.ndarray:
    "A 640x480 RGBA mask with all 24 colours in blobs, like a rendered room (random blocks of varying size)"
    rng = np.random.default_rng(seed)
    idx = np.zeros((h,w), np.uint8)
    for i in range(400):
        x,y = rng.integers(0,w),rng.integers(0,h); bw,bh = rng.integers(10,160),rng.integers(10,120)
        idx[y:y+bh, x:x+bw] = i % len(COLORS)
    rgba = np.zeros((h,w,4), np.uint8); rgba[...,:3] = np.array(COLORS, np.uint8)[idx]; rgba[...,3] = 255
    return rgba, idx

def naive_decode(arr:np.ndarray, palette, tol=2)->np.ndarray:
    "The obvious version: one masked comparison per palette colour"
    rgb = arr[...,:3].astype(np.int16)
    res = np.full(arr.shape[:2], 255, np.uint8)
    for i,c in enumerate(palette): res[(np.abs(rgb - np.array(c, np.int16)) <= tol).all(-1)] = i
    return res

def median_time(f, n):
    f() # warm-up
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def main(n=50):
    rgba,idx = make_mask()
    fn = Path(tempfile.mkdtemp())/'step0.camera.semantic segmentation.png'
    Image.fromarray(rgba).save(fn)
    dec = MaskDecoder(CODES, palette=COLORS, tol=2)
    t = time.perf_counter(); test = dec(fn); build = time.perf_counter() - t # first call builds the cached table
    assert (test == idx).all() and (naive_decode(read_mask_png(fn), COLORS) == idx).all(), 'decoders disagree'
    png = median_time(lambda: np.asarray(Image.open(fn)), n)
    fast = median_time(lambda: dec(fn), n)
    slow = median_time(lambda: naive_decode(np.asarray(Image.open(fn)), COLORS), max(5, n//5))
    print(f'640x480 RGBA mask, {len(COLORS)} colours, {fn.stat().st_size:,} bytes; median of {n} runs')
    print(f'PNG decode (PIL -> numpy)      : {png*1e3:7.2f} ms')
    print(f'decode + map (synthlab.masks)  : {fast*1e3:7.2f} ms   ratio {fast/png:5.2f}  (target <= 2.0)')
    print(f'decode + naive per-colour loop : {slow*1e3:7.2f} ms   ratio {slow/png:5.2f}')
    print(f'(one-off: the first call, which builds the 16 MiB colour table for this palette and tol, took {build*1e3:.1f} ms)')
    return fast/png

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=50, help='repeats per timing')
    p.add_argument('--smoke', action='store_true', help='5 repeats per timing: a run of a few seconds for CI')
    a = p.parse_args()
    main(5 if a.smoke else a.n)
