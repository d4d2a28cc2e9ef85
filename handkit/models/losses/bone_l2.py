"""Bone L2 loss of ResUnet (Bekiri and Babahenini, eq. 4).

    L_beta = 1/2 sum_{b} || beta_b^pred - beta_b^gt ||^2

Normalisation: eq. 4 is the loss of one sample (a sum over its bones and
coordinates); handkit averages it over the batch, so the value does not grow
with the batch size. Optional per-bone weights (0 for a bone with an
unlabelled end) multiply each bone's term.
"""
from typing import Optional

import torch
import torch.nn as nn

from handkit.registry import MODELS


@MODELS.register_module()
class BoneL2Loss(nn.Module):
    """``forward(pred (B, 20, 3), target (B, 20, 3), weights=None)`` -> scalar.

    ``weights``: (B, 20) per-bone weights, or None for all ones.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pred.shape != target.shape or pred.ndim != 3:
            raise ValueError(f'BoneL2Loss: pred {tuple(pred.shape)} and '
                             f'target {tuple(target.shape)} must both be '
                             f'(B, bones, 3)')
        squared_norm = ((pred - target)**2).sum(dim=-1)  # (B, bones)
        if weights is not None:
            if weights.shape != squared_norm.shape:
                raise ValueError(f'BoneL2Loss: weights must have shape '
                                 f'{tuple(squared_norm.shape)}, got '
                                 f'{tuple(weights.shape)}')
            squared_norm = squared_norm * weights
        return 0.5 * squared_norm.sum(dim=1).mean()
