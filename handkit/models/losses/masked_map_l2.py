"""Masked map L2 loss: the three DetNet losses of Zhou et al.

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.1:

    L_heat  = || H^GT - H ||_F^2
    L_delta = || H^GT (.) (D^GT - D) ||_F^2
    L_loc   = || H^GT (.) (L^GT - L) ||_F^2

(``(.)`` the element-wise product: the ground-truth heatmap masks the
delta and location maps, so they are learnt where the joint is and read
there). One module computes all three: ``mask`` None gives L_heat.

Normalisation: the Frobenius norms are per sample (summed over joints,
channels and pixels); handkit averages them over the batch so the value does
not grow with the batch size. A target may be the vector every pixel of the
ground-truth map holds, (B, K, C), which is broadcast over the grid (the
``LocationMap`` codec encodes D^GT and L^GT so).
"""
from typing import Optional

import torch
from torch import nn

from handkit.registry import MODELS


@MODELS.register_module()
class MaskedMapL2Loss(nn.Module):
    """``forward(pred, target, mask=None, weights=None)`` -> scalar.

    Args (of ``forward``):
        pred: (B, K, h, w) maps or (B, K, C, h, w) vector maps.
        target: the same shape, or (B, K) / (B, K, C): one value per map,
            broadcast over its pixels.
        mask: (B, K, h, w) (the ground-truth heatmaps) or None; it
            multiplies the difference before squaring, as ``H^GT (.) Delta``.
        weights: (B, K) per-joint weights (0 for an unlabelled joint) or
            None.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pred.ndim not in (4, 5):
            raise ValueError(f'MaskedMapL2Loss: pred must be (B, K, h, w) or '
                             f'(B, K, C, h, w), got {tuple(pred.shape)}')
        # float32 even under autocast: a bfloat16 sum over every pixel loses
        # the small errors.
        pred = pred.float()
        target = target.float()
        if target.shape != pred.shape:
            if target.shape != pred.shape[:-2]:
                raise ValueError(
                    f'MaskedMapL2Loss: target must be {tuple(pred.shape)} or '
                    f'{tuple(pred.shape[:-2])} (one value per map), got '
                    f'{tuple(target.shape)}')
            target = target[..., None, None]
        difference = pred - target
        batch, joints = pred.shape[:2]
        if mask is not None:
            if tuple(mask.shape) != (batch, joints, *pred.shape[-2:]):
                raise ValueError(
                    f'MaskedMapL2Loss: mask must be ({batch}, {joints}, '
                    f'{pred.shape[-2]}, {pred.shape[-1]}), got '
                    f'{tuple(mask.shape)}')
            mask = mask.float()
            difference = difference * (mask if pred.ndim == 4 else
                                       mask[:, :, None])
        squared = difference.pow(2).flatten(2).sum(-1)  # (B, K)
        if weights is not None:
            if tuple(weights.shape) != (batch, joints):
                raise ValueError(f'MaskedMapL2Loss: weights must be ({batch}, '
                                 f'{joints}), got {tuple(weights.shape)}')
            squared = squared * weights.float()
        return squared.sum() / batch
