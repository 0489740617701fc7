"""Benchmark `synthlab serve`: latency through HTTP versus `OnnxSegmenter.predict` in-process, and requests/s.

One run, this machine: a 256x256 PNG, p50/p95 latency of `POST /predict` (one keep-alive client, loopback) against
the same model called directly, then requests/s with 1 and 4 concurrent clients. Target: HTTP p50 <= 1.25x direct.

    .venv/bin/python bench/bench_serve.py                 # untrained resnet34 U-Net, exported with export_onnx
    .venv/bin/python bench/bench_serve.py --model runs/demo/model.onnx
    .venv/bin/python bench/bench_serve.py --smoke         # resnet18, 64 px, a few requests: checks it runs (< 60 s)
"""
import argparse, io, socket, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
import httpx
from PIL import Image
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO)) # run from a checkout without installing
from synthlab.infer import OnnxSegmenter
from synthlab.infer import encode_png
from synthlab.serve import predict_remote

def resnet34_unet_onnx(fn:Path, arch:str='resnet34', exporter:str='auto')->Path:
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
    return export_onnx(learn, fn, sizes=((64,64),), exporter=exporter, verbose=False)

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
    p.add_argument('--n', type=int, default=20, help='requests per measurement (default 20; 4 clients send 2n)')
    p.add_argument('--workers', type=int, default=2, help='server prediction threads (default 2)')
    p.add_argument('--threads', type=int, default=None, help='onnxruntime threads (default: onnxruntime default)')
    p.add_argument('--smoke', action='store_true', help='a quick check that the benchmark runs: resnet18, 64x64 images, 4 requests per measurement')
    a = p.parse_args()
    arch = 'resnet18' if a.smoke else 'resnet34'
    if a.smoke: a.size,a.n = 64,4
    tmp = Path(tempfile.mkdtemp())
    t0 = time.time()
    fn = Path(a.model) if a.model else resnet34_unet_onnx(tmp/f'{arch}_unet.onnx', arch, 'torchscript' if a.smoke else 'auto')
    what = fn if a.model else f'untrained {arch} U-Net (24 classes), exported with synthlab.export.export_onnx'
    print(f'model: {what} ({fn.stat().st_size/1e6:.1f} MB, ready in {time.time()-t0:.0f} s)')
    img = np.random.default_rng(0).integers(0, 256, (a.size, a.size, 3), dtype=np.uint8)
    png = encode_png(img)

    # the real server in a subprocess, and the same model in-process
    port = _free_port()
    args = [str(fn), '--port', str(port), '--workers', str(a.workers), '--quiet'] + (['--threads', str(a.threads)] if a.threads else [])
    srv = subprocess.Popen([sys.executable, '-c', f'from synthlab.serve import main; main({args!r})'], cwd=REPO)
    url = f'http://127.0.0.1:{port}'
    seg = OnnxSegmenter(fn, n_threads=a.threads)
    try:
        for _ in range(600):
            try:
                if httpx.get(url+'/health', timeout=2).status_code == 200: break
            except httpx.TransportError: time.sleep(0.2)
        # latency: direct and HTTP calls alternate, so that the load of the shared machine weighs on both alike
        direct,http,infer,server = [],[],[],[]
        with httpx.Client() as c:
            ref = seg.predict(img)
            for _ in range(2): assert (predict_remote(url, png, client=c) == ref).all() # warm-up, and check
            for _ in range(a.n):
                t = time.perf_counter(); seg.predict(img); direct.append((time.perf_counter()-t)*1000)
                t = time.perf_counter()
                r = c.post(url+'/predict', content=png, headers={'Content-Type':'image/png'})
                np.asarray(Image.open(io.BytesIO(r.content))) # decoded, as a client would
                http.append((time.perf_counter()-t)*1000)
                timing = dict(kv.strip().split(';dur=') for kv in r.headers['server-timing'].split(','))
                infer.append(float(timing['infer'])); server.append(float(timing['total']))
        # throughput
        rps = {}
        for k in (1, 4):
            clients = [httpx.Client() for _ in range(k)]
            n = a.n if k == 1 else 2*a.n
            t = time.perf_counter()
            with ThreadPoolExecutor(k) as ex: list(ex.map(lambda i: predict_remote(url, png, client=clients[i % k]), range(n)))
            rps[k] = n/(time.perf_counter()-t)
            for c in clients: c.close()
    finally:
        srv.terminate(); srv.wait(10)

    print(f'\n{a.size}x{a.size} PNG, batch 1, {a.workers} server workers, onnxruntime threads: {a.threads or "default"}')
    print(f'direct OnnxSegmenter.predict : {stats(direct)}')
    print(f'HTTP POST /predict (1 client): {stats(http)}')
    print(f'  of which, in the server    : {stats(server)}')
    print(f'  of which, OnnxSegmenter    : {stats(infer)}')
    over = np.asarray(http)-np.asarray(infer)
    print(f'HTTP overhead (HTTP - infer) : p50 {np.percentile(over,50):7.1f} ms   (transport, PNG decode/encode, both sides)')
    r = np.percentile(http, 50)/np.percentile(direct, 50)
    print(f'HTTP p50 / direct p50        : {r:.2f}x (target <= 1.25x: {"met" if r <= 1.25 else "NOT met"})')
    print(f'requests/s, 1 client         : {rps[1]:.2f}')
    print(f'requests/s, 4 clients        : {rps[4]:.2f}')

if __name__ == '__main__': main()
