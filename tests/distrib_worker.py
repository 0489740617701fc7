"""Helper for tests/test_distributed.py: the `synthlab` CLI, run by `accelerate launch` or `torchrun` on each process.

    accelerate launch --multi_gpu --num_processes 2 tests/distrib_worker.py train DATA --run RUN ...

With `SYNTHLAB_TEST_EPOCH_SLEEP=s` every process sleeps `s` seconds after each epoch's checkpoint, so the test can
kill the run between two epochs.
"""
import os, sys, time
from synthlab.callbacks import RunCheckpoints
from synthlab.cli import main

_after_epoch = RunCheckpoints.after_epoch
def _slow_after_epoch(self):
    _after_epoch(self)
    time.sleep(float(os.environ.get('SYNTHLAB_TEST_EPOCH_SLEEP', 0)))

if __name__ == '__main__':
    RunCheckpoints.after_epoch = _slow_after_epoch
    sys.exit(main(sys.argv[1:]))
