"End to end: `arch='realtime'` (synthlab.archs) through train, go_big, save/load, ONNX export with parity, Unity profile, odd sizes and the server; `export_dataset` round trips"
import io, os
import numpy as np
import pytest
import torch
import yaml
from PIL import Image

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    from synthlab.test_utils import tiny_dataset
    from synthlab.unity import load_unity
    return load_unity(tiny_dataset(n=8, size=(48,64), path=tmp_path_factory.mktemp('data')/'tiny'), check=False)

@pytest.fixture(scope='module')
def run(tiny, tmp_path_factory):
    "One epoch of `train` with arch='realtime' at 64 px (one-cycle, checkpoints, model.pth + model.json)"
    from synthlab.train import train
    path = tmp_path_factory.mktemp('run')
    learn,hist = train(tiny, epochs=1, lr=3e-3, size=64, bs=4, path=path, arch='realtime', plot=False, show=False,
                       progress=False, num_workers=0, tensorboard=False)
    return learn,hist,path

def test_train_save_load(run, tiny):
    from synthlab.archs import REALTIME
    from synthlab.learner import load_model
    learn,hist,path = run
    assert learn.spec.arch == REALTIME and type(learn.model).__name__ == 'FPN'
    assert len(hist) == 1 and np.isfinite(hist['dice_multi'].iloc[0])
    assert (path/'model.pth').exists() and (path/'checkpoints').is_dir()
    learn2 = load_model(path)
    assert learn2.spec == learn.spec
    xb = torch.rand(2,3,64,64)
    learn.model.eval()
    with torch.no_grad(): assert torch.allclose(learn2.model(xb), learn.model(xb), atol=1e-5)

def test_smp_names_and_errors(tiny):
    from synthlab.core import SynthlabError
    from synthlab.data import unity_dls
    from synthlab.learner import seg_learner
    dls = unity_dls(tiny, size=64, bs=2, num_workers=0)
    learn = seg_learner(dls, 'smp:unet-resnet18(decoder_channels=(64,32,16,16,8))')
    assert learn.spec.arch == 'smp:unet-resnet18(decoder_channels=(64,32,16,16,8))'
    assert learn.model(dls.one_batch()[0]).shape == (2, len(tiny.codes), 64, 64)
    with pytest.raises(SynthlabError, match='not an SMP architecture'): seg_learner(dls, 'smp:unet')
    with pytest.raises(SynthlabError, match='SMP could not build'): seg_learner(dls, 'smp:unet-nosuchencoder')

def test_export_parity_unity_odd_size_serve(run, tmp_path):
    from fastapi.testclient import TestClient
    from synthlab.export import export_onnx, check_unity, onnx_metadata
    from synthlab.infer import OnnxSegmenter, encode_png
    from synthlab.serve import create_app
    learn,_,_ = run
    fn = export_onnx(learn, tmp_path/'rt.onnx', verbose=False) # check=True: onnx.checker + parity at 64, 128, 160x224
    seg = OnnxSegmenter(fn)
    assert seg.spec.arch == learn.spec.arch
    img = np.random.default_rng(0).integers(0, 256, (37,53,3), dtype=np.uint8)
    m = seg.predict(img)
    assert m.shape == (37,53) and m.max() < len(learn.spec.codes)
    fu = export_onnx(learn, tmp_path/'rt_unity.onnx', profile='unity', verbose=False)
    r = check_unity(fu, verbose=False)
    assert r['ok'] and r['opset'] <= 15 and r['max_rank'] <= 4
    c = TestClient(create_app(seg, log_requests=False), base_url='http://127.0.0.1')
    res = c.post('/predict', content=encode_png(img), headers={'Content-Type':'image/png'})
    assert res.status_code == 200
    assert (np.asarray(Image.open(io.BytesIO(res.content))) == m).all()
    assert c.get('/labels').status_code == 200

def test_go_big_realtime(tiny, tmp_path):
    "progressive resizing (two tiny stages) rebuilds the realtime model from its name at each stage"
    from synthlab.archs import REALTIME
    from synthlab.upscale import go_big
    learn,res = go_big(tiny, sizes=(64,96), epochs=1, bs=4, path=tmp_path/'gb', arch='realtime', num_workers=0, upsample=True, tensorboard=False)
    assert learn.spec.arch == REALTIME and tuple(learn.spec.size) == (96,96)

def test_export_dataset_round_trip(tiny, tmp_path):
    from synthlab.core import SynthlabError
    from synthlab.formats import export_dataset
    valid = tiny.items[:3]
    fn = export_dataset(tiny, tmp_path/'yolo', 'ultralytics', valid=valid)
    cfg = yaml.safe_load(fn.read_text())
    assert 'path' not in cfg and cfg['masks_dir'] == 'masks' and [cfg['names'][i] for i in range(cfg['nc'])] == tiny.codes
    for sub,items in (('val', valid), ('train', tiny.items[3:])):
        imgs = sorted((tmp_path/'yolo'/'images'/sub).iterdir())
        assert len(imgs) == len(items)
        for item in items:
            stem = item.relative_to(tiny.path).with_suffix('').as_posix().replace('/', '__')
            mask = np.asarray(Image.open(tmp_path/'yolo'/'masks'/sub/f'{stem}.png'))
            assert mask.dtype == np.uint8 and (mask == tiny.mask(item)).all()
            got = np.asarray(Image.open(tmp_path/'yolo'/'images'/sub/f'{stem}.png').convert('RGB'))
            assert (got == np.asarray(tiny.image(item))).all()
    out = export_dataset(tiny, tmp_path/'index', 'index', valid=valid)
    codes = (out/'codes.txt').read_text().splitlines()
    assert codes == tiny.codes
    stems = (out/'valid.txt').read_text().split()
    assert len(stems) == 3
    for item in tiny.items:
        stem = item.relative_to(tiny.path).with_suffix('').as_posix().replace('/', '__')
        assert (np.asarray(Image.open(out/'masks'/f'{stem}.png')) == tiny.mask(item)).all()
    with pytest.raises(SynthlabError, match='not in the dataset'): export_dataset(tiny, tmp_path/'x', 'index', valid=[tmp_path/'nope.png'])
    with pytest.raises(SynthlabError, match='unknown dataset format'): export_dataset(tiny, tmp_path/'x', 'voc')
