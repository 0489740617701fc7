"Appearance adaptation (`synthlab.adapt`, the `real_frames=`/`--real-frames` hooks) and few-shot fine-tuning (`synthlab.finetune`)."
import sys
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from fastai.vision.core import PILImage, PILMask
from synthlab.core import SynthlabError, read_json
from synthlab.test_utils import tiny_dataset
from synthlab.unity import load_unity
from synthlab.adapt import ADAPT_METHODS, DEFAULT_ADAPT, RealStyle, load_frames
from synthlab.data import unity_dls

def mean_rgb(ims): return np.mean([np.asarray(i, dtype=float).reshape(-1, 3).mean(0) for i in ims], 0)

@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    return tiny_dataset(n=8, size=(48, 64), path=tmp_path_factory.mktemp('synth'))

@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    "Unlabelled 'real' frames: other renders with a warm cast and noise (a different look)"
    d,rng = tmp_path_factory.mktemp('frames'),np.random.default_rng(0)
    for i,o in enumerate(load_unity(tiny_dataset(n=5, size=(48, 64), seed=9), check=False).items):
        a = np.asarray(Image.open(o).convert('RGB')).astype(float)*[1.15, 0.8, 0.5] + [35, 20, 0] + rng.normal(0, 6, (48, 64, 3))
        Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(d/f'f{i}.jpg')
    return d

@pytest.mark.parametrize('method', ADAPT_METHODS)
def test_style_moves_colour_toward_frames(synth, frames, method):
    refs = load_frames(frames, size=(48, 64))
    imgs = [PILImage.create(o) for o in load_unity(synth, check=False).items]
    tfm = RealStyle(frames, method, p=1., size=(48, 64))
    styled = [tfm(o, split_idx=0) for o in imgs]
    target = mean_rgb(refs)
    before,after = np.linalg.norm(mean_rgb(imgs) - target),np.linalg.norm(mean_rgb(styled) - target)
    assert after < 0.6*before, (method, before, after)
    assert np.asarray(tfm(imgs[0], split_idx=1)).tobytes() == np.asarray(imgs[0]).tobytes() # off on validation
    m = PILMask.create(np.arange(48*64, dtype=np.uint8).reshape(48, 64) % 7)
    assert tfm(m, split_idx=0) is m # masks pass through

def test_style_is_reproducible(synth, frames):
    img = PILImage.create(load_unity(synth, check=False).items[0])
    outs = [np.asarray(RealStyle(frames, 'fda', p=1., seed=5)(img, split_idx=0)) for _ in range(2)]
    np.testing.assert_array_equal(*outs)
    assert not np.array_equal(outs[0], np.asarray(img))

def test_unity_dls_adapts_train_only(synth, frames):
    dls = unity_dls(synth, size=32, bs=4, real_frames=frames, adapt='hist', cache=False, progress=False)
    assert dls.adapt == dict(method='hist', p=0.5, frames=5)
    styles = [t for t in dls.train.after_item.fs if isinstance(t, RealStyle)]
    assert len(styles) == 1 and not any(isinstance(t, RealStyle) for t in dls.valid.after_item.fs if t.split_idx in (None, 1))
    dls.train.before_iter(); dls.valid.before_iter() # as iterating does: the pipelines learn their split (train 0, valid 1)
    assert (dls.train.after_item.split_idx, dls.valid.after_item.split_idx) == (0, 1)
    changed = 0
    for i in range(len(dls.train_ds)):
        item = dls.train_ds[i]
        xt,yt = dls.train.after_item(item)
        xv,yv = dls.valid.after_item(item) # the validation pipeline: resize only
        assert np.array_equal(np.asarray(yt), np.asarray(yv)) # masks identical
        changed += not np.array_equal(np.asarray(xt), np.asarray(xv))
    assert 0 < changed <= len(dls.train_ds) # p=0.5: some restyled
    x,y = dls.valid.one_batch() # validation images are not restyled: same as without adaptation
    x0,_ = unity_dls(synth, size=32, bs=4, cache=False, progress=False).valid.one_batch()
    torch.testing.assert_close(x, x0)

def test_adapt_needs_frames(synth, tmp_path):
    with pytest.raises(SynthlabError, match='needs real frames'): unity_dls(synth, size=32, adapt='fda', progress=False)
    with pytest.raises(SynthlabError, match='does not exist'): unity_dls(synth, size=32, real_frames=tmp_path/'nope', progress=False)
    (tmp_path/'empty').mkdir()
    with pytest.raises(SynthlabError, match='no real frames'): unity_dls(synth, size=32, real_frames=tmp_path/'empty', progress=False)

def test_missing_albumentations_says_how_to_install(frames, monkeypatch):
    monkeypatch.setitem(sys.modules, 'albumentations', None) # `import albumentations` now raises ImportError
    with pytest.raises(SynthlabError, match=r"pip install 'synthlab\[adapt\]'"): RealStyle(frames)

@pytest.fixture(scope='module')
def run(synth, frames, tmp_path_factory):
    "A resnet18 trained one epoch at 32 px through the CLI with `--real-frames --adapt hist`"
    from synthlab.cli import main
    path = tmp_path_factory.mktemp('runs')/'run'
    rc = main(['train', str(synth), '--run', str(path), '--epochs', '1', '--size', '32', '--lr', '1e-3', '--arch', 'resnet18',
               '--real-frames', str(frames), '--adapt', 'hist'])
    assert rc == 0
    return path

def test_cli_train_records_adaptation(run, frames):
    cfg = read_json(run/'run.json')
    assert cfg['adapt'] == dict(method='hist', p=0.5, frames=5)
    assert cfg['dls_kwargs']['real_frames'] == str(frames) and cfg['dls_kwargs']['adapt'] == 'hist'
    assert (run/'model.pth').exists() and (run/'model.json').exists()

@pytest.fixture(scope='module')
def real(tmp_path_factory):
    from synthlab.real import load_real, make_real_standin
    return load_real(make_real_standin(tmp_path_factory.mktemp('real')/'set', n=6, size=(48, 64)))

def test_finetune_scores_and_saves(run, real, tmp_path):
    from synthlab.finetune import finetune
    from synthlab.learner import load_model
    learn,scores = finetune(run, real, k=4, epochs=1, path=tmp_path/'ft', progress=False, show=False)
    assert list(scores.columns) == ['before', 'after', 'change']
    assert scores[['before', 'after']].notna().all().all(), scores
    assert ((scores[['before', 'after']] >= 0) & (scores[['before', 'after']] <= 1)).all().all()
    assert scores.attrs['k'] == 4 and scores.attrs['held_out'] == 2 and isinstance(scores.attrs['forgot'], bool)
    fj = read_json(tmp_path/'ft'/'finetune.json')
    assert fj['lr'] == pytest.approx(1e-3/3) # a third of the run's lr
    assert len(fj['train_items']) == 4 and not set(fj['train_items']) & set(fj['held_out_items'])
    assert fj['scores']['after']['real held-out mIoU'] == pytest.approx(scores.loc['real held-out mIoU', 'after'])
    back = load_model(tmp_path/'ft')
    sd,sd2 = learn.model.state_dict(),back.model.state_dict()
    assert all(torch.equal(sd[k].cpu(), sd2[k].cpu()) for k in sd)
    assert back.spec.codes == learn.spec.codes
    from synthlab.evaluate import evaluate
    assert evaluate(back, real, keep_preds=False).miou == pytest.approx(evaluate(learn, real, keep_preds=False).miou)

def test_finetune_ignores_unlabelled_pixels(run, real, tmp_path):
    from synthlab.finetune import finetune, MaskedJaccard
    learn,_ = finetune(run, real, k=2, epochs=1, repeat=1, path=tmp_path/'ft', progress=False, show=False)
    x,y = learn.dls.train.one_batch()
    assert (y == 255).any() # the stand-in labels leave void pixels unlabelled
    with torch.no_grad(): pred = learn.model.eval()(x)
    keep = y != 255
    ref = torch.nn.functional.cross_entropy(pred.permute(0, 2, 3, 1)[keep], y[keep].long())
    torch.testing.assert_close(learn.loss_func(pred, y), ref)
    m = MaskedJaccard(255); m.reset()
    class L: pass
    l = L(); l.pred,l.y = pred,y; m.accumulate(l)
    p = pred.argmax(1)[keep]; t = y[keep]
    ious = [((p == c) & (t == c)).sum().item()/((p == c) | (t == c)).sum().item() for c in range(pred.shape[1]) if ((p == c) | (t == c)).any()]
    assert m.value == pytest.approx(np.mean(ious))

def test_finetune_bad_input(run, real, tmp_path):
    from synthlab.finetune import finetune
    from synthlab.learner import load_model
    with pytest.raises(SynthlabError, match='k=9'): finetune(run, real, k=9, epochs=1, path=tmp_path/'a', progress=False)
    learn = load_model(run)
    learn.path = tmp_path # no run.json there: no synthetic data known
    with pytest.raises(SynthlabError, match='no synthetic data'): finetune(learn, real, k=2, epochs=1, path=tmp_path/'b', progress=False)
