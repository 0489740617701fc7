"""The model spec round trip, end to end: dls -> learner -> model.json -> ONNX -> OnnxSegmenter -> /health.

At every hop the spec must equal the dataloaders' spec (plus the learner's arch), field by field: for the Unity
classes (a tiny rendered dataset through `unity_dls`) and for a class list without Unity colours (whose display
colours come from `default_colors`: `model.json` must hold the same palette as the ONNX file)."""
import dataclasses, json
import pytest
from synthlab.spec import ModelSpec, default_colors

pytest.importorskip('fastapi')
pytest.importorskip('httpx')
FIELDS = [f.name for f in dataclasses.fields(ModelSpec)]

def _same(ref:ModelSpec, got:ModelSpec, hop:str):
    "Assert `got` equals `ref` field by field, naming the hop and the field that differs"
    assert isinstance(got, ModelSpec), f'{hop}: {type(got).__name__} is not a ModelSpec'
    diff = {k: (getattr(ref, k), getattr(got, k)) for k in FIELDS if getattr(ref, k) != getattr(got, k)}
    assert not diff, f'{hop}: fields differ (expected, got): {diff}'

def _round_trip(learn, tmp_path)->dict:
    "The spec at each hop from `learn` to the server's `/health`, and the raw JSON of `model.json` and `/health`"
    from fastapi.testclient import TestClient
    from synthlab.train import load_model, save_model
    from synthlab.export import export_onnx
    from synthlab.infer import OnnxSegmenter
    from synthlab.serve import create_app
    hops = {'learn.spec': learn.spec}
    save_model(learn, tmp_path)
    card = json.loads((tmp_path/'model.json').read_text())
    hops['model.json'] = ModelSpec.load(tmp_path/'model.json')
    learn2 = load_model(tmp_path/'model.json')
    hops['load_model'] = learn2.spec
    fn = export_onnx(learn2, tmp_path/'model.onnx', sizes=((64, 64),), verbose=False)
    seg = OnnxSegmenter(fn, n_threads=1)
    hops['OnnxSegmenter'] = seg.spec
    health = TestClient(create_app(seg, workers=1, log_requests=False), base_url='http://127.0.0.1').get('/health').json()
    hops['/health'] = ModelSpec.from_dict(health['spec'])
    return dict(hops=hops, card=card, health=health, seg=seg)

def _check(ref:ModelSpec, res:dict):
    for hop, spec in res['hops'].items(): _same(ref, spec, hop)
    d = ref.to_dict()
    assert {k: res['card'][k] for k in d} == d, 'model.json does not hold the spec as `to_dict` writes it'
    assert res['health']['spec'] == d, '/health does not answer the spec as `to_dict`'
    assert res['health']['file'] == 'model.onnx'
    assert res['health']['export']['exporter'] in ('dynamo', 'torchscript') and res['health']['export']['input'] == 'uint8'
    assert res['seg'].codes == ref.codes and res['seg'].colors == ref.colors and res['seg'].mult == ref.multiple

def test_unity_classes(tmp_path):
    from synthlab.core import CODES, COLORS
    from synthlab.data import unity_dls
    from synthlab.test_utils import tiny_dataset
    from synthlab.train import seg_learner
    dls = unity_dls(tiny_dataset(n=8, size=(48, 64), path=tmp_path/'data'), size=64, bs=4, num_workers=0, cache=False)
    assert isinstance(dls.spec, ModelSpec) and dls.spec.dataset
    learn = seg_learner(dls, arch='resnet18')
    ref = dls.spec.replace(arch='resnet18', pretrained=False)
    _same(ref, learn.spec, 'seg_learner')
    assert ref.codes == CODES and ref.colors == [tuple(c) for c in COLORS] and ref.size == (64, 64)
    _check(ref, _round_trip(learn, tmp_path/'run'))

def test_classes_without_unity_colours(tmp_path):
    from synthlab.test_utils import tiny_learner
    from synthlab.train import seg_learner
    codes = ['void', 'wall', 'rug', 'mug']
    dls = tiny_learner(codes=tuple(codes)).dls # a plain fastai DataBlock: no `dls.spec`, no colours anywhere
    assert getattr(dls, 'spec', None) is None
    learn = seg_learner(dls, arch='resnet18')
    ref = learn.spec
    assert ref.codes == codes and ref.colors == default_colors(codes) and ref.arch == 'resnet18'
    res = _round_trip(learn, tmp_path/'run')
    _check(ref, res)
    # the palette of model.json is the one in the ONNX file (and the one the server paints with)
    assert res['card']['colors'] == [list(c) for c in res['seg'].colors] == res['health']['spec']['colors']
