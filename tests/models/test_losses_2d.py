"""Tests of the 2D losses against hand-computed values (NSRM eq. 5 and 7)."""
import math

import pytest
import torch

from handkit.models.losses.heatmap_mse import HeatmapMSELoss
from handkit.models.losses.mask_cross_entropy import MaskCrossEntropyLoss
from handkit.registry import MODELS

LOG2 = math.log(2.0)
LOG4_3 = math.log(4.0 / 3.0)


def maps(*rows):
    """(1, 1, h, w) tensor from rows of numbers."""
    return torch.tensor(rows, dtype=torch.float32)[None, None]


def test_heatmap_mse_single_stage_hand_value():
    prediction = maps([1.0, 0.0], [0.0, 0.0])
    target = maps([0.5, 0.0], [0.0, 1.0])
    # (0.5^2 + 0 + 0 + 1^2) / (B * h * w) = 1.25 / 4
    loss = HeatmapMSELoss()([prediction], target)
    assert loss.item() == pytest.approx(0.3125)


def test_heatmap_mse_sums_stages_and_keypoints():
    target = torch.zeros(1, 2, 2, 2)
    stage_1 = torch.zeros(1, 2, 2, 2)
    stage_1[0, 0, 0, 0] = 2.0       # 4
    stage_1[0, 1, 1, 1] = 1.0       # 1
    stage_2 = torch.full((1, 2, 2, 2), 0.5)  # 8 pixels * 0.25 = 2
    loss = HeatmapMSELoss()([stage_1, stage_2], target)
    assert loss.item() == pytest.approx((4 + 1 + 2) / 4)


def test_heatmap_mse_weights_zero_invisible_keypoints_and_batch_norm():
    target = torch.zeros(2, 2, 2, 2)
    prediction = torch.ones(2, 2, 2, 2)
    weights = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # 3 weighted channels of 4 pixels with error 1, over B * h * w = 8
    loss = HeatmapMSELoss()([prediction], target, weights)
    assert loss.item() == pytest.approx(12 / 8)
    # the invisible keypoint's prediction does not matter at all
    prediction[0, 1] = 100.0
    assert HeatmapMSELoss()([prediction], target, weights).item() == \
        pytest.approx(12 / 8)
    assert HeatmapMSELoss()([prediction], target).item() > 1000


def test_heatmap_mse_shape_errors():
    with pytest.raises(ValueError, match=r'target has \(1, 1, 2, 2\)'):
        HeatmapMSELoss()([torch.zeros(1, 2, 2, 2)], torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r'weights have shape \(1, 3\)'):
        HeatmapMSELoss()([torch.zeros(1, 2, 2, 2)], torch.zeros(1, 2, 2, 2),
                         torch.ones(1, 3))
    with pytest.raises(ValueError, match='no stage outputs'):
        HeatmapMSELoss()([], torch.zeros(1, 2, 2, 2))


def test_mask_cross_entropy_hand_value():
    ln3 = math.log(3.0)
    logits = maps([0.0, ln3], [-ln3, 0.0])  # sigmoid: 0.5, 0.75, 0.25, 0.5
    target = maps([1.0, 1.0], [0.0, 0.5])
    # -log 0.5, -log 0.75, -log 0.75, -(0.5 log 0.5 + 0.5 log 0.5)
    expected = (LOG2 + LOG4_3 + LOG4_3 + LOG2) / 4
    loss = MaskCrossEntropyLoss()([logits], target)
    assert loss.item() == pytest.approx(expected)


def test_mask_cross_entropy_soft_target():
    logits = maps([math.log(3.0)])  # sigmoid 0.75
    target = maps([0.5])
    expected = -(0.5 * math.log(0.75) + 0.5 * math.log(0.25))
    assert MaskCrossEntropyLoss()([logits], target).item() == \
        pytest.approx(expected)


def test_mask_cross_entropy_sums_stages_channels_over_batch_pixels():
    # zero logits cost log 2 per pixel whatever the target
    logits = torch.zeros(2, 3, 4, 4)
    target = torch.rand(2, 3, 4, 4)
    loss = MaskCrossEntropyLoss()([logits, logits], target)
    # 2 stages * 2 * 3 * 16 values * log 2 / (B * h * w = 32)
    assert loss.item() == pytest.approx(2 * 3 * LOG2, rel=1e-6)


def test_mask_cross_entropy_is_stable_for_large_logits():
    logits = maps([100.0, -100.0])
    assert MaskCrossEntropyLoss()([logits], maps([1.0, 0.0])).item() == \
        pytest.approx(0.0, abs=1e-6)
    # a confident mistake costs |logit| per pixel, not inf
    assert MaskCrossEntropyLoss()([logits], maps([0.0, 1.0])).item() == \
        pytest.approx(200.0 / 2)


def test_mask_cross_entropy_shape_error():
    with pytest.raises(ValueError, match=r'target has \(1, 7, 2, 2\)'):
        MaskCrossEntropyLoss()([torch.zeros(1, 1, 2, 2)],
                               torch.zeros(1, 7, 2, 2))


def test_losses_are_registered():
    assert isinstance(MODELS.build(dict(type='HeatmapMSELoss')),
                      HeatmapMSELoss)
    assert isinstance(MODELS.build(dict(type='MaskCrossEntropyLoss')),
                      MaskCrossEntropyLoss)
