"End-to-end ONNX tests: export a tiny trained U-Net, predict in a fresh torch-free process, unity profile, bad inputs"
import io, json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    "A resnet18 U-Net trained 1 epoch on 8 tiny renders, exported with the default options"
    from synthlab.test_utils import tiny_dataset
    from synthlab.data import unity_dls
    from synthlab.train import seg_learner
    from synthlab.export import export_onnx
    d = tmp_path_factory.mktemp('onnx')
    dls = unity_dls(tiny_dataset(n=8, size=(48, 64), path=d/'data'), size=64, bs=4, num_workers=0, cache=False)
    learn = seg_learner(dls, arch='resnet18')
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    fn = export_onnx(learn, d/'model.onnx', verbose=False)
    return learn, fn, d

def _torch_mask(learn, a):
    "The PyTorch model's mask for `a`, padded (reflect) to a multiple of 32 as `OnnxSegmenter` does"
    import torch
    h, w = a.shape[:2]
    p = np.pad(a, ((0, -h % 32), (0, -w % 32), (0, 0)), mode='reflect')
    x = torch.tensor(p).permute(2, 0, 1)[None].float() / 255
    norm = next(t for t in learn.dls.after_batch.fs if type(t).__name__ == 'Normalize')
    with torch.no_grad(): y = learn.model.eval().cpu()((x - norm.mean.cpu()) / norm.std.cpu())
    return y.argmax(1)[0, :h, :w].numpy().astype(np.uint8)

def test_metadata(exported):
    "The file holds the learner's spec under `SPEC_KEY` and the export facts under `EXPORT_KEYS`, nothing else"
    import onnx
    from synthlab.core import CODES
    from synthlab.spec import SPEC_KEY, ModelSpec
    from synthlab.infer import EXPORT_KEYS
    learn, fn, _ = exported
    raw = {p.key: p.value for p in onnx.load(str(fn)).metadata_props}
    assert set(raw) - {SPEC_KEY} <= set(EXPORT_KEYS)
    spec = ModelSpec.from_meta(raw)
    assert spec == learn.spec and spec.codes == CODES and spec.colors[1] == (95, 128, 185)
    assert spec.multiple == 32 and spec.size == (64, 64) and spec.arch == 'resnet18'
    meta = {k: json.loads(v) for k, v in raw.items() if k != SPEC_KEY}
    assert meta['input'] == 'uint8' and meta['outputs'] == ['mask']
    assert meta['exporter'] in ('dynamo', 'torchscript') and isinstance(meta['opset'], int)
    assert len(meta['parity']) == 3 and all(p['max_abs_diff'] <= 1e-4 * p['logit_scale'] for p in meta['parity'])
    onnx.checker.check_model(str(fn))

def test_fresh_process_matches_pytorch(exported):
    learn, fn, d = exported
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(75, 100), (541, 961), (64, 64)]]
    fns = []
    for i, a in enumerate(imgs):
        fns.append(d / f'img{i}.png'); Image.fromarray(a).save(fns[-1])
    env = {**os.environ, 'PYTHONPATH': str(REPO)}
    out = subprocess.run([sys.executable, str(REPO / 'tests' / 'onnx_fresh_process.py'), str(fn), str(d / 'masks.npz'), *map(str, fns)],
                         capture_output=True, text=True, env=env, cwd=d)
    assert out.returncode == 0, out.stderr[-3000:]
    rep = json.loads(out.stdout.strip().splitlines()[-1])
    assert rep['heavy'] == [], f'inference imported {rep["heavy"]}'
    assert rep['shapes'] == [[75, 100], [541, 961], [64, 64]]
    masks = np.load(d / 'masks.npz')
    for i, a in enumerate(imgs):
        ref = _torch_mask(learn, a)
        assert (masks[f'm{i}'] == ref).mean() > 0.999

def test_predict_batch_and_resize(exported):
    from synthlab.infer import OnnxSegmenter
    _, fn, _ = exported
    seg = OnnxSegmenter(fn, n_threads=1)
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(75, 100), (33, 47), (75, 100)]]
    ms = seg.predict_batch(imgs, bs=2)
    assert [m.shape for m in ms] == [(75, 100), (33, 47), (75, 100)]
    for a, m in zip(imgs, ms): np.testing.assert_array_equal(m, seg.predict(a))
    for kw in (dict(max_side=64), dict(size=64), dict(size=(64, 96))):  # the longer side, a square, an exact (h, w)
        m = seg.predict(imgs[0], **kw)
        assert m.shape == (75, 100) and m.dtype == np.uint8 and m.max() < 24
    assert seg.preprocess(imgs[0], max_side=64).shape == (3, 64, 64)  # 75 x 100 -> 48 x 64 -> multiples of 32
    assert seg.preprocess(imgs[0], size=(64, 96)).shape == (3, 64, 96)
    assert seg.preprocess(imgs[0]).shape == (3, 96, 128)  # padded
    assert seg.overlay(imgs[0]).size == (100, 75)

def test_unity_profile(exported, tmp_path, capsys):
    import onnx
    from synthlab.export import export_onnx, check_unity
    learn, _, _ = exported
    fn = export_onnx(learn, tmp_path / 'unity.onnx', profile='unity', sizes=((64, 64), (96, 160), (160, 224)))
    printed = capsys.readouterr().out
    assert 'unity profile: OK' in printed and 'DepthToSpace' in printed
    r = check_unity(fn, verbose=False)
    assert r['ok'] and r['opset'] <= 15 and r['max_rank'] <= 4
    m = onnx.shape_inference.infer_shapes(onnx.load(str(fn)))
    ranks = [len(v.type.tensor_type.shape.dim) for v in list(m.graph.value_info) + list(m.graph.output)]
    assert ranks and max(ranks) <= 4
    assert m.opset_import[0].version == 15

def test_bad_inputs(exported, tmp_path):
    from synthlab.core import SynthlabError
    from synthlab.infer import OnnxSegmenter
    from synthlab.export import export_onnx
    learn, fn, _ = exported
    seg = OnnxSegmenter(fn, n_threads=1)
    a = np.zeros((40, 50, 3), np.uint8)
    cases = [(b'\x89PNG\r\n\x1a\n garbage', 'cannot decode'), (a[None], 'expected H x W x 3'),
             (np.zeros((40, 50, 2), np.uint8), 'expected H x W x 3'), (a.astype(np.float32), 'not uint8'),
             (tmp_path / 'nope.png', 'not found'), (np.zeros((0, 5, 3), np.uint8), 'empty'), ([1, 2, 3], 'cannot use a list')]
    for img, msg in cases:
        with pytest.raises(SynthlabError, match=msg): seg.predict(img)
    (tmp_path / 'bad.png').write_bytes(b'not a png')
    with pytest.raises(SynthlabError, match='bad.png'): seg.predict(tmp_path / 'bad.png')
    (tmp_path / 'x.onnx').write_bytes(b'garbage')
    with pytest.raises(SynthlabError, match='onnxruntime cannot load'): OnnxSegmenter(tmp_path / 'x.onnx')
    with pytest.raises(SynthlabError, match='not found'): OnnxSegmenter(tmp_path / 'missing.onnx')
    with pytest.raises(SynthlabError, match='unknown profile'): export_onnx(learn, tmp_path / 'y.onnx', profile='sentis')
    with pytest.raises(SynthlabError, match='unknown exporter'): export_onnx(learn, tmp_path / 'y.onnx', exporter='tf', check=False)
    with pytest.raises(SynthlabError, match='not a multiple'): seg.predict(a, size=(50, 40))
    with pytest.raises(SynthlabError, match='pass one of them'): seg.predict(a, size=64, max_side=64)
