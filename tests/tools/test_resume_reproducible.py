"""A run killed after an epoch and resumed ends bit-equal to one that was
never interrupted, with random augmentation on (docs/reliability.md)."""
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from handkit.engine.hooks.safe_checkpoint_hook import (rng_states,
                                                       set_rng_states)

ROOT = Path(__file__).resolve().parents[2]
AUGMENTED = ['train_cfg.max_epochs=2',
             'train_dataloader.dataset.pipeline.affine.prob=1.0',
             'train_dataloader.dataset.pipeline.color.prob=1.0']

# Dies (as a kill would) when the second epoch's first iteration starts:
# the epoch-1 checkpoints are written.
_KILLED_IN_EPOCH_2 = """
import os, runpy, sys
from mmengine.runner import EpochBasedTrainLoop
run_iter = EpochBasedTrainLoop.run_iter
def run_or_die(self, idx, data_batch):
    if self.runner.epoch == 1:
        os._exit(9)
    run_iter(self, idx, data_batch)
EpochBasedTrainLoop.run_iter = run_or_die
sys.argv = ['tools/train.py'] + sys.argv[1:]
runpy.run_path('tools/train.py', run_name='__main__')
"""


def train(*args):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_killed_and_resumed_with_augmentation_is_bit_equal(tiny_trained,
                                                           tmp_path):
    _, config, _ = tiny_trained
    straight, killed = tmp_path / 'straight', tmp_path / 'killed'
    result = train('tools/train.py', config, '--work-dir', straight,
                   '--cfg-options', *AUGMENTED)
    assert result.returncode == 0, result.stderr[-3000:]
    result = train('-c', _KILLED_IN_EPOCH_2, config, '--work-dir', killed,
                   '--cfg-options', *AUGMENTED)
    assert result.returncode == 9, result.stderr[-3000:]
    assert not (killed / 'epoch_2.pth').exists()
    result = train('tools/train.py', config, '--work-dir', killed,
                   '--resume', '--cfg-options', *AUGMENTED)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = torch.load(straight / 'epoch_2.pth', weights_only=True)
    resumed = torch.load(killed / 'epoch_2.pth', weights_only=True)
    assert expected['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in expected['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    # The generators' states are plain data (weights_only=True above).
    assert set(resumed['rng_states']) >= {'numpy', 'python', 'torch'}


def test_rng_states_round_trip():
    states = rng_states()
    drawn = (np.random.rand(3), random.random(), torch.rand(3))
    set_rng_states(states)
    again = (np.random.rand(3), random.random(), torch.rand(3))
    assert (drawn[0] == again[0]).all() and drawn[1] == again[1]
    assert torch.equal(drawn[2], again[2])
