import json, shutil
import pytest
from fastai.callback.core import Callback
from fastai.learner import Recorder
from synthlab.core import SynthlabError
from synthlab.test_utils import tiny_dataset
from synthlab.unity import load_unity
import torch
from synthlab.core import write_json
from synthlab.upscale import UpscaleRun, go_big, plan_stages, read_manifest, results_table, stage_history, MANIFEST, RESULT_COLS

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "Ten 64x64 classic-layout renders"
    return tiny_dataset(n=10, size=(64, 64), path=tmp_path_factory.mktemp('tiny')/'ds')

class _Crash(Callback):
    "Stop the process (as a kill would) after the first epoch of the 2-epoch stage, once its checkpoint is written"
    order = Recorder.order + 3
    def after_epoch(self):
        if self.n_epoch == 2 and self.epoch == 0: raise KeyboardInterrupt('simulated crash')

def test_resume_inside_a_stage(tiny, tmp_path, monkeypatch):
    "A run killed in the middle of stage 2 goes on at its next epoch, reading its checkpoint once; stage 1 is not run again"
    ds = load_unity(tiny, check=False)
    kw = dict(sizes=[(32, 64), (64, 64)], epochs=(1, 2), lrs=3e-3, bs=8, arch='resnet18', num_workers=0,
              dls_kwargs=dict(cache=tmp_path/'cache'), tensorboard=False, plot=False, progress=False)
    run = tmp_path/'run'
    with pytest.raises(KeyboardInterrupt):
        go_big(ds, path=run, cbs=[_Crash()], **kw)
    m1 = read_manifest(run)
    assert [s['size'] for s in m1['stages']] == [[32, 64]]
    assert [s['bs'] for s in m1['plan']] == [8, 4]  # area rule: (32*64)/(64*64) halves the batch size
    assert (run/'stage2_64x64'/'checkpoints'/'epoch_000.pth').exists()
    loads,load = [],torch.load
    def counting_load(f, *args, **kwargs):
        loads.append(str(f))
        return load(f, *args, **kwargs)
    monkeypatch.setattr(torch, 'load', counting_load)
    learn,res = go_big(ds, path=run, **kw)
    monkeypatch.undo()
    assert [f for f in loads if 'checkpoints' in f] == [str(run/'stage2_64x64'/'checkpoints'/'epoch_000.pth')]  # one checkpoint load
    assert not [f for f in loads if f.endswith('model.pth')]  # the resumed stage does not read the previous stage's weights again
    m = read_manifest(run)
    assert m['stages'][0] == m1['stages'][0]
    s2 = m['stages'][1]
    assert [h['epoch'] for h in s2['history']] == [0, 1]  # epoch 0 from the killed session, epoch 1 after resuming
    assert s2['history'][1]['time'] > s2['history'][0]['time']
    assert s2['start_valid_loss'] is not None and s2['epochs'] == 2
    assert list(res['Resolution']) == ['32 x 64', '64 x 64']
    assert list(res.columns) == RESULT_COLS
    assert not list(run.glob('stage*/checkpoints/epoch_*.pth'))
    assert json.loads((run/'stage2_64x64'/'model.json').read_text())['size'] == [64, 64]
    assert len(stage_history(run)) == 3
    assert (run/'results.md').read_text().count('\n') == 4
    shutil.rmtree(run)  # a resnet18 U-Net's weights and best checkpoint: ~250 MB per stage

def test_refuses_stage_larger_than_renders(tiny, tmp_path):
    with pytest.raises(SynthlabError) as e:
        go_big(str(tiny), sizes=(64, 128), path=tmp_path/'run')
    msg = str(e.value)
    assert '128 x 128' in msg and '(64 x 64)' in msg and 'upsample=True' in msg and str(tiny) in msg
    assert not (tmp_path/'run').exists()
    run = UpscaleRun(tiny, sizes=(64, 128), bs=8, upsample=True, path=tmp_path/'up')  # allowed when asked (nothing trained yet)
    assert [p['bs'] for p in run.plan] == [8, 2] and not run.done

def test_warns_on_sizes_not_multiple_of_32(tiny, tmp_path):
    with pytest.warns(UserWarning, match='not a multiple of 32'):
        UpscaleRun(tiny, sizes=(48, 64), path=tmp_path/'run')

def test_bad_schedules(tiny, tmp_path):
    with pytest.raises(SynthlabError, match='epochs has 3 values for 2 stages'): plan_stages((32, 64), epochs=(1, 2, 3))
    with pytest.raises(SynthlabError, match='neither a positive int'): plan_stages(('big', 64))
    # a folder whose finished stages do not match the new schedule, or another arch, is refused
    run = tmp_path/'run'
    UpscaleRun(tiny, sizes=(32, 64), arch='resnet18', path=run)
    m = read_manifest(run)
    m['stages'] = [dict(m['plan'][0], time=1.0, history=[])]
    write_json(run/MANIFEST, m)
    with pytest.raises(SynthlabError, match='do not start the schedule'): UpscaleRun(tiny, sizes=(64,), arch='resnet18', path=run)
    with pytest.raises(SynthlabError, match='resnet18 run, not resnet34'): UpscaleRun(tiny, sizes=(32, 64), arch='resnet34', path=run)
    assert len(UpscaleRun(tiny, sizes=(32, 64), arch='resnet34', path=run, resume=False).done) == 0  # start again
    assert results_table(run).empty

def test_broken_manifest_is_named(tmp_path):
    (tmp_path/MANIFEST).write_text('{"stages": [')
    with pytest.raises(SynthlabError, match='not valid JSON') as e: read_manifest(tmp_path)
    assert str(tmp_path/MANIFEST) in str(e.value)
    with pytest.raises(SynthlabError, match='no stage manifest'): read_manifest(tmp_path/'nothing')
