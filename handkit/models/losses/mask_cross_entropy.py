"""MaskCrossEntropyLoss: the structure-mask cross-entropy of NSRM (eq. 5)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from handkit.registry import MODELS


@MODELS.register_module()
class MaskCrossEntropyLoss(nn.Module):
    """Binary cross-entropy on limb-mask logits, NSRM eq. 5.

    ``L_S = -sum_t sum_g sum_p [S*(p|g) log S_t(p|g) + (1 - S*(p|g))
    log(1 - S_t(p|g))]`` with ``S_t = sigmoid(logit)``, summed over every
    stage t, every group channel g and every pixel p, then divided by
    ``B * h * w``. The paper writes eq. 5 without the minus sign; this is the
    cross-entropy it names, which is minimised. Computed from logits with
    ``binary_cross_entropy_with_logits`` for numerical stability; targets may
    be soft (LPM, eq. 3) or 0/1 (LDM, eq. 2). Optional per-channel weights
    (B, C) scale each sample's group channel; a channel of weight 0 (a group
    with a limb that has no mask, :class:`handkit.codecs.LimbMask`) adds
    nothing, and the divisor stays ``B * h * w``.
    """

    def forward(self, stage_logits: Sequence[torch.Tensor],
                target: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """
        Args:
            stage_logits: list of T raw (pre-sigmoid) maps, each (B, C, h, w).
            target: ground-truth masks (B, C, h, w) with values in [0, 1].
            weights: None (all 1) or (B, C) channel weights.

        Returns:
            scalar tensor.
        """
        if len(stage_logits) == 0:
            raise ValueError('MaskCrossEntropyLoss got no stage outputs')
        logits = torch.stack(list(stage_logits)).float()  # (T, B, C, h, w)
        if logits.shape[1:] != target.shape:
            raise ValueError(
                f'MaskCrossEntropyLoss: stage outputs have shape '
                f'{tuple(logits.shape[1:])}, target has '
                f'{tuple(target.shape)}')
        batch_size, channels, height, width = target.shape
        if weights is None:
            total = F.binary_cross_entropy_with_logits(
                logits, target.float().expand_as(logits), reduction='sum')
        else:
            if tuple(weights.shape) != (batch_size, channels):
                raise ValueError(
                    f'MaskCrossEntropyLoss: weights have shape '
                    f'{tuple(weights.shape)}, expected ({batch_size}, '
                    f'{channels})')
            total = (F.binary_cross_entropy_with_logits(
                logits, target.float().expand_as(logits), reduction='none')
                * weights.float()[None, :, :, None, None]).sum()
        return total / (batch_size * height * width)
