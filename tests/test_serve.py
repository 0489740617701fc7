"End-to-end tests of `synthlab serve`: a real uvicorn server in a subprocess on 127.0.0.1, load, faults, classic contract"
import base64, io, json, socket, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip('httpx')
from synthlab.core import SynthlabError
from synthlab.infer import OnnxSegmenter
from synthlab.infer import encode_png
from synthlab.unity_client import model_palette
from synthlab.serve import SERVE_INSTALL, predict_remote, _png_header

REPO = Path(__file__).resolve().parents[1]
MAX_BYTES, MAX_PIXELS = 400_000, 400*400 # small limits, so the limit tests need no huge files
N_REQUESTS, N_CLIENTS = 200, 8

def _tiny_unet_onnx(fn:Path)->Path:
    "A resnet18 U-Net for 4 classes trained one epoch at 64 px, exported with `export_onnx` (parity checked at 64x64 only)"
    from synthlab.test_utils import tiny_learner
    from synthlab.export import export_onnx
    return export_onnx(tiny_learner(codes=('void','building_wall','furniture_rug','items_mug')), fn, sizes=((64,64),), verbose=False)

@pytest.fixture(scope='module')
def model_fn(tmp_path_factory):
    return _tiny_unet_onnx(tmp_path_factory.mktemp('serve')/'tiny.onnx')

@pytest.fixture(scope='module')
def seg(model_fn): return OnnxSegmenter(model_fn, n_threads=1)

def _free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def server(model_fn, tmp_path_factory):
    "`synthlab serve` in a subprocess on a free loopback port; yields (url, log file)"
    port,logf = _free_port(),tmp_path_factory.mktemp('serve_log')/'server.log'
    args = [str(model_fn), '--host', '127.0.0.1', '--port', str(port), '--max-bytes', str(MAX_BYTES),
            '--max-pixels', str(MAX_PIXELS), '--threads', '1']
    with open(logf, 'wb') as out:
        p = subprocess.Popen([sys.executable, '-c', f'from synthlab.serve import main; main({args!r})'],
                             cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    url,t0 = f'http://127.0.0.1:{port}',time.time()
    try:
        while True:
            if p.poll() is not None: pytest.fail(f'the server exited with {p.returncode}:\n{logf.read_text()}')
            if time.time()-t0 > 90: pytest.fail(f'the server did not answer /health in 90 s:\n{logf.read_text()}')
            try:
                if httpx.get(url+'/health', timeout=2).status_code == 200: break
            except httpx.TransportError: time.sleep(0.2)
        yield url,logf
    finally:
        p.terminate()
        try: p.wait(10)
        except subprocess.TimeoutExpired: p.kill(); p.wait()

def _images(n_sizes=6, seed=1):
    "RGB images of mixed sizes (odd ones included), with a few flat regions so the masks are not all noise"
    rng = np.random.default_rng(seed)
    sizes = [(48,64), (75,100), (17,33), (64,96), (40,72), (64,64)][:n_sizes]
    res = []
    for h,w in sizes:
        a = rng.integers(0, 256, (h,w,3), dtype=np.uint8)
        a[:h//2, :w//3] = rng.integers(0, 256, 3, dtype=np.uint8)
        res.append(a)
    return res

def test_load_many_clients_same_masks_as_in_process(server, seg):
    url,_ = server
    imgs = _images()
    pngs = [encode_png(a) for a in imgs]
    expected = [seg.predict(a) for a in imgs]
    for a,m in zip(imgs, expected): assert m.shape == a.shape[:2] and m.dtype == np.uint8
    clients = [httpx.Client() for _ in range(N_CLIENTS)]
    def one(i):
        k = i % len(imgs)
        try: got = predict_remote(url, pngs[k], client=clients[i % N_CLIENTS], timeout=60)
        except Exception as e: return f'request {i}: {type(e).__name__}: {e}'
        if got.shape != expected[k].shape: return f'request {i}: shape {got.shape} != {expected[k].shape}'
        if not (got == expected[k]).all(): return f'request {i}: {(got != expected[k]).mean():.2%} of pixels differ'
        return None
    t0 = time.time()
    try:
        with ThreadPoolExecutor(N_CLIENTS) as ex: errs = [e for e in ex.map(one, range(N_REQUESTS)) if e]
    finally:
        for c in clients: c.close()
    assert not errs, f'{len(errs)} of {N_REQUESTS} requests failed, e.g. {errs[:3]}'
    assert time.time()-t0 < 240
    h = httpx.get(url+'/health').json()
    assert h['latency_ms']['count'] >= N_REQUESTS
    assert h['requests']['failed'] == 0

def _post(url, body, ctype='image/png', path='/predict', method='POST'):
    return httpx.request(method, url+path, content=body, headers={'Content-Type':ctype} if ctype else {}, timeout=30)

def test_bad_requests_get_4xx_and_server_keeps_serving(server, seg):
    url,_ = server
    img = _images(1)[0]
    good = encode_png(img)
    big_dims = encode_png(np.zeros((500, 500, 3), np.uint8)) # small file, too many pixels
    assert len(big_dims) < MAX_BYTES
    cases = [
        ('empty body', lambda: _post(url, b''), 400),
        ('text body, text type', lambda: _post(url, b'hello world', 'text/plain'), 415),
        ('text body, image type', lambda: _post(url, b'hello world'), 415),
        ('no content type', lambda: _post(url, good, None), 415),
        ('JSON to /predict', lambda: _post(url, b'{"a": 1}', 'application/json'), 415),
        ('truncated PNG', lambda: _post(url, good[:len(good)//2]), 400),
        ('PNG header claiming 20000x20000', lambda: _post(url, _png_header(20000, 20000)), 413),
        ('too many pixels', lambda: _post(url, big_dims), 413),
        ('body too large', lambda: _post(url, good + b'\0'*MAX_BYTES), 413),
        ('unknown format', lambda: _post(url+'/predict?format=gif', good, path=''), 422),
        ('multipart without `file`', lambda: httpx.post(url+'/predict', files={'image':('a.png', good, 'image/png')}), 400),
        ('GET /predict', lambda: httpx.get(url+'/predict'), 405),
        ('DELETE /predict_image_text', lambda: httpx.delete(url+'/predict_image_text'), 405),
        ('classic: not JSON', lambda: _post(url, b'{oops', 'application/json', path='/predict_image_text', method='PUT'), 400),
    ]
    expected = seg.predict(img)
    for name,f,status in cases:
        r = f()
        assert r.status_code == status, f'{name}: {r.status_code} {r.text[:300]}'
        d = r.json() # always JSON, never a traceback
        assert d.get('detail') and 'Traceback' not in r.text, f'{name}: {r.text[:300]}'
        # the server keeps serving, correctly
        assert (predict_remote(url, good) == expected).all(), f'wrong answer after {name}'
    assert httpx.get(url+'/health').json()['requests']['failed'] == 0

def test_predict_formats_and_multipart(server, seg):
    url,_ = server
    img = _images(2)[1]
    m = seg.predict(img)
    got = predict_remote(url, Image.fromarray(img)) # a PIL image is sent as PNG
    assert (got == m).all()
    r = httpx.post(url+'/predict', files={'file':('frame.png', encode_png(img), 'image/png')})
    assert r.status_code == 200 and r.headers['content-type'] == 'image/png'
    assert (np.asarray(Image.open(io.BytesIO(r.content))) == m).all()
    counts = predict_remote(url, img, format='json')
    assert (counts['width'], counts['height']) == (img.shape[1], img.shape[0])
    assert counts['counts'] == {c:int((m == i).sum()) for i,c in enumerate(seg.codes)}
    ov = predict_remote(url, img, format='overlay')
    assert ov.size == (img.shape[1], img.shape[0])
    assert np.array_equal(np.asarray(ov), np.asarray(seg.overlay(img, m).convert('RGB')))
    b = io.BytesIO(); Image.fromarray(img).save(b, 'JPEG', quality=95)
    jpg = b.getvalue()
    assert (predict_remote(url, jpg) == seg.predict(np.asarray(Image.open(io.BytesIO(jpg))))).all()
    with pytest.raises(SynthlabError, match='413'): predict_remote(url, _png_header(20000, 20000))

def test_classic_unity_contract(server, seg):
    "The SegmentationLearner client: push colours, then PUT base64 PNG frames and paint the answer"
    url,_ = server
    img = np.dstack([_images(1)[0], np.full((48,64), 255, np.uint8)]) # Unity sends RGBA PNGs
    n = len(seg.codes)
    colors = [{'r':10*i, 'g':255-10*i, 'b':7, 'a':0 if i == 2 else 255} for i in range(n-1)] # label 2's group hidden
    r = httpx.put(url+'/set_label_colors', json={'mime':'mimey', 'labels':list(range(n-1)), 'colors':colors})
    assert r.status_code == 200 and r.json()['set_label_colors'] == 'OK!'
    r = httpx.put(url+'/predict_image_text', json={'mime':'mimey', 'image64':base64.b64encode(encode_png(img)).decode()})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d['mime'] == 'image/png'
    m = seg.predict(img[...,:3])
    col = np.asarray(Image.open(io.BytesIO(base64.b64decode(d['image64']))))
    assert col.shape == (48, 64, 4)
    pal = model_palette(seg.colors)
    for i,c in enumerate(colors): pal[i+1] = [c[k] for k in 'rgba']
    assert (col == pal[m]).all()
    present = [v for v in range(1, n) if (m == v).any()]
    assert [l['label'] for l in d['labels']] == [v-1 for v in present]
    assert [l['name'] for l in d['labels']] == [seg.codes[v] for v in present]
    for l in d['labels']:
        assert 0 <= l['labelPositionX'] < 64 and 0 <= l['labelPositionY'] < 64
        assert l['pixels'] == int((m == l['label']+1).sum())
    # the classic client's other shapes: a data URL and a body without `mime`
    r = httpx.put(url+'/predict_image_text', json={'image64':'data:image/png;base64,'+base64.b64encode(encode_png(img)).decode()})
    assert r.status_code == 200 and r.json()['image64'] == d['image64']
    # restore the model's colours for the other tests
    r = httpx.put(url+'/set_label_colors', json={'labels':list(range(n-1)), 'colors':[list(c)+[255] for c in seg.colors[1:]]})
    assert r.json()['stored'] == n-1

def test_health_labels_and_log(server, seg, model_fn):
    url,logf = server
    predict_remote(url, _images(1)[0])
    h = httpx.get(url+'/health').json()
    assert h['status'] == 'ok'
    assert h['file'] == Path(model_fn).name
    assert h['spec'] == seg.spec.to_dict() # the spec of the ONNX file, in the schema of model.json
    assert h['spec']['codes'] == list(seg.codes) and h['spec']['colors'] == [list(c) for c in seg.colors]
    assert h['spec']['size'] == [64, 64] and h['spec']['version']
    assert h['export'] == seg.export_info and h['export']['input'] == 'uint8'
    assert (h['size'], h['max_side']) == (None, None)
    lat = h['latency_ms']
    assert lat['count'] >= 1 and 0 < lat['p50'] <= lat['p95']
    labels = httpx.get(url+'/labels').json()['labels']
    assert [l['name'] for l in labels] == list(seg.codes)
    assert [tuple(l['color']) for l in labels] == [tuple(c) for c in seg.colors]
    assert labels[1]['group'] == 'building' and labels[0]['group'] is None
    # no CORS unless asked for
    r = httpx.get(url+'/labels', headers={'Origin':'http://evil.example'})
    assert 'access-control-allow-origin' not in r.headers
    # at most one log line per request
    h = httpx.get(url+'/health').json()
    n_req = sum(h['requests'].values())
    lines = [l for l in logf.read_text().splitlines() if l.strip()]
    req_lines = [l for l in lines if ' ms' in l and ('GET ' in l or 'POST ' in l or 'PUT ' in l or 'DELETE ' in l)]
    assert len(req_lines) <= n_req + 2 and len(lines) <= n_req + 5
    assert not any('Traceback' in l for l in lines)

def test_without_the_serve_extra(tmp_path):
    "Without fastapi, `import synthlab` and the CLI work, and `synthlab serve` says what to install (exit 2, no traceback)"
    code = ("import sys; sys.modules['fastapi'] = None\n"
            "import synthlab, synthlab.cli, synthlab.serve\n"
            "from synthlab.cli import main\n"
            f"main(['serve', {str(tmp_path/'m.onnx')!r}])")
    r = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr[-2000:]
    assert 'fastapi' in r.stderr and SERVE_INSTALL in r.stderr and 'Traceback' not in r.stderr
    code = "import sys; sys.modules['fastapi'] = None\nfrom synthlab.serve import create_app\ncreate_app('m.onnx')"
    r = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and 'ImportError' in r.stderr and SERVE_INSTALL in r.stderr

def test_max_side_and_size_alias(tmp_path, model_fn, seg):
    "`--max-side` (and synthlab 0.1's `--size`, a hidden alias) resize the longer side; exact sizes are checked early"
    from fastapi.testclient import TestClient
    from synthlab.serve import create_app
    img = _images(2)[1]
    c = TestClient(create_app(seg, max_side=64, log_requests=False), base_url='http://127.0.0.1') # the Host check accepts addresses and localhost
    m = np.asarray(Image.open(io.BytesIO(c.post('/predict', content=encode_png(img), headers={'Content-Type':'image/png'}).content)))
    assert (m == seg.predict(img, max_side=64)).all() and c.get('/health').json()['max_side'] == 64
    with pytest.raises(SynthlabError, match='not a multiple'): create_app(seg, size=(50, 50))
    from unittest import mock
    from synthlab import serve as srv
    for flag in ('--max-side', '--size'):
        with mock.patch.object(srv, 'serve') as f: srv.main([str(model_fn), flag, '128'])
        assert f.call_args.kwargs['max_side'] == 128

def test_main_refuses_missing_model(tmp_path):
    r = subprocess.run([sys.executable, '-c', f'from synthlab.serve import main; main([{str(tmp_path/"nope.onnx")!r}])'],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'nope.onnx' in r.stderr
