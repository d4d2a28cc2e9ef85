"""IKNet (Zhou et al., CVPR 2020) and the pre-training of Cai et al.'s depth
regulariser (ECCV 2018) train through tools/train.py like any config: a
run killed after a checkpoint and resumed with --resume ends bit-equal to
one that was never interrupted; IKNet's checkpoint serves init_model and
inverse_kinematics; the regulariser's checkpoint is what the frozen
ablation's load_from fills in, and stays as loaded there."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
IKNET = 'configs/zhou/iknet_synthetic.py'
PRETRAIN = 'configs/cai/cai_depth_regularizer_pretrain_synthetic.py'
FROZEN = 'configs/cai/cai_depth2d_frozen_regularizer_synthetic.py'
# 4 iterations, a checkpoint every 2, validation at the end
SCHEDULE = ['train_cfg.max_iters=4', 'train_cfg.val_interval=4',
            'default_hooks.checkpoint.interval=2',
            'default_hooks.logger.interval=1']
TINY_IKNET = SCHEDULE + [
    'model.width=16', 'train_dataloader.batch_size=8',
    'train_dataloader.dataset.num_samples=32',
    'val_dataloader.dataset.num_samples=8']
TINY_PRETRAIN = SCHEDULE + [
    'train_dataloader.batch_size=4',
    'train_dataloader.dataset.dataset.num_samples=12',
    'train_dataloader.dataset.dataset.cache_dir=None',
    'val_dataloader.dataset.dataset.num_samples=12',
    'val_dataloader.dataset.dataset.cache_dir=None']

# Dies (as a kill would) when the third iteration starts: iter_2.pth and
# last_checkpoint are written.
_KILLED_AT_ITER_3 = """
import os, runpy, sys
from mmengine.runner import IterBasedTrainLoop
run_iter = IterBasedTrainLoop.run_iter
def run_or_die(self, data_batch):
    if self._iter == 2:
        os._exit(9)
    run_iter(self, data_batch)
IterBasedTrainLoop.run_iter = run_or_die
sys.argv = ['tools/train.py'] + sys.argv[1:]
runpy.run_path('tools/train.py', run_name='__main__')
"""


def train(*args):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))


def killed_and_resumed_equals_straight(config, options, tmp_path):
    """Train ``config`` straight and killed + resumed; return the two
    work dirs after checking that their last checkpoints are equal."""
    straight, killed = tmp_path / 'straight', tmp_path / 'killed'
    result = train('tools/train.py', config, '--work-dir', straight,
                   '--cfg-options', *options)
    assert result.returncode == 0, result.stderr[-3000:]
    result = train('-c', _KILLED_AT_ITER_3, config, '--work-dir', killed,
                   '--cfg-options', *options)
    assert result.returncode == 9, result.stderr[-3000:]
    assert (killed / 'iter_2.pth').exists()
    assert not (killed / 'iter_4.pth').exists()
    result = train('tools/train.py', config, '--work-dir', killed,
                   '--resume', '--cfg-options', *options)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Advance dataloader 2 steps' in result.stdout + result.stderr
    expected = torch.load(straight / 'iter_4.pth', weights_only=True)
    resumed = torch.load(killed / 'iter_4.pth', weights_only=True)
    assert expected['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in expected['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    return straight, killed


def test_iknet_config_builds_the_paper_sized_model():
    cfg = Config.fromfile(str(ROOT / IKNET))
    init_default_scope('handkit')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == 5_605_460


def test_iknet_resumes_after_a_kill_and_serves_inverse_kinematics(tmp_path):
    from handkit.apis import init_model, inverse_kinematics
    from handkit.datasets.synthetic.joint_rotations import sample_ik_hands
    straight, _ = killed_and_resumed_equals_straight(IKNET, TINY_IKNET,
                                                     tmp_path)
    log = next(straight.glob('*/*.log')).read_text()
    assert 'rotation_error_deg: ' in log and 'fk_epe_mm: ' in log
    model = init_model(ROOT / IKNET, str(straight / 'iter_4.pth'),
                       cfg_options={'model.width': 16})
    hand = sample_ik_hands(np.random.default_rng(0), 1)['keypoints_3d'][0]
    rotations = inverse_kinematics(model, dict(keypoints_3d=hand),
                                   hand_side='right')
    assert rotations['quaternions'].shape == (21, 4)
    assert np.isfinite(rotations['ik_keypoints_3d']).all()


def test_regularizer_pretraining_resumes_and_chains_into_the_ablation(
        tmp_path):
    straight, _ = killed_and_resumed_equals_straight(PRETRAIN, TINY_PRETRAIN,
                                                     tmp_path)
    pretrained = torch.load(straight / 'iter_4.pth',
                            weights_only=True)['state_dict']
    assert pretrained and all(key.startswith('heads.1.depth_regularizer.')
                              for key in pretrained)
    # stage 2: load_from fills in the regulariser, which stays frozen
    stage2 = tmp_path / 'stage2'
    result = train('tools/train.py', FROZEN, '--work-dir', stage2,
                   '--cfg-options', f'load_from={straight / "iter_4.pth"}',
                   'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                   'train_dataloader.batch_size=4',
                   'train_dataloader.dataset.num_samples=4',
                   'train_dataloader.dataset.cache_dir=None',
                   'val_dataloader.dataset.num_samples=2',
                   'val_dataloader.dataset.cache_dir=None')
    assert result.returncode == 0, result.stderr[-3000:]
    trained = torch.load(stage2 / 'epoch_1.pth',
                         weights_only=True)['state_dict']
    assert set(pretrained) < set(trained)
    for key, value in pretrained.items():
        assert torch.equal(trained[key], value), key


def test_regularizer_starts_as_in_the_whole_model():
    """The pre-training builds stage 2's model: from the same seed its
    regulariser starts with the weights it would have there."""
    init_default_scope('handkit')
    torch.manual_seed(0)
    whole = MODELS.build(Config.fromfile(str(ROOT / FROZEN)).model)
    torch.manual_seed(0)
    pretrainer = MODELS.build(Config.fromfile(str(ROOT / PRETRAIN)).model)
    names = pretrainer.state_dict().keys()
    assert names and all(torch.equal(whole.state_dict()[name], value)
                         for name, value in pretrainer.state_dict().items())
    assert all(parameter.requires_grad
               for parameter in pretrainer.parameters())
    with pytest.raises(ValueError, match=r'the estimator must hold one '
                       r'DepthRegularizer, it holds \[\]'):
        MODELS.build(dict(type='DepthRegularizerPretrainer',
                          estimator=dict(type='IKNet', width=8)))
