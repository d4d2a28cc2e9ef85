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
  (``DepthLiftedKeypoints``) up to each sample's scale and shift (the
  anchor that pins the depth of handkit's runs without any 3D label);
* ``UnitBoneLoss`` (handkit's): the normalised joints' reference bone
  against its unit length, the scale that a run without any 3D label has
  no other source of.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from handkit.registry import MODELS


def weighted_sample_mean(per_sample: torch.Tensor,
                         weights: Optional[torch.Tensor], name: str
                         ) -> torch.Tensor:
    """``sum_b w_b l_b / max(sum_b w_b, 1)`` of (B,) losses and (B,) or
    (B, 1) weights (None: all ones, the plain mean)."""
    if weights is None:
        return per_sample.mean()
    weights = weights.reshape(-1).to(per_sample.dtype)
    if weights.shape != per_sample.shape:
        raise ValueError(f'{name}: one weight per sample expected '
                         f'({per_sample.shape[0]}), got {weights.numel()}')
    return (weights * per_sample).sum() / weights.sum().clamp(min=1.0)


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
        residual, _ = scale_aligned_residual(pred[..., :2], target, weights,
                                             shift=False)
        return residual.mean()


def scale_aligned_residual(pred: torch.Tensor, target: torch.Tensor,
                           weights: torch.Tensor, shift: bool
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ``sum_j w_j |s p_j (+ t) - q_j|^2`` at the best ``s >= 0``
    (and shift ``t``), and ``sum_j w_j |q_j (- t_q)|^2``, both (B,).

    ``pred`` and ``target`` (B, K, D), ``weights`` (B, K). With ``shift``,
    both sides are first centred on their weighted mean, which makes the
    least-squares ``t`` exact; the scale is then
    ``sum_j w_j <p_j, q_j> / sum_j w_j |p_j|^2`` in closed form, clamped at 0.
    """
    weights = weights.to(pred.dtype)[..., None]  # (B, K, 1)
    if shift:
        total = weights.sum(1, keepdim=True).clamp(min=1e-8)
        pred = pred - (weights * pred).sum(1, keepdim=True) / total
        target = target - (weights * target).sum(1, keepdim=True) / total
    scale = ((weights * pred * target).sum((1, 2))
             / (weights * pred**2).sum((1, 2)).clamp(min=1e-8)).clamp(
                 min=0.0)  # (B,)
    residual = (weights * (scale[:, None, None] * pred - target)**2).sum(
        (1, 2))
    return residual, (weights * target**2).sum((1, 2))


@MODELS.register_module()
class ScaleShiftAlignedLoss(nn.Module):
    """3D joints against 3D points known up to a scale and a shift.

    The target of handkit's depth anchor (``DepthLiftedKeypoints``): the 2D
    labels back-projected through the depth image are camera-frame points
    on the skin, in mm, at the camera's distance; the prediction is
    root-relative and in units of a bone. Per sample, the best scale
    ``s >= 0`` and shift ``t`` are solved in closed form
    (:func:`scale_aligned_residual`) and the loss is the residual relative
    to the target's own spread,
    ``sum_j w_j |s p_j + t - q_j|^2 / sum_j w_j |q_j - q_mean|^2`` (0 for a
    perfect shape, 1 for a prediction that has none), averaged over the
    samples with at least ``min_joints`` weighted joints: the shape of the
    hand, its depth included, is compared, not its size or distance.

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
        residual, spread = scale_aligned_residual(pred, target, weights,
                                                  shift=True)
        used = ((weights > 0).sum(1) >= self.min_joints).to(pred.dtype)
        return weighted_sample_mean(residual / spread.clamp(min=1e-8), used,
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
