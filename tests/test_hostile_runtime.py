"""Issue 15, the runtime side: each test reproduces one item (it failed before the fix) and checks the fix.

Items: 1 relative run folders and repeated epochs, 2 a kill in the first epoch, 8 `synthlab serve BAD.onnx`,
9 broken model cards and weights, 10 ONNX metadata checked against the graph, 11 the server's memory budget,
13 non-finite JSON numbers and disconnecting clients, 14 CLI argument validation, 15 the Host check and the API docs;
plus: no command prints a traceback for a user's mistake, `--debug` shows it."""
import asyncio, io, json, math, os, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from fastai.callback.core import Callback

from synthlab.core import SynthlabError
from synthlab.cli import main
from synthlab.spec import ModelSpec, SPEC_KEY, default_colors
from synthlab.test_utils import tiny_dataset

torch.set_num_threads(1) # the test CPU is shared

CODES = ('void', 'building_wall', 'furniture_rug', 'items_mug')

def _cli(capsys, *args):
    "Run `synthlab ARGS`: (exit status, stdout, stderr); argparse's exits count as exit statuses"
    try: code = main([str(a) for a in args])
    except SystemExit as e: code = e.code
    out,err = capsys.readouterr()
    return code,out,err

def _no_traceback(err:str):
    assert 'Traceback' not in err, err

# ---------------------------------------------------------------- training runs (items 1, 2)
class _CrashAfterLog(Callback):
    "Stop the process as a kill would, after epoch `at`'s history line is written but before its checkpoint"
    order = 51.5 # after `Recorder` (50, writes the history line) and `TrainGuard` (51), before `RunCheckpoints` (52)
    def __init__(self, at): self.at = at
    def after_epoch(self):
        if self.epoch == self.at: raise KeyboardInterrupt('simulated kill')

class _CrashInFirstEpoch(Callback):
    "At the first training batch: record whether history.csv already holds its header on disk (what a SIGKILL leaves), then stop"
    def __init__(self, fn): self.fn = fn
    def before_batch(self):
        if self.training and self.epoch == 0:
            self.bytes_at_kill = os.path.getsize(self.fn)
            raise KeyboardInterrupt('simulated kill in the first epoch')

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return tiny_dataset(n=6, size=(32, 32), path=tmp_path_factory.mktemp('hr')/'data')

def test_item1_relative_run_folder(tmp_path, monkeypatch, capsys, data):
    "`synthlab train DATA --run runs/small` (the README's form): history, plot and model in runs/small, nothing nested"
    monkeypatch.chdir(tmp_path)
    code,out,err = _cli(capsys, 'train', data, '--run', 'runs/small', '--size', '32', '--epochs', '1', '--lr', '1e-3', '--bs', '2', '--arch', 'resnet18')
    assert code == 0, err[-3000:]
    run = tmp_path/'runs'/'small'
    assert not (run/'runs').exists()
    assert list(pd.read_csv(run/'history.csv').epoch) == [0]
    assert (run/'metrics.png').exists() and (run/'model.json').exists()
    assert 'Empty DataFrame' not in out and 'train_loss' in out
    _no_traceback(err)

def test_item1_resume_lists_each_epoch_once(tmp_path, monkeypatch, capsys, data):
    "A kill between an epoch's history line and its checkpoint, plus a repeated line, resumed from a relative folder"
    from synthlab.train import train
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        train(data, epochs=3, lr=1e-3, size=32, bs=2, path='runs/r', arch='resnet18', num_workers=0, tensorboard=False,
              cbs=_CrashAfterLog(1), show=False, progress=False)
    h = tmp_path/'runs'/'r'/'history.csv'
    rows = h.read_text().splitlines()
    assert [r.split(',')[0] for r in rows[1:]] == ['0', '1'] # epoch 1 logged, its checkpoint not written
    h.write_text('\n'.join(rows + [rows[1]]) + '\n') # and epoch 0 once more, as an interrupted append leaves it
    code,out,err = _cli(capsys, 'train', '--resume', '--run', 'runs/r')
    assert code == 0, err[-3000:]
    hist = pd.read_csv(h)
    assert list(hist.epoch) == [0, 1, 2]
    assert not (tmp_path/'runs'/'r'/'runs').exists() and (tmp_path/'runs'/'r'/'metrics.png').exists()

def test_item2_kill_in_first_epoch(tmp_path, data):
    "The history's header is on disk before the first batch, and `resume` copes with a 0-byte history (older runs)"
    from synthlab.train import train, resume
    run = tmp_path/'run'
    crash = _CrashInFirstEpoch(run/'history.csv')
    with pytest.raises(KeyboardInterrupt):
        train(data, epochs=1, lr=1e-3, size=32, bs=2, path=run, arch='resnet18', num_workers=0, tensorboard=False,
              cbs=crash, show=False, progress=False)
    assert crash.bytes_at_kill > 0 # was 0: the header was never flushed
    (run/'history.csv').write_text('') # what synthlab <= 0.2 left behind
    learn,hist = resume(run, show=False, progress=False, tensorboard=False)
    assert list(hist.epoch) == [0] and (run/'model.pth').exists()

# ---------------------------------------------------------------- model files (items 8, 9, 10)
@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    "A saved resnet18 model (untrained: only the files matter) at 32x32 for CODES"
    from synthlab.learner import seg_learner, save_model, spec_dls
    d = tmp_path_factory.mktemp('model')
    learn = seg_learner(spec_dls(ModelSpec(list(CODES), size=(32, 32))), 'resnet18', fp16=False)
    save_model(learn, d)
    return d

@pytest.fixture(scope='module')
def onnx_fn(tmp_path_factory):
    from synthlab.test_utils import tiny_learner
    from synthlab.export import export_onnx
    return export_onnx(tiny_learner(codes=CODES), tmp_path_factory.mktemp('onnx')/'tiny.onnx', sizes=((64,64),), verbose=False)

def _copy_model(src:Path, dst:Path, card=None, pth:bytes|None=None)->Path:
    dst.mkdir(parents=True, exist_ok=True)
    (dst/'model.json').write_text(card if isinstance(card, str) else json.dumps(card if card is not None else json.loads((src/'model.json').read_text())))
    if pth is not False: (dst/'model.pth').write_bytes((src/'model.pth').read_bytes() if pth is None else pth)
    return dst

def test_item9_broken_model_cards_and_weights(tmp_path, capsys, model_dir):
    from synthlab.learner import load_model
    good = json.loads((model_dir/'model.json').read_text())
    raw = (model_dir/'model.pth').read_bytes()
    cases = {
        'bad_json': (dict(card='{"codes": ["void",'), 'not valid JSON'),
        'arch': (dict(card={**good, 'arch': 'resnet34'}), 'another architecture'),
        'classes': (dict(card={**good, 'codes': list(CODES[:3]), 'colors': None}), 'the weights are for 4 classes, the model spec has 3'),
        'no_codes': (dict(card={k:v for k,v in good.items() if k != 'codes'}), 'no class names'),
        'truncated': (dict(pth=raw[:len(raw)//3]), 'truncated, damaged'),
        'random': (dict(pth=np.random.default_rng(0).bytes(5000)), 'truncated, damaged'),
        'missing_pth': (dict(pth=False), 'no weights'),
    }
    for name,(kw,msg) in cases.items():
        d = _copy_model(model_dir, tmp_path/name, **kw)
        with pytest.raises(SynthlabError, match='How to fix') as e: load_model(d)
        assert msg in str(e.value), (name, str(e.value))
        code,out,err = _cli(capsys, 'export', d)
        assert code == 2 and msg in err, (name, err)
        _no_traceback(err)

def _with_meta(src:Path, dst:Path, change)->Path:
    "A copy of the ONNX file `src` whose spec metadata is `change(spec_dict)`"
    import onnx
    m = onnx.load(str(src)); props = {p.key:p.value for p in m.metadata_props}
    props[SPEC_KEY] = json.dumps(change(json.loads(props[SPEC_KEY])))
    onnx.helper.set_model_props(m, props); onnx.save(m, str(dst))
    return dst

def test_item10_onnx_metadata_checked(tmp_path, capsys, onnx_fn):
    from synthlab.infer import OnnxSegmenter
    from synthlab.serve import create_app
    img = tmp_path/'img.png'; Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(img)
    no_colors = _with_meta(onnx_fn, tmp_path/'no_colors.onnx', lambda d: {k:v for k,v in d.items() if k != 'colors'})
    seg = OnnxSegmenter(no_colors)
    assert seg.colors == default_colors(list(CODES)) # the stated fallback
    code,out,err = _cli(capsys, 'predict', no_colors, img, '--out', tmp_path/'pred')
    assert code == 0 and (tmp_path/'pred'/'img.overlay.png').exists(), err
    str_codes = _with_meta(onnx_fn, tmp_path/'str_codes.onnx', lambda d: {**d, 'codes': ','.join(CODES)})
    two_codes = _with_meta(onnx_fn, tmp_path/'two_codes.onnx', lambda d: {**d, 'codes': list(CODES[:2]), 'colors': None})
    for fn,msg in [(str_codes, 'must be a list of class names'), (two_codes, 'the metadata names 2 classes')]:
        with pytest.raises(SynthlabError, match='How to fix') as e: OnnxSegmenter(fn)
        assert msg in str(e.value) and fn.name in str(e.value)
        with pytest.raises(SynthlabError, match=msg): create_app(fn)
        code,out,err = _cli(capsys, 'predict', fn, img, '--out', tmp_path/'pred')
        assert code == 2 and msg in err and fn.name in err, err
        _no_traceback(err)

def test_item8_serve_bad_model_no_traceback(tmp_path, capsys, onnx_fn):
    bad = tmp_path/'BAD.onnx'; bad.write_bytes(b'\x08\x07garbage' * 100)
    two_codes = _with_meta(onnx_fn, tmp_path/'two_codes.onnx', lambda d: {**d, 'codes': list(CODES[:2]), 'colors': None})
    for fn,msg in [(bad, 'onnxruntime cannot load the file'), (two_codes, 'the metadata names 2 classes')]:
        code,out,err = _cli(capsys, 'serve', fn, '--port', '0')
        assert code == 2 and msg in err and fn.name in err, err
        _no_traceback(err)
    code,out,err = _cli(capsys, 'serve', bad, '--debug')
    assert code == 2 and 'Traceback' in err # --debug shows where it came from

# ---------------------------------------------------------------- the server (items 11, 13, 15)
@pytest.fixture(scope='module')
def seg(onnx_fn):
    from synthlab.infer import OnnxSegmenter
    return OnnxSegmenter(onnx_fn, n_threads=1)

def _client(app, base='http://127.0.0.1'):
    from fastapi.testclient import TestClient
    return TestClient(app, base_url=base)

def _png(a)->bytes:
    b = io.BytesIO(); Image.fromarray(a).save(b, 'PNG'); return b.getvalue()

def test_item11_large_image_inside_the_budget(seg, monkeypatch):
    "A 2048x2048 PNG of a few KB: answered at full size, but the model runs inside MAX_MODEL_PIXELS (was: at 2048x2048, 7 GB)"
    from synthlab.serve import create_app, MAX_MODEL_PIXELS
    from synthlab.infer import OnnxSegmenter
    a = np.zeros((2048, 2048, 3), np.uint8); a[:, 1024:] = (200, 30, 30)
    png = _png(a)
    assert len(png) < 100_000
    shapes, pre = [], OnnxSegmenter.preprocess
    monkeypatch.setattr(OnnxSegmenter, 'preprocess', lambda self, *args, **kw: shapes.append((r := pre(self, *args, **kw)).shape) or r)
    c = _client(create_app(seg, log_requests=False))
    t0 = time.perf_counter()
    r = c.post('/predict', content=png, headers={'Content-Type': 'image/png'})
    assert r.status_code == 200 and time.perf_counter()-t0 < 30
    assert np.asarray(Image.open(io.BytesIO(r.content))).shape == (2048, 2048)
    assert shapes and all(math.prod(s[1:]) <= MAX_MODEL_PIXELS for s in shapes), shapes
    lim = c.get('/health').json()['limits']
    assert lim['max_model_pixels'] == MAX_MODEL_PIXELS and lim['inference_slots'] == 1
    r = _client(create_app(seg, max_side=2048, log_requests=False)).post('/predict', content=png, headers={'Content-Type': 'image/png'})
    assert r.status_code == 413 and '--max-model-pixels' in r.json()['fix'] # an explicit size over the budget: refused with the fix

def test_item11_inference_bounded(seg, monkeypatch):
    "With 2 workers and 4 clients at once, only `inference_slots` (1) predictions run at the same time"
    from synthlab.serve import create_app
    app = create_app(seg, workers=2, log_requests=False)
    live, peak, lock, real = [0], [0], threading.Lock(), app.state.seg.predict
    def predict(*args, **kw):
        with lock: live[0] += 1; peak[0] = max(peak[0], live[0])
        time.sleep(0.2)
        try: return real(*args, **kw)
        finally:
            with lock: live[0] -= 1
    monkeypatch.setattr(app.state.seg, 'predict', predict)
    c = _client(app)
    png = _png(np.zeros((40, 50, 3), np.uint8))
    with ThreadPoolExecutor(4) as ex:
        codes = list(ex.map(lambda _: c.post('/predict', content=png, headers={'Content-Type': 'image/png'}).status_code, range(4)))
    assert codes == [200]*4 and peak[0] == 1

def test_item13_nonfinite_json_and_disconnects(seg):
    from synthlab.serve import create_app
    app = create_app(seg, log_requests=False)
    c = _client(app)
    for body in [b'{"labels": [0], "colors": [{"r": Infinity, "g": 0, "b": 0, "a": 255}]}',
                 b'{"labels": [0], "colors": [{"r": 1e400, "g": 0, "b": 0, "a": 255}]}',
                 b'{"labels": [0], "colors": [{"r": -Infinity, "g": 0, "b": 0, "a": 255}]}',
                 b'{"labels": [0], "colors": [{"r": 1' + b'0'*400 + b', "g": 0, "b": 0}]}']:
        r = c.put('/set_label_colors', content=body, headers={'Content-Type': 'application/json'})
        assert r.status_code == 422 and r.json()['fix'], (body[:60], r.status_code, r.text)
    assert c.put('/set_label_colors', json={'labels': [0], 'colors': [{'r': 10, 'g': 20, 'b': 30, 'a': 255}]}).json()['stored'] == 1
    async def disconnect_mid_body():
        msgs = iter([{'type': 'http.request', 'body': b'\x89PNG\r\n\x1a\n' + b'\0'*50, 'more_body': True}, {'type': 'http.disconnect'}])
        async def receive(): return next(msgs)
        async def send(msg): pass
        scope = {'type': 'http', 'method': 'POST', 'path': '/predict', 'raw_path': b'/predict', 'query_string': b'', 'root_path': '',
                 'headers': [(b'host', b'127.0.0.1:8000'), (b'content-type', b'image/png')], 'scheme': 'http',
                 'server': ('127.0.0.1', 8000), 'client': ('127.0.0.1', 5555), 'http_version': '1.1'}
        await app(scope, receive, send)
    before = dict(app.state.requests)
    asyncio.run(disconnect_mid_body())
    req = c.get('/health').json()['requests']
    assert req['failed'] == before['failed'] == 0 and req['disconnected'] == 1

def test_item15_host_check_and_docs(seg, monkeypatch):
    from synthlab import serve as srv
    app = srv.create_app(seg, log_requests=False)
    for base,status in [('http://127.0.0.1:8000', 200), ('http://localhost:8000', 200), ('http://[::1]:8000', 200),
                        ('http://attacker.example:8000', 400), ('http://127.0.0.1.attacker.example', 400)]:
        r = _client(app, base).get('/health')
        assert r.status_code == status, (base, r.text)
    r = _client(app, 'http://attacker.example').get('/labels')
    assert 'is not an address of this server' in r.json()['detail'] and '--allow-host' in r.json()['fix']
    assert [_client(app).get(p).status_code for p in ('/docs', '/openapi.json', '/redoc')] == [404]*3
    docs = _client(srv.create_app(seg, docs=True, log_requests=False))
    assert [docs.get(p).status_code for p in ('/docs', '/openapi.json')] == [200, 200]
    import uvicorn # `serve` binds a name: that name is accepted, others still not
    apps = []
    monkeypatch.setattr(uvicorn, 'run', lambda app, **kw: apps.append(app))
    srv.serve(seg, host='seg-box.lan', port=0, log_requests=False, allowed_hosts=['cam.lan'])
    assert [_client(apps[0], b).get('/labels').status_code for b in ('http://seg-box.lan:8000', 'http://cam.lan', 'http://other.lan')] == [200, 200, 400]
    from unittest import mock
    with mock.patch.object(srv, 'serve') as f: srv.main([str(seg.fname), '--allow-host', 'cam.lan', '--docs'])
    assert f.call_args.kwargs['allowed_hosts'] == ['cam.lan'] and f.call_args.kwargs['docs'] is True

# ---------------------------------------------------------------- the command line (item 14, --debug)
@pytest.mark.parametrize('args,why', [
    (['train'], 'the following arguments are required: data'),
    (['train', '--resume'], '--resume needs --run'),
    (['train', 'DATA', '--bs', '0'], "'0' must be above 0"),
    (['train', 'DATA', '--lr', '-1'], "'-1' must be above 0"),
    (['train', 'DATA', '--lr', 'nan'], 'must be above 0'),
    (['train', 'DATA', '--epochs', '0'], "'0' must be above 0"),
    (['go-big', 'DATA', '--epochs', '10,0'], 'must be above 0'),
    (['go-big', 'DATA', '--bs', '0'], 'must be above 0'),
    (['render', 'out', '--n', '0'], 'must be above 0'),
    (['predict', 'm.onnx', 'a.png', '--max-side', '0'], 'must be above 0'),
    (['demo', '--epochs', '0'], 'must be above 0'),
])
def test_item14_cli_arguments_validated(tmp_path, monkeypatch, capsys, args, why):
    monkeypatch.chdir(tmp_path)
    code,out,err = _cli(capsys, *args)
    assert code == 2 and why in err and 'usage: synthlab' in err, err
    _no_traceback(err)
    assert not list(tmp_path.rglob('model.pth')) # nothing trained, nothing saved

def test_no_traceback_and_debug(tmp_path, capsys, monkeypatch):
    code,out,err = _cli(capsys, 'export', tmp_path/'nowhere')
    assert code == 2 and 'How to fix' in err
    _no_traceback(err)
    code,out,err = _cli(capsys, '--debug', 'export', tmp_path/'nowhere')
    assert code == 2 and 'Traceback' in err and 'How to fix' in err
    import synthlab.cli as cli # an unexpected error (a bug) is one line too, with the way to the traceback
    monkeypatch.setattr(cli, '_report', lambda a: 1/0)
    code,out,err = _cli(capsys, 'report', tmp_path)
    assert code == 1 and 'ZeroDivisionError' in err and '--debug' in err
    _no_traceback(err)
    code,out,err = _cli(capsys, 'report', tmp_path, '--debug')
    assert code == 1 and 'Traceback' in err
