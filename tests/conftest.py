import os
from pathlib import Path
import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')
REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent/'shared'/'unity_samples'

@pytest.fixture(scope='session')
def samples():
    "The real Unity output in ../shared/unity_samples (skips the test when the folder is absent)"
    if not SAMPLES.exists(): pytest.skip(f'{SAMPLES} not found')
    return SAMPLES
