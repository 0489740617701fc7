"""Benchmark the demo renderer: images per second at 480x640 (h x w; classic layout, all cores), against the target
of 1,000 images in under 60 s on this 2-core machine. Also times one image's stages (scene layout, rasterising,
shading, PNG encoding) in this process, in wall time and in CPU time: CPU time does not grow when other programs
share the cores, so it gives what the machine would do when idle.

    python bench/bench_render.py            # 1,000 images
    python bench/bench_render.py --n 200    # fewer
    python bench/bench_render.py --smoke    # a few small images, a few seconds: checks that the benchmark runs
"""
import argparse, io, os, shutil, tempfile, time
from pathlib import Path
import numpy as np
from synthlab.render import render_dataset, write_png, to_rgba
from synthlab.scene import layout_scene
from synthlab.raster import rasterize, shade

STAGES = ('scene', 'raster', 'shade', 'png')

def breakdown(size, n=20):
    "Median wall and CPU seconds per image of each stage, in this process"
    wall, cpu = {k: [] for k in STAGES}, {k: [] for k in STAGES}
    for i in range(n):
        rng = np.random.default_rng((99, i))
        t = [(time.perf_counter(), time.process_time())]
        cam, light, parts = layout_scene(rng, size); t.append((time.perf_counter(), time.process_time()))
        fid, table, cls = rasterize(parts, cam, light); t.append((time.perf_counter(), time.process_time()))
        rgb = shade(fid, table, cam, light, rng); mask = cls[fid]; t.append((time.perf_counter(), time.process_time()))
        write_png(to_rgba(rgb), io.BytesIO()); write_png(mask, io.BytesIO()); t.append((time.perf_counter(), time.process_time()))
        for k, a, b in zip(STAGES, t, t[1:]): wall[k].append(b[0]-a[0]); cpu[k].append(b[1]-a[1])
    return ({k: float(np.median(v)) for k, v in wall.items()}, {k: float(np.median(v)) for k, v in cpu.items()})

def job_cpu(size, n=20):
    "Mean CPU seconds of one whole image (render, encode, write both files) in this process: `render_dataset` without a pool"
    tmp = Path(tempfile.mkdtemp(prefix='bench-render-job-'))
    try:
        t = time.process_time()
        render_dataset(tmp/'data', n=n, size=size, progress=False, n_workers=0)
        return (time.process_time()-t)/n
    finally: shutil.rmtree(tmp, ignore_errors=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n', type=int, default=1000, help='images to render')
    ap.add_argument('--size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'), help='image size, height first')
    ap.add_argument('--workers', type=int, default=None, help='processes (default: one per core)')
    ap.add_argument('--smoke', action='store_true', help='a quick check that it runs: 8 images at 96x128, 4 per stage timing')
    a = ap.parse_args()
    size, nc = tuple(a.size), a.workers or os.cpu_count()
    n, n_stage = (8, 4) if a.smoke else (a.n, 20)
    if a.smoke: size = (96, 128)
    h, w = size
    print(f'cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}' + (' (smoke run: tiny, numbers mean nothing)' if a.smoke else ''))
    wall, cpu = breakdown(size, n_stage)
    for name, d in (('wall', wall), ('CPU ', cpu)):
        print(f'one image at {h}x{w} (h x w), {name} (median of {n_stage}, one process): ' +
              ', '.join(f'{k} {v*1000:.0f} ms' for k, v in d.items()) + f'; total {sum(d.values())*1000:.0f} ms')
    jc = job_cpu(size, n_stage)
    print(f'one whole job (render + encode + write both files): {jc*1000:.0f} ms CPU')
    tmp = Path(tempfile.mkdtemp(prefix='bench-render-'))
    try:
        t = time.perf_counter()
        render_dataset(tmp/'data', n=n, size=size, progress=False, n_workers=nc)
        dt = time.perf_counter() - t
        mb = sum(f.stat().st_size for f in (tmp/'data').rglob('*') if f.is_file())/2**20
    finally: shutil.rmtree(tmp, ignore_errors=True)
    print(f'{n} images at {h}x{w} with {nc} processes in {dt:.1f} s: {n/dt:.1f} images/s, {mb:.0f} MiB written')
    t1000 = dt*1000/n
    print(f'measured: 1,000 images would take {t1000:.1f} s = {t1000/60:.2f} x the 60 s target '
          f'({"met" if t1000 <= 60 else "missed"}); load average after: {os.getloadavg()[0]:.1f}')
    idle = jc*1000/nc
    print(f'idle-machine estimate from CPU time: 1,000 images in about {idle:.0f} s on {nc} cores = {idle/60:.2f} x the target')

if __name__ == '__main__': main()
