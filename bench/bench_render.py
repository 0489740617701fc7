"""Benchmark the demo renderer: images per second at 640x480 (classic layout, all cores), against the target of
1,000 images in under 60 s on this 2-core machine. Also times one image's stages (scene layout, rasterising,
shading, PNG encoding) in this process, in wall time and in CPU time: CPU time does not grow when other programs
share the cores, so it gives what the machine would do when idle.

    python bench/bench_render.py            # 1,000 images
    python bench/bench_render.py --n 200    # fewer
"""
import argparse, io, os, shutil, tempfile, time
from pathlib import Path
import numpy as np
from synthlab.render import render_dataset, _render_one, _scene, _rasterize, _shade, _png, _rgba

STAGES = ('scene', 'raster', 'shade', 'png')

def breakdown(size, n=20):
    "Median wall and CPU seconds per image of each stage, in this process"
    wall, cpu = {k: [] for k in STAGES}, {k: [] for k in STAGES}
    for i in range(n):
        rng = np.random.default_rng((99, i))
        t = [(time.perf_counter(), time.process_time())]
        cam, light, parts = _scene(rng, size); t.append((time.perf_counter(), time.process_time()))
        fid, table, cls = _rasterize(parts, cam, light); t.append((time.perf_counter(), time.process_time()))
        rgb = _shade(fid, table, cam, light, rng); mask = cls[fid]; t.append((time.perf_counter(), time.process_time()))
        _png(_rgba(rgb), io.BytesIO()); _png(mask, io.BytesIO()); t.append((time.perf_counter(), time.process_time()))
        for k, a, b in zip(STAGES, t, t[1:]): wall[k].append(b[0]-a[0]); cpu[k].append(b[1]-a[1])
    return ({k: float(np.median(v)) for k, v in wall.items()}, {k: float(np.median(v)) for k, v in cpu.items()})

def job_cpu(size, n=20):
    "Mean CPU seconds of one whole worker job (render, encode, write both files), in this process"
    tmp = Path(tempfile.mkdtemp(prefix='bench-render-job-'))
    try:
        for d in ('screenshots', 'labels'): (tmp/d).mkdir()
        t = time.process_time()
        for i in range(n): _render_one((tmp, i, 0, size, 'classic', 1))
        return (time.process_time()-t)/n
    finally: shutil.rmtree(tmp, ignore_errors=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n', type=int, default=1000, help='images to render')
    ap.add_argument('--size', type=int, nargs=2, default=(640, 480), metavar=('W', 'H'))
    ap.add_argument('--workers', type=int, default=None, help='processes (default: one per core)')
    a = ap.parse_args()
    size, nc = tuple(a.size), a.workers or os.cpu_count()
    print(f'cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}')
    wall, cpu = breakdown(size)
    for name, d in (('wall', wall), ('CPU ', cpu)):
        print(f'one image at {size[0]}x{size[1]}, {name} (median of 20, one process): ' +
              ', '.join(f'{k} {v*1000:.0f} ms' for k, v in d.items()) + f'; total {sum(d.values())*1000:.0f} ms')
    jc = job_cpu(size)
    print(f'one whole job (render + encode + write both files): {jc*1000:.0f} ms CPU')
    tmp = Path(tempfile.mkdtemp(prefix='bench-render-'))
    try:
        t = time.perf_counter()
        render_dataset(tmp/'data', n=a.n, size=size, progress=False, n_workers=nc)
        dt = time.perf_counter() - t
        mb = sum(f.stat().st_size for f in (tmp/'data').rglob('*') if f.is_file())/2**20
    finally: shutil.rmtree(tmp, ignore_errors=True)
    print(f'{a.n} images at {size[0]}x{size[1]} with {nc} processes in {dt:.1f} s: {a.n/dt:.1f} images/s, {mb:.0f} MiB written')
    t1000 = dt*1000/a.n
    print(f'measured: 1,000 images would take {t1000:.1f} s = {t1000/60:.2f} x the 60 s target '
          f'({"met" if t1000 <= 60 else "missed"}); load average after: {os.getloadavg()[0]:.1f}')
    idle = jc*1000/nc
    print(f'idle-machine estimate from CPU time: 1,000 images in about {idle:.0f} s on {nc} cores = {idle/60:.2f} x the target')

if __name__ == '__main__': main()
