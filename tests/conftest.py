import os
import subprocess
import sys
from pathlib import Path

import pytest

# tests/tools/tiny_setup.py is imported by the tool tests as a plain module.
sys.path.insert(0, str(Path(__file__).parent / 'tools'))

from tiny_setup import write_nsrm_layout, write_tiny_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def tiny_trained(tmp_path_factory):
    """(root, config, checkpoint) of a tiny NSRM (64 x 64) trained 1 epoch
    through tools/train.py, shared by the tests that need a checkpoint."""
    root = tmp_path_factory.mktemp('tiny_trained')
    write_nsrm_layout(root / 'data')
    config = write_tiny_config(root / 'tiny.py', root / 'data', epochs=1)
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(config), '--work-dir',
         str(root / 'work')], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    return root, config, root / 'work' / 'epoch_1.pth'


@pytest.fixture
def write_random_state():
    """``write(shapes, path) -> state``: a state dict of random tensors of
    the given ``{key: shape}`` (batch-norm counters as integers), saved to
    ``path`` as a stand-in for a downloaded torchvision checkpoint."""
    import torch

    def write(shapes, path):
        generator = torch.Generator().manual_seed(0)
        state = {key: (torch.randint(0, 100, shape, generator=generator)
                       if key.endswith('num_batches_tracked') else
                       torch.randn(shape, generator=generator))
                 for key, shape in shapes.items()}
        torch.save(state, path)
        return state
    return write


@pytest.fixture
def fixed_threads():
    """Run the test on 1 intra-op thread (restoring the count afterwards):
    a test that trains to an accuracy threshold then sums its floats in the
    same order on any machine, whatever its core count or OMP_NUM_THREADS
    (tests/models/test_overfitting.py uses it for every test)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
