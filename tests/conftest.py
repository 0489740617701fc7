import os
from pathlib import Path
import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')
REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO/'tests'/'unity_samples' # real Unity output copied into the repo (see its PROVENANCE.md)

@pytest.fixture(scope='session')
def samples():
    "The real Unity sample files in tests/unity_samples (part of the repo: a fresh clone runs every test)"
    assert (SAMPLES/'PROVENANCE.md').exists(), f'{SAMPLES} is missing: it is part of the repository'
    return SAMPLES
