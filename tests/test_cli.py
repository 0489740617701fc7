"""End to end: `synthlab demo --profile tiny` in a subprocess, every artefact, ONNX vs PyTorch, the other subcommands, bad input.

Sizes on the command line are HxW (height first); `--max-side` is the longer side."""
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONPATH': str(REPO)}

def synthlab(*args, cwd=None, timeout=900):
    "Run the `synthlab` console script's entry point in a fresh process"
    code = 'import sys; from synthlab.cli import main; sys.exit(main(sys.argv[1:]))'
    return subprocess.run([sys.executable, '-c', code, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=timeout)

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp('demo')
    r = synthlab('render', d/'data', '--n', '12', '--size', '72x96')
    assert r.returncode == 0, r.stderr
    r = synthlab('demo', '--profile', 'tiny', '--data', d/'data', '--run', d/'run')
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return d, r.stdout

def test_demo_writes_every_artefact(demo):
    d, out = demo
    run = d/'run'
    for f in ['report.md', 'summary.json', 'model.onnx', 'history.csv', 'audit.txt', 'preview.png',
              'metrics.png', 'stages.png', 'predictions.png', 'worst.png', 'valid_scores.csv', 'stages/stages.json', 'stages/results.md']:
        assert (run/f).exists() and (run/f).stat().st_size > 0, f
    for f in ['preview.png', 'predictions.png', 'metrics.png']: Image.open(run/f).verify()
    info = json.loads((run/'summary.json').read_text())
    # the final model is the last stage's training run: its config, weights, spec and IoU, written once, by `train`
    assert info['train_run'] == 'stages/stage2_64x64'
    for f in ['run.json', 'model.pth', 'model.json', 'per_class_iou.csv']: assert (run/info['train_run']/f).exists(), f
    assert json.loads((run/info['train_run']/'run.json').read_text())['epochs'] == 1   # train's config, not the summary
    assert not (run/'run.json').exists() and not (run/'model.pth').exists()
    assert info['perf']['deploy_size'] == '64 x 64'
    assert [s['Resolution'] for s in info['stages']] == ['32 x 32', '64 x 64']
    assert info['dataset']['images'] == 12 and info['perf']['fps'] > 0 and info['perf']['inference_peak_mb'] > 0
    rep = (run/'report.md').read_text()
    for section in ['## Configuration', '## Dataset', '## Did it converge?', '## Results per stage', '## Visual check',
                    '## Performance', '## Takeaways', '| 64 x 64 |']:
        assert section in rep, section
    assert 'TODO' not in rep
    assert 'Done in' in out

def test_onnx_predicts_the_same_masks_as_pytorch(demo):
    d, _ = demo
    run = d/'run'
    from synthlab.train import load_model
    from synthlab.infer import OnnxSegmenter
    from fastai.vision.all import PILImage
    learn = load_model(run/json.loads((run/'summary.json').read_text())['train_run']/'model.json')
    seg = OnnxSegmenter(run/'model.onnx')
    files = sorted((d/'data'/'screenshots').glob('*.png'))[:4]
    agree = []
    for fn in files:
        img = Image.open(fn).convert('RGB').resize((64, 64), Image.BILINEAR)
        torch_mask = np.asarray(learn.predict(PILImage.create(np.asarray(img)))[0])
        onnx_mask = seg.predict(np.asarray(img))
        assert onnx_mask.shape == torch_mask.shape == (64, 64)
        agree.append((onnx_mask == torch_mask).mean())
    assert min(agree) >= 0.999, agree

def test_predict_export_and_report_commands(demo, tmp_path):
    d, _ = demo
    run = d/'run'
    img = sorted((d/'data'/'screenshots').glob('*.png'))[0]
    r = synthlab('predict', run/'model.onnx', img, '--out', tmp_path/'pred')
    assert r.returncode == 0, r.stderr
    m = np.asarray(Image.open(tmp_path/'pred'/f'{img.stem}.mask.png'))
    assert m.shape == (72, 96) and m.max() < 24
    assert (tmp_path/'pred'/f'{img.stem}.overlay.png').exists()
    r = synthlab('predict', run, img, '--out', tmp_path/'small', '--max-side', '32')   # a run folder: its model.onnx
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(tmp_path/'small'/f'{img.stem}.mask.png')).shape == (72, 96)   # predicted at 32 x 64, back at the image size
    r = synthlab('export', run, '--out', tmp_path/'again.onnx')   # a demo run folder: the model of its `train_run`
    assert r.returncode == 0, r.stderr
    assert 'parity' in r.stdout and (tmp_path/'again.onnx').exists()
    (run/'report.md').unlink()
    r = synthlab('report', run)
    assert r.returncode == 0 and (run/'report.md').exists()

@pytest.mark.parametrize('args,msg', [
    (['demo', '--data', '/no/such/unity/folder', '--profile', 'tiny'], '/no/such/unity/folder'),
    (['demo', '--profile', 'huge'], "invalid choice: 'huge'"),
    (['train', '--size', 'big'], 'not a size'),
    (['predict', '/no/model.onnx', 'x.png'], 'ONNX file not found'),
    (['audit', '/no/such/folder'], '/no/such/folder'),
    (['report', '/tmp'], 'summary.json'),
    (['predict', '/no/model.onnx', 'x.png', '--size', '64'], 'unrecognized arguments: --size'),
])
def test_bad_arguments_give_clear_errors(args, msg):
    r = synthlab(*args, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert msg in r.stderr and 'Traceback' not in r.stderr

def test_bad_labels_stop_the_demo_before_training(tmp_path):
    r = synthlab('render', tmp_path/'data', '--n', '6', '--size', '48x64')
    assert r.returncode == 0, r.stderr
    bad = tmp_path/'data'/'labels'/'2.png'
    a = np.asarray(Image.open(bad)).copy(); a[0, 0] = 99
    Image.fromarray(a).save(bad)
    r = synthlab('demo', '--profile', 'tiny', '--data', tmp_path/'data', '--run', tmp_path/'run', timeout=300)
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    assert '2.png' in r.stderr or 'audit' in r.stderr
    assert not (tmp_path/'run'/'stages').exists()

def test_every_subcommand_has_help():
    for c in ['render', 'audit', 'train', 'go-big', 'export', 'predict', 'evaluate', 'report', 'demo', 'serve']:
        r = synthlab(c, '--help', timeout=60)
        assert r.returncode == 0 and f'usage: synthlab {c}' in r.stdout, c

def test_render_size_is_height_by_width(tmp_path):
    r = synthlab('render', tmp_path/'data', '--n', '2', '--size', '48x64', timeout=120)
    assert r.returncode == 0, r.stderr
    assert Image.open(sorted((tmp_path/'data'/'screenshots').glob('*.png'))[0]).size == (64, 48)   # PIL: (w, h)

_NO_FASTAPI = """import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('fastapi', 'uvicorn'): raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from synthlab.cli import main
sys.exit(main(['serve', 'model.onnx']))
"""

def test_serve_without_fastapi_says_what_to_install():
    r = subprocess.run([sys.executable, '-c', _NO_FASTAPI], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert 'synthlab[serve]' in r.stderr and 'Traceback' not in r.stderr, r.stderr
