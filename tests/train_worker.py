"""Helper for tests/test_train.py: train a tiny run in a separate process so the test can SIGKILL it.

    python tests/train_worker.py DATA_DIR RUN_DIR EPOCHS

Each epoch is followed by a short sleep so the test has time to kill the process between epochs
(the kill may also land mid-epoch or mid-checkpoint-write: atomic writes must cope with both).
"""
import sys, time
import torch
from fastai.callback.core import Callback
from fastai.vision.models import resnet18
from synthlab.train import train
from synthlab.callbacks import RunCheckpoints

class _Slow(Callback):
    order = RunCheckpoints.order+1
    def after_epoch(self): time.sleep(0.5)

if __name__ == '__main__':
    torch.set_num_threads(1)
    data,run,epochs = sys.argv[1],sys.argv[2],int(sys.argv[3])
    train(data, epochs=epochs, lr=3e-3, size=64, bs=2, path=run, arch=resnet18, num_workers=0,
          tensorboard=False, cbs=_Slow(), show=False, progress=False)
