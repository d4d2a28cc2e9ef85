from types import SimpleNamespace

import pytest
import torch

from handkit.engine.hooks import LossWeightDecayHook


class StructureMaskHead(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.loss_weight, self.loss_weight_g6 = 0.1, 0.02


class KeypointMapHead(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.loss_weight = 1.0


def _runner():
    model = torch.nn.Module()
    model.heads = torch.nn.ModuleList([StructureMaskHead(), KeypointMapHead()])
    return SimpleNamespace(model=model, epoch=0, iter=0)


def test_weights_decay_by_gamma_every_step_epochs():
    runner = _runner()
    hook = LossWeightDecayHook(gamma=0.1, step=20)
    hook.before_train(runner)
    structure, keypoints = runner.model.heads
    seen = {}
    for epoch in (0, 19, 20, 39, 40):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        seen[epoch] = (structure.loss_weight, structure.loss_weight_g6)
    assert seen[0] == seen[19] == (0.1, 0.02)
    assert seen[20] == pytest.approx((0.01, 0.002))
    assert seen[39] == pytest.approx((0.01, 0.002))
    assert seen[40] == pytest.approx((0.001, 0.0002))
    assert keypoints.loss_weight == 1.0  # only the structure head decays


def test_resumed_run_gets_the_weight_of_its_epoch():
    runner = _runner()
    runner.epoch = 45  # resumed: the model holds the config's weights again
    hook = LossWeightDecayHook(gamma=0.5, step=20)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert runner.model.heads[0].loss_weight == pytest.approx(0.1 * 0.25)


def test_iteration_based_decay_and_bad_arguments():
    runner = _runner()
    hook = LossWeightDecayHook(gamma=0.1, step=100, by_epoch=False)
    hook.before_train(runner)
    runner.iter = 250
    hook.before_train_iter(runner, 0)
    assert runner.model.heads[0].loss_weight == pytest.approx(0.001)
    with pytest.raises(ValueError, match='step must be > 0'):
        LossWeightDecayHook(step=0)
    with pytest.raises(ValueError, match="no head of type \\('Missing',\\)"):
        LossWeightDecayHook(head_types=['Missing']).before_train(_runner())
