"""Data-parallel training for real on this CPU: 2 processes (gloo) under `accelerate launch`, killed, resumed under `torchrun`."""
import importlib.util, json, os, signal, socket, subprocess, sys, time
from pathlib import Path
import pandas as pd
import psutil # installed with accelerate
import torch
from synthlab.test_utils import tiny_dataset
from synthlab.callbacks import checkpoints
from synthlab.data import unity_dls
from synthlab.learner import load_model

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO/'tests'/'distrib_worker.py'
BIN = Path(sys.executable).parent
TIMEOUT = 240 # seconds for one launch (a hang fails the test instead of blocking CI)

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _env(tmp):
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': '',
           'HF_HOME': str(tmp/'hf'), 'SYNTHLAB_HOME': str(tmp/'home'), 'SYNTHLAB_TEST_EPOCH_SLEEP': '1'}
    env.pop('IN_TEST', None); env.pop('WORLD_SIZE', None); env.pop('RANK', None)
    return env

def _launch(cmd, env, log):
    return subprocess.Popen(cmd, env=env, stdout=log.open('wb'), stderr=subprocess.STDOUT, cwd=REPO)

def _stop(proc):
    "SIGKILL the launcher and every process under it (torch elastic starts the ranks in sessions of their own)"
    try: tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess: tree = []
    for q in tree:
        try: q.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess: pass
    psutil.wait_procs(tree, timeout=30)
    proc.wait(30)

def _wait_for(cond, proc, timeout):
    t0 = time.time()
    while time.time()-t0 < timeout:
        if cond(): return True
        if proc.poll() is not None: return cond()
        time.sleep(0.05)
    return False

def test_two_processes_kill_resume(tmp_path):
    data = tiny_dataset(n=10, size=(32, 32), path=tmp_path/'data')
    run, env = tmp_path/'run', _env(tmp_path)
    args = ['train', str(data), '--run', str(run), '--epochs', '3', '--lr', '3e-3', '--size', '32', '--bs', '2', '--arch', 'resnet18']
    # 1. accelerate launch, 2 processes; killed (SIGKILL, every rank) once 2 of the 3 epochs are checkpointed
    acc = [str(BIN/'accelerate'), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
           '--dynamo_backend', 'no', '--main_process_port', str(_free_port()), str(WORKER)]
    p = _launch(acc + args, env, tmp_path/'accelerate.log')
    try: done = _wait_for(lambda: (run/'checkpoints'/'epoch_001.pth').exists(), p, TIMEOUT)
    finally: alive = p.poll() is None; _stop(p)
    log = (tmp_path/'accelerate.log').read_text(errors='replace')
    assert done and alive, log[-4000:]
    assert not (run/'model.json').exists()                        # it really was interrupted
    cfg = json.loads((run/'run.json').read_text())
    assert (cfg['n_procs'], cfg['bs'], cfg['global_bs']) == (2, 2, 4)  # bs is per process
    # 2. torchrun, 2 processes: resume; every rank loads the same checkpoint, rank 0 writes
    tr = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '--', str(WORKER), 'train', '--resume', '--run', str(run)]
    env['SYNTHLAB_TEST_EPOCH_SLEEP'] = '0'
    p = _launch(tr, env, tmp_path/'torchrun.log')
    try: p.wait(TIMEOUT)
    except subprocess.TimeoutExpired: pass
    finally: rc = p.poll(); _stop(p)
    log = (tmp_path/'torchrun.log').read_text(errors='replace')
    assert rc == 0, log[-4000:]
    assert log.count('Resuming at epoch 2 of 3') == 2, log[-4000:]   # both ranks, from the same epoch
    hist = pd.read_csv(run/'history.csv')
    assert list(hist.epoch) == [0, 1, 2]                          # each epoch once (rank 0 alone writes it)
    assert hist.train_loss.notna().all() and hist.dice_multi.notna().all()
    assert [f.name for f in checkpoints(run)] == ['epoch_001.pth', 'epoch_002.pth']  # one set of checkpoints
    assert (run/'checkpoints'/'best.pth').exists() and not list(run.rglob('.*.tmp'))
    if importlib.util.find_spec('tensorboard'):                   # one events file per session, from rank 0 only
        assert len(list((run/'tensorboard').glob('events.out.tfevents.*'))) == 2
    card = json.loads((run/'model.json').read_text())
    assert card['arch'] == 'resnet18' and card['metrics']['dice_multi'] == hist.dice_multi.iloc[-1]
    # 3. the model loads in a single process; its valid Dice there is the one the 2 processes logged (whole valid set)
    torch.set_num_threads(1)
    dls = unity_dls(data, size=32, bs=2, valid_files=cfg['valid_files'], num_workers=0, cache=False)
    learn = load_model(run, dls=dls)
    with learn.no_bar(), learn.no_logging(): loss, fg, dice, iou = learn.validate()
    assert abs(dice - hist.dice_multi.iloc[-1]) < 1e-4, (dice, hist.dice_multi.iloc[-1])
    assert abs(iou - hist.jaccard_coeff_multi.iloc[-1]) < 1e-4
