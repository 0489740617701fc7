"""Speed of synthlab.debug against plain Pillow decoding (one run; the ratios are what counts).

    python bench/bench_debug.py [n]      # n images, default 1000, classic layout, 640x480
    python bench/bench_debug.py --smoke  # 24 images of 160x120: proves it runs (seconds), the numbers mean little

Targets (issue 4): `n_codes` over all masks and a full `audit` each <= 1.5x the time to just decode those PNGs
with Pillow; `debug_label` of one 640x480 mask < 5 ms (the classic per-pixel loop took ~60 ms).
The dataset is rendered once with `render_dataset` into a temp folder and reused by later runs.
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image
from synthlab.render import render_dataset
from synthlab.unity import load_unity
from synthlab.debug import n_codes, audit, debug_label

def timed(f):
    t0 = time.perf_counter(); r = f(); return time.perf_counter()-t0, r

def decode(fns):
    for fn in fns:
        with Image.open(fn) as im: im.load()

def classic_debug_label(fn, pixel_id):
    "The classic project's loop (without its print/show), with the width taken from the image"
    im = Image.open(fn); pix = im.load(); w = im.size[0]
    for i in range(len(list(im.getdata(band=0)))):
        x,y = i % w, i // w
        if pix[x, y] == pixel_id: pix[x, y] = 255
    return im

def main(n=1000, size=(480,640)):
    h,w = size
    path = Path(tempfile.gettempdir())/f'synthlab_bench_debug_{n}' if size == (480,640) else Path(tempfile.gettempdir())/f'synthlab_bench_debug_{n}_{h}x{w}'
    if len(list((path/'labels').glob('*.png'))) != n:
        print(f'rendering {n} classic {w}x{h} images into {path} (once) ...', flush=True)
        render_dataset(path, n=n, size=(h,w), fmt='classic', seed=0, progress=False)
    ds = load_unity(path, check=False)
    masks,imgs = [ds.mask_path(i) for i in ds.items],list(ds.items)
    decode(masks[:20]) # warm the file cache
    t_m,_ = timed(lambda: decode(masks))
    t_i,_ = timed(lambda: decode(imgs))
    t_nc,r = timed(lambda: n_codes(masks, is_partial=False))
    t_a,a = timed(lambda: audit(ds, progress=False, n_workers=None if n >= 64 else 2))
    t_am,am = timed(lambda: audit(ds, images=False, progress=False))
    t_a1,_ = timed(lambda: audit(ds, n_workers=0, progress=False))
    fn = masks[0]; v = int(np.bincount(np.asarray(Image.open(fn)).ravel()).argmax())
    dl = [timed(lambda: debug_label(fn, v))[0] for _ in range(50)]
    cl = [timed(lambda: classic_debug_label(fn, v))[0] for _ in range(3)]
    ms = lambda t: f'{1000*t:.2f} ms'
    print(f'{n} images {w}x{h} in {path}')
    print(f'  decode masks with Pillow        {t_m:7.2f} s')
    print(f'  decode images with Pillow       {t_i:7.2f} s')
    print(f'  n_codes(all masks)              {t_nc:7.2f} s   ratio {t_nc/t_m:.2f} vs mask decode (target <= 1.5)')
    print(f'  audit(ds) full, pool            {t_a:7.2f} s   ratio {t_a/(t_m+t_i):.2f} vs mask+image decode (target <= 1.5)')
    print(f'  audit(ds) full, one process     {t_a1:7.2f} s   ratio {t_a1/(t_m+t_i):.2f} vs mask+image decode')
    print(f'  audit(ds, images=False)         {t_am:7.2f} s   ratio {t_am/t_m:.2f} vs mask decode (target <= 1.5)')
    print(f'  debug_label one {w}x{h} mask    {ms(np.median(dl))} median of 50 (target < 5 ms at 640x480); classic loop {ms(np.median(cl))}')
    print(f'  audit found: {a.kinds() or "nothing"}; values: {list(r)}')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('n', type=int, nargs='?', default=1000, help='number of images')
    p.add_argument('--smoke', action='store_true', help='24 images of 160x120: a run of a few seconds for CI')
    a = p.parse_args()
    main(24, (120,160)) if a.smoke else main(a.n)
