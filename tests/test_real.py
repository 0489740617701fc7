"Real labelled sets (`synthlab.real`) and evaluation on them (`synthlab.evaluate`): encodings, ignore handling, bad sets, CLI, pipeline."
import warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from synthlab.core import CODES, SynthlabError
from synthlab.real import load_real, make_real_standin
from synthlab.evaluate import evaluate, confusion_counts

warnings.filterwarnings('ignore', message='.*torch.jit.script.*')

# A 4 x 4 set counted by hand. Real values: 7 = wall, 8 = floor, 9 = plant (no Unity class: ignore), 255 unlabelled.
REAL = np.array([[7, 7, 8, 8],
                 [7, 7, 8, 8],
                 [9, 9, 255, 255],
                 [7, 8, 255, 9]])
WALL, FLOOR = CODES.index('building_wall'), CODES.index('building_floor')
TRUTH = np.array([[WALL, WALL, FLOOR, FLOOR],
                  [WALL, WALL, FLOOR, FLOOR],
                  [255, 255, 255, 255],
                  [WALL, FLOOR, 255, 255]], np.uint8)
PRED = np.array([[WALL, FLOOR, FLOOR, FLOOR],   # one wall pixel called floor
                 [WALL, WALL, FLOOR, 0],         # one floor pixel called void
                 [FLOOR, FLOOR, WALL, WALL],     # all ignored: must not count
                 [WALL, WALL, FLOOR, FLOOR]], np.uint8) # one floor pixel called wall; the last two ignored

def write_hand_set(path:Path, encoding:str, n:int=2)->Path:
    (path/'images').mkdir(parents=True); (path/'labels').mkdir()
    unl = 255 if encoding == 'index' else 0
    real = np.where(REAL == 255, unl, REAL if encoding == 'index' else REAL*300) # ade20k values 2100, 2400, 2700
    for k in range(n):
        Image.fromarray(np.full((4, 4, 3), 40*k, np.uint8)).save(path/'images'/f'img{k}.jpg')
        if encoding == 'index':
            im = Image.fromarray(real.astype(np.uint8), 'P'); im.putpalette([9, 200, 30]*256) # colours must not be read
            im.save(path/'labels'/f'img{k}_mask.png')
        else:
            rgb = np.stack([(real//256)*10, real % 256, np.full_like(real, 3)], -1).astype(np.uint8)
            Image.fromarray(rgb).save(path/'labels'/f'img{k}_seg.png')
    v = (lambda x: x) if encoding == 'index' else (lambda x: x*300)
    (path/'classes.txt').write_text(f'# hand-made set\n{unl}\tunlabeled\n{v(7)}\twall\n{v(8)}\tfloor, flooring\n{v(9)}\tplant # no Unity class\n')
    (path/'mapping.csv').write_text('real_class,unity_class\nunlabeled,ignore\nwall,building_wall\n"floor, flooring",building_floor\nplant,ignore\n')
    return path

class FixedModel:
    "Stands in for an `OnnxSegmenter`: predicts `PRED` for every image"
    def __init__(self): self.sess, self.codes = object(), list(CODES)
    spec = type('Spec', (), {'size': (4, 4)})()
    def predict(self, img, max_side=None): return PRED.copy()

@pytest.mark.parametrize('encoding', ['index', 'ade20k'])
def test_hand_counted(tmp_path, encoding, capsys):
    rs = load_real(write_hand_set(tmp_path/encoding, encoding))
    assert f"encoding {encoding!r} (detected" in capsys.readouterr().out
    assert rs.encoding == encoding and len(rs) == 2 and rs.ignore == 255
    np.testing.assert_array_equal(rs.mask(0), TRUTH)
    np.testing.assert_array_equal(np.asarray(rs.get_y(rs.items[1])), TRUTH)
    img, m = rs[0]
    assert img.mode == 'RGB' and img.size == (4, 4) and m.dtype == np.uint8
    ev = evaluate(FixedModel(), rs)
    # by hand, per image: 10 scored pixels (16 - 4 unlabelled - 2 plant). Wall: 5 true, 4 right, 1 called floor;
    # floor: 5 true, 3 right, 1 called void, 1 called wall. Predicted wall 5 times, floor 4 times (scored pixels only):
    # IoU wall 4/(5+5-4), floor 3/(5+4-3); the predictions on the 6 ignored pixels change nothing.
    c = ev.confusion
    assert c.to_numpy().sum() == 2*10
    assert c.loc['building_wall', 'building_wall'] == 2*4 and c.loc['building_wall', 'building_floor'] == 2*1
    assert c.loc['building_floor', 'building_floor'] == 2*3 and c.loc['building_floor', 'void'] == 2*1
    assert c.loc['building_floor', 'building_wall'] == 2*1
    assert c['building_wall'].sum() == 2*5 and c['building_floor'].sum() == 2*4
    np.testing.assert_allclose([ev.iou['building_wall'], ev.iou['building_floor']], [4/6, 3/6])
    assert np.isnan(ev.iou['void']) and ev.iou.notna().sum() == 2 # void is predicted but absent from the truth
    np.testing.assert_allclose(ev.miou, (4/6 + 3/6)/2)
    np.testing.assert_allclose(ev.pixel_acc, 7/10)
    assert list(ev.per_image.item) == ['img0.jpg', 'img1.jpg']
    np.testing.assert_allclose(ev.per_image.miou, [(4/6 + 3/6)/2]*2)

def test_hand_truth():
    "The hand arrays agree with each other (a typo in them would make the test above meaningless)"
    c = confusion_counts(TRUTH, PRED, len(CODES))
    assert c.sum() == 10 and np.trace(c) == 7

@pytest.fixture(scope='module')
def tiny_onnx(tmp_path_factory):
    from fastai.vision.all import set_seed
    from synthlab.test_utils import tiny_dataset
    from synthlab.data import unity_dls
    from synthlab.learner import seg_learner
    from synthlab.export import export_onnx
    d = tmp_path_factory.mktemp('model')
    set_seed(0, reproducible=True)
    dls = unity_dls(tiny_dataset(n=8, size=(48, 64), path=d/'data'), size=(32, 64), bs=4, num_workers=0, cache=False)
    learn = seg_learner(dls, arch='resnet18')
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 3e-3)
    return learn, export_onnx(learn, d/'model.onnx', sizes=((64, 64),), exporter='torchscript', verbose=False) # the dynamo exporter takes minutes

@pytest.fixture(scope='module')
def standins(tmp_path_factory):
    d = tmp_path_factory.mktemp('real')
    return {enc: make_real_standin(d/enc, n=4, encoding=enc) for enc in ('index', 'ade20k')}

@pytest.mark.parametrize('encoding', ['index', 'ade20k'])
def test_evaluate_onnx_and_learner(tiny_onnx, standins, encoding):
    learn, onnx = tiny_onnx
    rs = load_real(standins[encoding], encoding=encoding)
    assert rs.encoding == encoding
    masks = [rs.mask(i) for i in range(len(rs))]
    labelled = sum(int((m != 255).sum()) for m in masks)
    assert 0 < labelled < sum(m.size for m in masks) # void and the carpet are ignored, the rest is scored
    ev = evaluate(onnx, rs, max_side=64)
    c = ev.confusion.to_numpy()
    assert c.sum() == labelled
    present = sorted({int(v) for m in masks for v in np.unique(m) if v != 255})
    assert list(np.flatnonzero(ev.iou.notna())) == present
    np.testing.assert_allclose(ev.miou, ev.iou.dropna().mean())
    np.testing.assert_allclose(ev.pixel_acc, np.trace(c)/c.sum())
    assert set(ev.table()['class']) >= {CODES[i] for i in present}
    ev_l = evaluate(learn, rs, max_side=64)
    assert abs(ev_l.pixel_acc - ev.pixel_acc) < 0.01 # PyTorch and ONNX agree
    # the same photos in the other encoding give the same masks and scores
    other = load_real(standins['ade20k' if encoding == 'index' else 'index'])
    for i in range(len(rs)): np.testing.assert_array_equal(other.mask(i), masks[i])

def test_subset_and_codes(standins):
    rs = load_real(standins['index'])
    sub = rs.subset([3, 1])
    assert len(sub) == 2 and sub.items == [rs.items[3], rs.items[1]]
    np.testing.assert_array_equal(sub.mask(0), rs.mask(3))
    with pytest.raises(SynthlabError, match="not a class of the model"): load_real(standins['index'], codes=['void', 'building_wall'])

def _copy(src:Path, dst:Path)->Path:
    import shutil; shutil.copytree(src, dst); return dst

def test_bad_sets(tmp_path):
    good = write_hand_set(tmp_path/'good', 'index')
    d = _copy(good, tmp_path/'missing')
    (d/'labels'/'img1_mask.png').unlink()
    with pytest.raises(SynthlabError, match='no label for images/img1.jpg') as e: load_real(d)
    assert 'img1.png' in str(e.value) and 'How to fix' in str(e.value)
    d = _copy(good, tmp_path/'size')
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(d/'labels'/'img0_mask.png')
    with pytest.raises(SynthlabError, match=r'label is 5 x 4 but images/img0.jpg is 4 x 4') as e: load_real(d)
    assert 'img0_mask.png' in str(e.value)
    d = _copy(good, tmp_path/'mapping')
    (d/'mapping.csv').write_text('real_class,unity_class\nwall,building_wal\n')
    with pytest.raises(SynthlabError, match="'wall' maps to 'building_wal', which is not a class of the model") as e: load_real(d)
    assert 'mapping.csv' in str(e.value) and "did you mean 'building_wall'" in str(e.value)
    (d/'mapping.csv').write_text('real_class,unity_class\nwal,building_wall\n')
    with pytest.raises(SynthlabError, match="real class 'wal' is not in classes.txt"): load_real(d)
    d = _copy(good, tmp_path/'value')
    (d/'classes.txt').write_text('255\tunlabeled\n7\twall\n8\tfloor, flooring\n') # 9 (plant) is missing
    (d/'mapping.csv').write_text('real_class,unity_class\nwall,building_wall\n')
    with pytest.raises(SynthlabError, match=r'label value\(s\) 9 \(3 px\) not in classes.txt') as e: load_real(d)
    assert 'img0_mask.png' in str(e.value)
    d = _copy(good, tmp_path/'noclasses')
    (d/'classes.txt').unlink()
    with pytest.raises(SynthlabError, match='classes.txt not found'): load_real(d)
    with pytest.raises(SynthlabError, match="pass encoding='ade20k'"): load_real(write_hand_set(tmp_path/'ade', 'ade20k'), encoding='index')

def test_cli_evaluate(tiny_onnx, standins, tmp_path, capsys):
    from synthlab.cli import main
    _, onnx = tiny_onnx
    assert main(['evaluate', str(onnx), str(standins['ade20k']), '--max-side', '64', '--out', str(tmp_path/'t.csv')]) == 0
    out = capsys.readouterr().out
    assert "encoding 'ade20k'" in out and 'building_wall' in out and 'mIoU' in out
    t = pd.read_csv(tmp_path/'t.csv')
    ev = evaluate(onnx, standins['ade20k'], max_side=64)
    np.testing.assert_allclose(t.set_index('class').iou.dropna(), ev.table().set_index('class').iou.dropna())
    bad = write_hand_set(tmp_path/'bad', 'index'); (bad/'labels'/'img0_mask.png').unlink()
    assert main(['evaluate', str(onnx), str(bad)]) == 2
    err = capsys.readouterr().err
    assert 'no label for images/img0.jpg' in err and 'Traceback' not in err

def test_gap_report(tiny_onnx, standins, tmp_path):
    "The pipeline's real-set step writes its files and `report.md` gets the gap section"
    from synthlab.evaluate import real_gap
    from synthlab.report import SUMMARY, write_report
    from synthlab.core import write_json
    _, onnx = tiny_onnx
    syn = {'building_wall': 0.8, 'building_floor': 0.7}
    s = real_gap(onnx, load_real(standins['index']), tmp_path, synthetic=syn, n_show=2)
    assert {'real_gap.png', 'real_iou.csv', 'real_scores.csv'} <= {f.name for f in tmp_path.iterdir()}
    g = pd.read_csv(tmp_path/'real_iou.csv').set_index('class')
    ev = evaluate(onnx, standins['index'])
    np.testing.assert_allclose(g.loc['building_wall', 'gap'], 0.8 - ev.iou['building_wall'], atol=1e-6)
    assert len(s['worst']) == 2 and s['worst'][0]['miou'] <= s['worst'][1]['miou']
    write_json(tmp_path/SUMMARY, {'name': 'r', 'real': s})
    md = write_report(tmp_path).read_text()
    assert '## Real images: the synthetic-to-real gap' in md and '![photo, truth, prediction, errors](real_gap.png)' in md
    assert f"mIoU **{s['miou']}**" in md and '| building_wall | 0.8000 |' in md

def test_demo_real_bad_set_fails_before_training(tmp_path, capsys):
    "`synthlab demo --real` checks the real set right after the data step, with the usual clean error"
    from synthlab.cli import main
    bad = write_hand_set(tmp_path/'bad', 'index'); (bad/'mapping.csv').write_text('real_class,unity_class\nwall,walls\n')
    assert main(['demo', '--profile', 'tiny', '--run', str(tmp_path/'run'), '--real', str(bad)]) == 2
    err = capsys.readouterr().err
    assert "maps to 'walls', which is not a class of the model" in err and 'Traceback' not in err
    assert not (tmp_path/'run'/'stages').exists() # nothing was trained
