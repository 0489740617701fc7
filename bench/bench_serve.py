"""Benchmark `synthlab serve`: latency through HTTP versus `OnnxSegmenter.predict` in-process, and requests/s.

One run, this machine: a 256x256 PNG, p50/p95 latency of `POST /predict` (one keep-alive client, loopback) against
the same model called directly, then requests/s with 1 and 4 concurrent clients. Target: HTTP p50 <= 1.25x direct.

    .venv/bin/python bench/bench_serve.py                 # untrained resnet34 U-Net, exported with export_onnx
    .venv/bin/python bench/bench_serve.py --model runs/demo/model.onnx
"""
import argparse, socket, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
import httpx
from PIL import Image
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO)) # run from a checkout without installing
from synthlab.infer import OnnxSegmenter
from synthlab.serve import encode_png, predict_remote

def resnet34_unet_onnx(fn:Path, arch:str='resnet34')->Path:
    "An untrained U-Net (default arch resnet34) for the 24 Unity classes, exported with `export_onnx`"
    import fastai.vision.all as fv
    from synthlab.core import CODES
    from synthlab.export import export_onnx
    d,rng = fn.parent/'data',np.random.default_rng(0)
    d.mkdir(exist_ok=True)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (64,64,3), dtype=np.uint8)).save(d/f'{i}.png')
        Image.fromarray(rng.integers(0, len(CODES), (64,64), dtype=np.uint8)).save(d/f'{i}_m.png')
    dblock = fv.DataBlock(blocks=(fv.ImageBlock, fv.MaskBlock(CODES)), get_y=lambda f: f.parent/f'{f.stem}_m.png',
                          splitter=fv.RandomSplitter(0.25, seed=0), item_tfms=fv.Resize(64),
                          batch_tfms=fv.Normalize.from_stats(*fv.imagenet_stats))
    dls = dblock.dataloaders(sorted(d.glob('?.png')), bs=2, num_workers=0)
    learn = fv.unet_learner(dls, getattr(fv, arch), pretrained=False, n_out=len(CODES))
    return export_onnx(learn, fn, sizes=((64,64),), verbose=False)

def stats(ms)->str:
    a = np.asarray(ms)
    return f'p50 {np.percentile(a,50):7.1f} ms   p95 {np.percentile(a,95):7.1f} ms   mean {a.mean():7.1f} ms   (n={len(a)})'

def _free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', help='ONNX file (default: export an untrained resnet34 U-Net)')
    p.add_argument('--size', type=int, default=256, help='image side (default 256)')
    p.add_argument('--n', type=int, default=40, help='requests per latency measurement (default 40)')
    p.add_argument('--workers', type=int, default=2, help='server prediction threads (default 2)')
    p.add_argument('--threads', type=int, default=None, help='onnxruntime threads (default: onnxruntime default)')
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    t0 = time.time()
    fn = Path(a.model) if a.model else resnet34_unet_onnx(tmp/'resnet34_unet.onnx')
    what = fn if a.model else 'untrained resnet34 U-Net (24 classes), exported with synthlab.export.export_onnx'
    print(f'model: {what} ({fn.stat().st_size/1e6:.1f} MB, ready in {time.time()-t0:.0f} s)')
    img = np.random.default_rng(0).integers(0, 256, (a.size, a.size, 3), dtype=np.uint8)
    png = encode_png(img)

    # direct, in-process
    seg = OnnxSegmenter(fn, n_threads=a.threads)
    for _ in range(3): ref = seg.predict(img)
    direct = []
    for _ in range(a.n):
        t = time.perf_counter(); seg.predict(img); direct.append((time.perf_counter()-t)*1000)
    del seg

    # through HTTP: the real server in a subprocess
    port = _free_port()
    args = [str(fn), '--port', str(port), '--workers', str(a.workers), '--quiet'] + (['--threads', str(a.threads)] if a.threads else [])
    srv = subprocess.Popen([sys.executable, '-c', f'from synthlab.serve import main; main({args!r})'], cwd=REPO)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(600):
            try:
                if httpx.get(url+'/health', timeout=2).status_code == 200: break
            except httpx.TransportError: time.sleep(0.2)
        with httpx.Client() as c:
            for _ in range(3): assert (predict_remote(url, png, client=c) == ref).all()
            http = []
            for _ in range(a.n):
                t = time.perf_counter(); predict_remote(url, png, client=c); http.append((time.perf_counter()-t)*1000)
        rps = {}
        for k in (1, 4):
            clients = [httpx.Client() for _ in range(k)]
            n = a.n if k == 1 else 2*a.n
            t = time.perf_counter()
            with ThreadPoolExecutor(k) as ex: list(ex.map(lambda i: predict_remote(url, png, client=clients[i % k]), range(n)))
            rps[k] = n/(time.perf_counter()-t)
            for c in clients: c.close()
        server_side = httpx.get(url+'/health').json()['latency_ms']
    finally:
        srv.terminate(); srv.wait(10)

    print(f'\n{a.size}x{a.size} PNG, batch 1, {a.workers} server workers, onnxruntime threads: {a.threads or "default"}')
    print(f'direct OnnxSegmenter.predict : {stats(direct)}')
    print(f'HTTP POST /predict (1 client): {stats(http)}')
    print(f'server-side time per request : p50 {server_side["p50"]:7.1f} ms   p95 {server_side["p95"]:7.1f} ms (all requests, /health)')
    r = np.percentile(http, 50)/np.percentile(direct, 50)
    print(f'HTTP p50 / direct p50        : {r:.2f}x (target <= 1.25x: {"met" if r <= 1.25 else "NOT met"})')
    print(f'requests/s, 1 client         : {rps[1]:.2f}')
    print(f'requests/s, 4 clients        : {rps[4]:.2f}')

if __name__ == '__main__': main()
