"""Tests of the 3D losses: max-out smooth L1 (Li and Wang), bone L2 (Bekiri and
Babahenini eq. 4) and coordinate L1, against hand-computed values."""
import pytest
import torch

from handkit.models.losses.bone_l2 import BoneL2Loss
from handkit.models.losses.coord_l1 import CoordL1Loss
from handkit.models.losses.max_out_smooth_l1 import MaxOutSmoothL1Loss


def test_max_out_smooth_l1_hand_computed():
    # 2 samples, J = 2 joints -> 3J = 6 coordinates each.
    target = torch.zeros(2, 2, 3)
    pred = torch.zeros(2, 2, 3)
    pred[0, 0, 0] = 0.5   # smooth 0.125
    pred[0, 1, 2] = -3.0  # smooth 2.5  <- max of sample 0
    pred[1, 0, 1] = 0.8   # smooth 0.32 <- max of sample 1
    pred[1, 1, 1] = 0.2   # smooth 0.02
    loss = MaxOutSmoothL1Loss()(pred, target)
    # (6 * 2.5 + 6 * 0.32) / 2
    assert loss.item() == pytest.approx((15.0 + 1.92) / 2)


def test_max_out_smooth_l1_gradient_reaches_only_the_worst_coordinate():
    pred = torch.tensor([[[0.1, 0.4, -0.2]]], requires_grad=True)
    MaxOutSmoothL1Loss()(pred, torch.zeros(1, 1, 3)).backward()
    assert pred.grad.flatten().tolist() == pytest.approx([0.0, 3 * 0.4, 0.0])


def test_bone_l2_hand_computed():
    pred = torch.zeros(2, 20, 3)
    pred[0, 0] = torch.tensor([1.0, 2.0, 2.0])  # |.|^2 = 9
    pred[0, 7] = torch.tensor([0.0, 0.0, 1.0])  # 1
    pred[1, 19] = torch.tensor([3.0, 0.0, 4.0])  # 25
    loss = BoneL2Loss()(pred, torch.zeros(2, 20, 3))
    assert loss.item() == pytest.approx((0.5 * 10 + 0.5 * 25) / 2)
    weights = torch.ones(2, 20)
    weights[1, 19] = 0
    assert BoneL2Loss()(pred, torch.zeros(2, 20, 3), weights).item() == \
        pytest.approx(0.5 * 10 / 2)


def test_coord_l1_hand_computed():
    pred = torch.tensor([[[1.0, 2.0], [10.0, 10.0]], [[0.0, 0.0], [4.0, 0.0]]])
    target = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 3.0]]])
    weights = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # |1|+|2| + |1|+|1| + |4|+|3| = 12 over 3 keypoints x 2 coordinates
    assert CoordL1Loss()(pred, target, weights).item() == pytest.approx(2.0)
    # no labelled keypoint: the divisor clamps at 1, the loss is 0
    assert CoordL1Loss()(pred, target, torch.zeros(2, 2)).item() == 0.0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match='MaxOutSmoothL1Loss: pred'):
        MaxOutSmoothL1Loss()(torch.zeros(2, 14, 3), torch.zeros(2, 13, 3))
    with pytest.raises(ValueError,
                       match=r'BoneL2Loss: weights must have shape \(2, 20\)'):
        BoneL2Loss()(torch.zeros(2, 20, 3), torch.zeros(2, 20, 3),
                     torch.ones(2, 21))
    with pytest.raises(ValueError,
                       match=r'CoordL1Loss: weights must have shape \(1, 21'):
        CoordL1Loss()(torch.zeros(1, 21, 2), torch.zeros(1, 21, 2),
                      torch.ones(21))
