"""Per-sample weighted losses of Cai et al.'s weakly-supervised training.

Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
Monocular RGB Images", ECCV 2018: a batch mixes samples with a 3D label and
samples that have only their 2D joints and a depth image. Each loss here
takes one weight per sample (0 or 1) and averages over the samples whose
weight is non-zero, so that the 3D loss of a batch ignores its unlabelled
samples and keeps the same scale whatever their number (a batch without any
labelled sample gives 0, still differentiable).

* ``JointL2Loss``: ``sum_j ||J_j^pred - J_j^gt||^2`` per sample (the
  normalised 3D joints), the regression loss;
* ``DepthL1Loss``: the mean absolute difference of the generated and the
  reference depth maps per sample, the depth regulariser's loss;
* ``ScaleAlignedXYLoss`` (handkit's, not the paper's): the x-y of the 3D
  joints against the 2D labels up to each sample's scale, which every
  sample has (an anchor of handkit's runs without any 3D label);
* ``ScaleShiftAlignedLoss`` (handkit's, not the paper's): the 3D joints
  against the 2D labels lifted through the depth image
  (``DepthLiftedKeypoints``) up to each sample's scale and shift, one
  minus the cosine of the centred shapes (the
  anchor that pins the depth of handkit's runs without any 3D label);
* ``UnitBoneLoss`` (handkit's): the normalised joints' reference bone
  against its unit length, the scale that a run without any 3D label has
  no other source of.
"""
from typing import Optional

import torch
import torch.nn as nn

from handkit.registry import MODELS


def weighted_mean(values: torch.Tensor, weights: torch.Tensor
                  ) -> torch.Tensor:
    """``sum(w v) / max(sum(w), 1)`` of values and weights of one shape:
    the mean over what has weight, 0 (with a gradient) where none has."""
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


def weighted_sample_mean(per_sample: torch.Tensor,
                         weights: Optional[torch.Tensor], name: str
                         ) -> torch.Tensor:
    """:func:`weighted_mean` of (B,) losses and (B,) or (B, 1) weights
    (None: all ones, the plain mean)."""
    if weights is None:
        return per_sample.mean()
    weights = weights.reshape(-1).to(per_sample.dtype)
    if weights.shape != per_sample.shape:
        raise ValueError(f'{name}: one weight per sample expected '
                         f'({per_sample.shape[0]}), got {weights.numel()}')
    return weighted_mean(per_sample, weights)


@MODELS.register_module()
class JointL2Loss(nn.Module):
    """``forward(pred (B, K, 3), target (B, K, 3), weights (B,) or None)``
    -> the weighted mean over samples of ``sum_{j,c} (pred - target)^2``."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pred.shape != target.shape or pred.ndim != 3:
            raise ValueError(f'JointL2Loss: pred {tuple(pred.shape)} and '
                             f'target {tuple(target.shape)} must both be '
                             f'(B, K, 3)')
        per_sample = ((pred - target)**2).flatten(1).sum(1)  # (B,)
        return weighted_sample_mean(per_sample, weights, 'JointL2Loss')


@MODELS.register_module()
class DepthL1Loss(nn.Module):
    """``forward(pred (B, H, W), target (B, H, W), weights (B,) or None)``
    -> the weighted mean over samples of the per-pixel mean |pred - target|.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pred.shape != target.shape or pred.ndim != 3:
            raise ValueError(f'DepthL1Loss: pred {tuple(pred.shape)} and '
                             f'target {tuple(target.shape)} must both be '
                             f'(B, H, W)')
        per_sample = (pred - target).abs().flatten(1).mean(1)  # (B,)
        return weighted_sample_mean(per_sample, weights, 'DepthL1Loss')


@MODELS.register_module()
class ScaleAlignedXYLoss(nn.Module):
    """The x-y of root-relative 3D joints against their 2D labels, up to
    each sample's scale (weak perspective).

    A hand's root-relative image offsets are, to first order, its
    root-relative camera-frame x-y times one positive factor (the focal
    length over the root's depth, times the crop's scale). Per sample, the
    best factor ``s = max(0, sum_j w_j <p_j, q_j> / sum_j w_j |p_j|^2)`` is
    solved in closed form and the loss is ``sum_j w_j |s p_j - q_j|^2``,
    averaged over the samples: only the shape of the x-y is compared, so a
    sample with 2D labels alone anchors the x-y of its 3D joints.

    ``forward(pred (B, K, 3) root-relative joints, target (B, K, 2)
    root-relative 2D offsets, weights (B, K) per joint)`` -> scalar.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        if pred.ndim != 3 or pred.shape[-1] != 3 or tuple(
                target.shape) != (*pred.shape[:2], 2) or tuple(
                    weights.shape) != tuple(pred.shape[:2]):
            raise ValueError(f'ScaleAlignedXYLoss: pred (B, K, 3), target '
                             f'(B, K, 2) and weights (B, K) expected, got '
                             f'{tuple(pred.shape)}, {tuple(target.shape)} '
                             f'and {tuple(weights.shape)}')
        xy = pred[..., :2]
        weights = weights.to(pred.dtype)[..., None]  # (B, K, 1)
        scale = ((weights * xy * target).sum((1, 2))
                 / (weights * xy**2).sum((1, 2)).clamp(min=1e-8)).clamp(
                     min=0.0)  # (B,)
        residual = weights * (scale[:, None, None] * xy - target)**2
        return residual.sum((1, 2)).mean()


@MODELS.register_module()
class ScaleShiftAlignedLoss(nn.Module):
    """3D joints against 3D points known up to a scale and a shift.

    The target of handkit's depth anchor (``DepthLiftedKeypoints``): the 2D
    labels back-projected through the depth image are camera-frame points
    on the skin, in mm, at the camera's distance; the prediction is
    root-relative and in units of a bone. Both are centred on their
    weighted mean (which removes the shift) and compared by the cosine of
    the two centred shapes, ``c = sum_j w_j <P_j, Q_j> / sqrt(sum_j w_j
    |P_j|^2 sum_j w_j |Q_j|^2)`` (which removes the scale); the loss is
    ``1 - c``, averaged over the samples with at least ``min_joints``
    weighted joints: 0 for the target's shape at any scale and shift, 1 for
    a shape unrelated to it, 2 for its point reflection (a mirrored hand).

    For ``c >= 0`` the residual at the best scale ``s >= 0`` and shift,
    relative to the target's spread, is ``1 - c^2``, so both rank shapes
    alike; ``1 - c`` keeps a gradient where the best scale would be
    negative (a least-squares fit clamped at ``s = 0`` has none there, and
    a sample that starts there stays).

    ``forward(pred (B, K, 3), target (B, K, 3), weights (B, K))`` -> scalar.

    Args:
        min_joints: samples with fewer joints of non-zero weight are left
            out (a scale and a shift need a few points).
    """

    def __init__(self, min_joints: int = 4) -> None:
        super().__init__()
        self.min_joints = int(min_joints)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        if pred.ndim != 3 or pred.shape != target.shape or tuple(
                weights.shape) != tuple(pred.shape[:2]):
            raise ValueError(f'ScaleShiftAlignedLoss: pred and target '
                             f'(B, K, D) and weights (B, K) expected, got '
                             f'{tuple(pred.shape)}, {tuple(target.shape)} '
                             f'and {tuple(weights.shape)}')
        joint_weights = weights.to(pred.dtype)[..., None]  # (B, K, 1)
        total = joint_weights.sum(1, keepdim=True).clamp(min=1e-8)

        def centred(points):
            return points - (joint_weights * points).sum(1,
                                                         keepdim=True) / total

        pred, target = centred(pred), centred(target)
        inner = (joint_weights * pred * target).sum((1, 2))  # (B,)
        norms = ((joint_weights * pred**2).sum((1, 2)) *
                 (joint_weights * target**2).sum((1, 2))).clamp(
                     min=1e-12).sqrt()
        used = ((weights > 0).sum(1) >= self.min_joints).to(pred.dtype)
        return weighted_sample_mean(1.0 - inner / norms, used,
                                    'ScaleShiftAlignedLoss')


@MODELS.register_module()
class UnitBoneLoss(nn.Module):
    """The reference bone of normalised joints against its unit length.

    ``NormalizedPose3D`` measures joints in units of one bone (Zimmermann &
    Brox's middle MCP -> PIP): the 3D labels teach that unit, but a sample
    without one is compared up to a scale only (``ScaleAlignedXYLoss``,
    ``ScaleShiftAlignedLoss``). This label-free term asks every sample's
    predicted bone to be 1: ``mean_b (|p_b - p_a| - 1)^2``.

    ``forward(pred (B, K, 3), bone (a, b))`` -> scalar.
    """

    def forward(self, pred: torch.Tensor, bone) -> torch.Tensor:
        if pred.ndim != 3 or pred.shape[-1] != 3:
            raise ValueError(f'UnitBoneLoss: pred (B, K, 3) expected, got '
                             f'{tuple(pred.shape)}')
        start, end = bone
        length = (pred[:, end] - pred[:, start]).norm(dim=-1)  # (B,)
        return ((length - 1.0)**2).mean()
