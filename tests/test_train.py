import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from synthlab.core import SynthlabError
from synthlab.test_utils import tiny_dataset
from synthlab.train import train, resume, load_model
from synthlab.callbacks import checkpoints, last_checkpoint
from synthlab.spec import ModelSpec

REPO = Path(__file__).resolve().parents[1]
torch.set_num_threads(1) # the CI/test CPU is shared: one thread is far faster than two fighting

def _wait_for(cond, proc, timeout):
    t0 = time.time()
    while time.time()-t0 < timeout:
        if cond(): return True
        if proc.poll() is not None: return cond()
        time.sleep(0.05)
    return False

def test_sigkill_then_resume(tmp_path):
    data = tiny_dataset(n=8, size=(48,64), path=tmp_path/'data')
    run,epochs = tmp_path/'run',5
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'MPLBACKEND': 'Agg'}
    env.pop('IN_TEST', None)
    proc = subprocess.Popen([sys.executable, str(REPO/'tests'/'train_worker.py'), str(data), str(run), str(epochs)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        done = _wait_for(lambda: (run/'checkpoints'/'epoch_001.pth').exists(), proc, timeout=300)
        assert done, proc.stdout.read().decode()[-3000:] if proc.poll() is not None else 'no second checkpoint in time'
        assert proc.poll() is None, 'the run finished before it could be killed'
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None: proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (run/'model.json').exists()              # it really was interrupted
    fn,k = last_checkpoint(run)
    assert k >= 1                                       # the two completed epochs survived
    assert k < epochs-1
    learn,hist = resume(run, show=False, plot=True, tensorboard=False)
    assert list(hist.epoch) == list(range(epochs))      # one row per epoch, none repeated
    assert hist.train_loss.notna().all()
    cks = checkpoints(run)
    assert [f.name for f in cks] == [f'epoch_{i:03d}.pth' for i in range(epochs-2, epochs)]   # the last two are kept
    for f in cks + [run/'checkpoints'/'best.pth', run/'model.pth']:   # every file on disk reads back safely
        st = torch.load(f, map_location='cpu', weights_only=True)
        assert st
    assert not list((run/'checkpoints').glob('.*tmp'))
    assert (run/'metrics.png').exists() and (run/'model.json').exists()
    card = json.loads((run/'model.json').read_text())
    assert card['arch'] == 'resnet18' and ModelSpec.from_dict(card) == learn.spec and 'dice_multi' in card['metrics']
    learn2 = load_model(run)
    xb,_ = learn.dls.valid.one_batch()
    learn.model.eval()
    with torch.no_grad(): assert torch.allclose(learn2.model(xb), learn.model(xb), atol=1e-5)

def test_refuses_out_of_range_mask(tmp_path):
    data = tiny_dataset(n=6, size=(48,64), path=tmp_path/'data')
    masks = sorted((data/'labels').glob('*.png'))
    m = np.array(Image.open(masks[2])); m[5:9,5:9] = 77; Image.fromarray(m).save(masks[2])
    with pytest.raises(SynthlabError) as e:
        train(data, epochs=1, lr=1e-3, bs=2, path=tmp_path/'run', arch='resnet18', num_workers=0, tensorboard=False)
    assert masks[2].name in str(e.value)
    assert not checkpoints(tmp_path/'run')

def test_refuses_unknown_colour(tmp_path):
    data = tiny_dataset(fmt='solo', n=6, size=(48,64), path=tmp_path/'data')
    masks = sorted(data.rglob('*semantic segmentation.png'))
    assert masks
    a = np.array(Image.open(masks[1]).convert('RGBA')); a[2:6,2:6] = (1,2,250,255)
    Image.fromarray(a).save(masks[1])
    with pytest.raises(SynthlabError) as e:
        train(data, epochs=1, lr=1e-3, bs=2, path=tmp_path/'run', arch='resnet18', num_workers=0, tensorboard=False)
    assert str(masks[1]) in str(e.value)
    assert not checkpoints(tmp_path/'run')

def test_resume_refuses_non_run(tmp_path):
    with pytest.raises(SynthlabError, match='no run.json here'): resume(tmp_path)
