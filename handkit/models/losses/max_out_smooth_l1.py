"""Max-out smooth L1 loss (Li and Wang, "Loss function").

    |x|_smooth = 0.5 x^2          if |x| <= 1
                 |x| - 0.5        otherwise
    L_MOSL1 = 1/N sum_i 3M * max(|P_i - G_i|_smooth)

For each of the N samples only its worst coordinate (of its 3M = 3J) is
penalised, scaled by 3M so the loss stays on the scale of a summed smooth L1;
the paper uses it to fine-tune towards the most error-prone joints.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from handkit.registry import MODELS


@MODELS.register_module()
class MaxOutSmoothL1Loss(nn.Module):
    """``forward(pred (B, J, 3), target (B, J, 3))``: L_MOSL1, a scalar."""

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape or pred.ndim < 2:
            raise ValueError(f'MaxOutSmoothL1Loss: pred {tuple(pred.shape)} '
                             f'and target {tuple(target.shape)} must have '
                             f'the same (B, ...) shape')
        per_coord = F.smooth_l1_loss(
            pred, target, reduction='none', beta=1.0).flatten(1)  # (B, 3J)
        return (per_coord.amax(dim=1) * per_coord.shape[1]).mean()
