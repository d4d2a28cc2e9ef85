"""Parameter, MAC and FPS helpers against hand counts."""
import pytest
import torch
from mmengine.config import Config
from torch import nn

from handkit.evaluation.complexity import (complexity_report, count_macs,
                                          count_parameters,
                                          format_complexity,
                                          input_shape_from_config,
                                          model_input_shape)
from handkit.errors import HandkitUserError
from handkit.models.ik import IKNet
from handkit.models.heads.local_regression_head import LocalRegressionHead


def tiny_net():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),             # (4, 5, 5)
        nn.Conv2d(4, 4, 3, padding=1, groups=2),   # (4, 5, 5)
        nn.ConvTranspose2d(4, 2, 2, stride=2),     # (2, 10, 10)
        nn.Flatten(), nn.Linear(200, 3))


def test_macs_and_parameters_of_a_tiny_net_by_hand():
    net = tiny_net()
    # conv: 100 outputs x 2 x 9; grouped: 100 x (4 / 2) x 9;
    # transposed: 100 inputs x 2 x 4; linear: 3 x 200
    assert count_macs(net, torch.zeros(2, 2, 5, 5)) == \
        1800 + 1800 + 800 + 600  # per sample, batch of 2
    assert count_parameters(net) == (72 + 4) + (72 + 4) + (32 + 2) + (
        600 + 3)


def test_local_regression_head_counts_its_patch_einsum():
    head = LocalRegressionHead(in_channels=2, num_joints=1,
                               feature_size=(4, 4), patch_grid=(2, 2),
                               patch_dim=3, hidden=5)
    # 4 patches x (2 x 2 x 2 inputs) x 3 + FC 12 -> 5 + FC 5 -> 3
    assert count_macs(head, torch.zeros(1, 2, 4, 4)) == 96 + 60 + 15


def test_complexity_report_and_input_shape_from_config():
    cfg = Config(dict(
        model=dict(backbone=dict(type='ResidualHourglass', in_channels=1)),
        test_dataloader=dict(dataset=dict(pipeline=dict(
            cube=dict(type='DepthCubeCrop', input_size=(12, 10)),
            pack=dict(type='PackHandInputs'))))))
    assert input_shape_from_config(cfg) == (1, 10, 12)
    report = complexity_report(tiny_net(), (2, 5, 5), batch_sizes=(1, 4),
                               device='cpu')
    assert report['macs'] == 5000 and report['params'] == 789
    assert set(report['fps']) == {1, 4} and min(report['fps'].values()) > 0
    params_line, backend_line, fps_line = format_complexity(
        report).splitlines()
    assert params_line == 'Params 0.001 M   MACs 0.000 G per 2x5x5 input'
    assert backend_line == 'backend: eager pytorch (cpu)'
    assert fps_line.startswith('FPS (cpu) batch 1: ')


def test_the_hourglass_speed_line_puts_the_paper_beside_ours():
    model = nn.Module()
    model.heads = nn.ModuleList([LocalRegressionHead(
        in_channels=2, num_joints=1, feature_size=(4, 4), patch_grid=(2, 2),
        patch_dim=3, hidden=5)])
    report = dict(params=10, macs=20, input_shape=(1, 4, 4), device='cpu',
                  backend='eager pytorch (cpu)', fps={1: 100.0, 32: 455.0})
    assert format_complexity(report, model).splitlines()[-1] == (
        'paper: 910 FPS, here 455.0 FPS (batch 32, cpu): 0.50 x [Li and '
        'Wang, abstract: "over 910 FPS on a single GPU"]')
    # other models have no paper figure
    assert len(format_complexity(report, tiny_net()).splitlines()) == 3


def test_speed_input_of_a_model_that_is_not_an_image_model():
    """IKNet states its input (84 x 3: joints, bones, rest pose, its
    bones); a model without a pipeline size or an input_shape gets one
    line naming its class."""
    no_pipeline = Config(dict(model=dict(type='IKNet')))
    iknet = IKNet(num_layers=2, width=8).eval()
    assert model_input_shape(iknet, no_pipeline) == (84, 3)
    report = complexity_report(iknet, (84, 3), batch_sizes=(2, ),
                               device='cpu')
    # Linear 252 -> 8, then 8 -> 84
    assert report['macs'] == 252 * 8 + 8 * 84
    assert 'per 84x3 input' in format_complexity(report)
    with pytest.raises(HandkitUserError, match=r'^--speed: Linear states '
                       r'no input_shape and cannot tell the network input '
                       r'size: the config has no test_dataloader'):
        model_input_shape(nn.Linear(2, 2), no_pipeline)
