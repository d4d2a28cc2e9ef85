"""Coordinate L1 loss for ResUnet's soft-argmax keypoints (Bekiri and
Babahenini, eq. 2).

The mean absolute coordinate error over the labelled keypoints:

    L = sum_{b,k,c} w_bk |p_bkc - g_bkc| / max(2 sum_{b,k} w_bk, 1)

(2 coordinates per keypoint; the clamp keeps a batch with no labelled
keypoint at loss 0 instead of dividing by zero).
"""
from typing import Optional

import torch
import torch.nn as nn

from handkit.registry import MODELS


@MODELS.register_module()
class CoordL1Loss(nn.Module):
    """``forward(pred (B, K, 2), target (B, K, 2), weights=None)`` -> scalar.

    ``weights``: (B, K) keypoint weights, or None for all ones.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pred.shape != target.shape or pred.ndim != 3:
            raise ValueError(f'CoordL1Loss: pred {tuple(pred.shape)} and '
                             f'target {tuple(target.shape)} must both be '
                             f'(B, K, D)')
        if weights is None:
            weights = pred.new_ones(pred.shape[:2])
        elif weights.shape != pred.shape[:2]:
            raise ValueError(f'CoordL1Loss: weights must have shape '
                             f'{tuple(pred.shape[:2])}, got '
                             f'{tuple(weights.shape)}')
        error = ((pred - target).abs() * weights[..., None]).sum()
        return error / (weights.sum() * pred.shape[-1]).clamp(min=1)
