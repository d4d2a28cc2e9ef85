"""The losses of Zimmermann & Brox's HandSegNet, PoseNet and PosePrior.

Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from Single RGB
Images", ICCV 2017, Sections 4.1-4.3; the numbers from the public code
(lmb-freiburg/hand3d), the paper describing the steps:

* ``SegmentationCrossEntropyLoss`` (``training_handsegnet.py``): softmax
  cross-entropy of the two classes, averaged over every pixel of the batch;
* ``ScoreMapRMSLoss`` (``training_posenet.py``): every stage's score maps
  bilinearly upsampled to the crop, per map the root of the mean squared
  difference to the target over the pixels; the maps' RMS weighted by the
  keypoints' visibility, summed and divided by the number of visible
  keypoints (+ 0.001), and the stages' terms summed;
* ``MeanSquaredErrorLoss`` (``training_lifting.py``): the PosePrior's
  mean squared error of the canonical joints and, apart, of the nine
  entries of the viewpoint's rotation matrix.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from handkit.models.layers import grid_interpolation_matrix
from handkit.registry import MODELS


@MODELS.register_module()
class SegmentationCrossEntropyLoss(nn.Module):
    """``forward(logits (B, 2, H, W) (background, hand), hand_fraction (B, 1,
    H, W))`` -> ``-(p log q_hand + (1 - p) log q_background)`` averaged over
    every pixel of the batch, ``p`` the hand fraction (HandSegNet's loss).
    """

    def forward(self, logits: torch.Tensor,
                hand_fraction: torch.Tensor) -> torch.Tensor:
        log_prob = F.log_softmax(logits.float(), dim=1)
        target = hand_fraction.float()
        return -(target * log_prob[:, 1:] + (1 - target) * log_prob[:, :1]
                 ).mean()


@MODELS.register_module()
class ScoreMapRMSLoss(nn.Module):
    """PoseNet's loss: per stage, the visibility-weighted per-map RMS of the
    (B, K, h, w) maps upsampled to the (B, K, H, W) target.

    ``forward(stage_maps [(B, K, h, w)], target (B, K, H, W), weights (B,
    K))`` -> ``sum_stages sum_bk w_bk sqrt(mean_xy (up(maps) - target)^2) /
    (sum_bk w_bk + 0.001)``, ``up`` = :func:`~handkit.models.layers.
    upsample_on_grid`. ``up`` is linear, ``up(M) = R M C^T``, so the mean
    square is ``(<M, R^T R M C^T C> - 2 <M, R^T T C> + <T, T>) / (H W)``:
    computed on the h x w grid (in float64), without forming the upsampled
    maps; the target's two terms once for every stage. Clamped at 1e-12
    before the root, so an exact zero has a finite gradient.
    """

    def forward(self, stage_maps: Sequence[torch.Tensor],
                target: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        height, width = target.shape[-2:]
        target = target.float()
        rows = grid_interpolation_matrix(stage_maps[0].shape[-2], height,
                                         target)
        cols = grid_interpolation_matrix(stage_maps[0].shape[-1], width,
                                         target)
        # the target's terms in float32 (the big products), then float64
        target_on_grid = (rows.T @ target @ cols).double()  # (B, K, h, w)
        target_square = (target ** 2).sum((2, 3)).double()  # (B, K)
        row_gram, col_gram = (rows.T @ rows).double(), (cols.T @ cols
                                                         ).double()
        weights = weights.double()
        total = 0.0
        for maps in stage_maps:
            maps = maps.double()
            maps_square = (maps * (row_gram @ maps @ col_gram)).sum((2, 3))
            cross = (maps * target_on_grid).sum((2, 3))
            mean_square = (maps_square - 2 * cross + target_square) / (
                height * width)
            rms = mean_square.clamp_min(1e-12).sqrt()  # (B, K)
            total = total + (weights * rms).sum() / (weights.sum() + 0.001)
        return total.float()


@MODELS.register_module()
class MeanSquaredErrorLoss(nn.Module):
    """``forward(pred, target)`` of one shape -> ``mean((pred - target)^2)``
    over every entry, the target in float32 (the PosePrior's losses)."""

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        return ((pred - target.float())**2).mean()
