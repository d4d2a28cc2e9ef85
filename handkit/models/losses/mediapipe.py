"""The losses of MediaPipe Hands' palm detector and landmark model.

Zhang et al., "MediaPipe Hands: On-device Real-time Hand Tracking", CVPR
Workshops 2020. MediaPipe released no training code; the paper names the
palm detector's focal loss (Section 2.1) and the landmark model's three
outputs (Section 2.2); the other choices are handkit's:

* ``SigmoidFocalLoss`` (Section 2.1; Lin et al., "Focal Loss for Dense
  Object Detection", ICCV 2017, eq. 5): every anchor's score, normalised
  by the positive anchors;
* ``WeightedHuberLoss`` (handkit's): the matched anchors' box and palm
  keypoint offsets;
* ``WeightedL1Loss`` (handkit's): the 21 landmarks, per coordinate weights;
* ``BinaryCrossEntropyLoss``: hand presence and handedness (Section 2.2's
  binary outputs), optionally weighted per sample.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from handkit.models.losses.sample_weighted import weighted_mean
from handkit.registry import MODELS


def sigmoid_focal_loss(logits: torch.Tensor, labels: torch.Tensor,
                       gamma: float = 2.0, alpha: float = 0.25
                       ) -> torch.Tensor:
    """Element-wise focal loss (Lin et al., RetinaNet, eq. 5) of logits
    against labels in [0, 1]; ``gamma=0`` and ``alpha<0`` give the binary
    cross-entropy."""
    cross_entropy = F.binary_cross_entropy_with_logits(
        logits, labels, reduction='none')
    if gamma:
        prob = torch.sigmoid(logits)
        p_t = prob * labels + (1 - prob) * (1 - labels)
        cross_entropy = cross_entropy * (1 - p_t) ** gamma
    if alpha >= 0:
        cross_entropy = cross_entropy * (alpha * labels + (1 - alpha) *
                                         (1 - labels))
    return cross_entropy


@MODELS.register_module()
class SigmoidFocalLoss(nn.Module):
    """``forward(logits (B, N), labels (B, N) in [0, 1], weights (B, N))`` ->
    the weighted :func:`sigmoid_focal_loss` summed over the anchors and
    divided by the number of positive anchors (``labels * weights > 0.5``,
    at least 1).

    Args:
        gamma, alpha: of the focal loss (``gamma=0, alpha=-1``: binary
            cross-entropy).
    """

    def __init__(self, gamma: float = 2.0, alpha: float = 0.25) -> None:
        super().__init__()
        self.gamma = float(gamma)
        self.alpha = float(alpha)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        num_positive = (labels * weights > 0.5).sum().clamp(min=1)
        return (sigmoid_focal_loss(logits, labels, self.gamma, self.alpha)
                * weights).sum() / num_positive


@MODELS.register_module()
class WeightedHuberLoss(nn.Module):
    """``forward(pred (B, N, C), target (B, N, C), weights (B, N))`` -> the
    Huber loss averaged over the C numbers, then over the N items by their
    weights (at least 1).

    Args:
        delta: where the Huber loss turns linear (the target's unit).
    """

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        self.delta = float(delta)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        huber = F.huber_loss(pred, target, reduction='none',
                             delta=self.delta)
        return weighted_mean(huber.mean(-1), weights)


@MODELS.register_module()
class WeightedL1Loss(nn.Module):
    """``forward(pred, target, weights)`` of one shape -> ``sum(w |pred -
    target|) / max(sum(w), 1)``: the mean absolute error over the weighted
    coordinates."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        return weighted_mean((pred - target).abs(), weights)


@MODELS.register_module()
class BinaryCrossEntropyLoss(nn.Module):
    """``forward(logits, target in [0, 1], weights=None)`` of one shape ->
    the binary cross-entropy of the logits, averaged (over ``weights``, at
    least 1, when given)."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if weights is None:
            return F.binary_cross_entropy_with_logits(logits, target)
        return weighted_mean(F.binary_cross_entropy_with_logits(
            logits, target, reduction='none'), weights)
