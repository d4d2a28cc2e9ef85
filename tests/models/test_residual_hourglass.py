"""Tests of ResidualHourglass (Li and Wang): shapes, stride and input
checks."""
import pytest
import torch

from handkit.models.backbones.residual_hourglass import ResidualHourglass
from handkit.registry import MODELS


def test_output_is_stride_4():
    model = ResidualHourglass(in_channels=1, channels=16, order=3)
    assert model(torch.randn(2, 1, 128, 128)).shape == (2, 16, 32, 32)
    assert model(torch.randn(1, 1, 64, 96)).shape == (1, 16, 16, 24)


def test_order_and_residuals_set_depth():
    shallow = ResidualHourglass(channels=8, order=1, num_residual=1)
    deep = ResidualHourglass(channels=8, order=3, num_residual=3)
    assert shallow(torch.randn(1, 1, 32, 32)).shape == (1, 8, 8, 8)
    assert sum(p.numel() for p in deep.parameters()) > sum(
        p.numel() for p in shallow.parameters())


def test_registered_and_input_size_checked():
    model = MODELS.build(dict(type='ResidualHourglass', channels=8))
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.randn(1, 1, 100, 128))
    with pytest.raises(ValueError,
                       match='order and num_residual must be >= 1'):
        ResidualHourglass(order=0)
