"""HeatmapMSELoss: the sum-of-squared-error KCM loss of NSRM (eq. 7)."""
from typing import Optional, Sequence

import torch
from torch import nn

from handkit.registry import MODELS


@MODELS.register_module()
class HeatmapMSELoss(nn.Module):
    """Sum-of-squared-error loss on keypoint confidence maps, NSRM eq. 7.

    ``L_K = sum_t sum_k sum_p w_k * (C*(p|k) - C_t(p|k))^2``, summed over
    every stage t (intermediate supervision, Section 3.3), every keypoint k
    and every pixel p, then divided by ``B * h * w`` (batch size times map
    pixels) so the value does not grow with batch or map size. The weight
    ``w_k`` of a keypoint (1 labelled, 0 invisible) multiplies its squared
    error, so an invisible keypoint contributes nothing.
    """

    def forward(self, stage_outputs: Sequence[torch.Tensor],
                target: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """
        Args:
            stage_outputs: list of T predicted maps, each (B, K, h, w).
            target: ground-truth maps (B, K, h, w).
            weights: per-keypoint weights (B, K), or None for all ones.

        Returns:
            scalar tensor.
        """
        if len(stage_outputs) == 0:
            raise ValueError('HeatmapMSELoss got no stage outputs')
        # float32 even under autocast: a bfloat16 sum over every pixel loses
        # the small errors.
        predictions = torch.stack(list(stage_outputs)).float()  # (T,B,K,h,w)
        if predictions.shape[1:] != target.shape:
            raise ValueError(
                f'HeatmapMSELoss: stage outputs have shape '
                f'{tuple(predictions.shape[1:])}, target has '
                f'{tuple(target.shape)}')
        squared_error = (predictions - target.float()).pow(2)
        if weights is not None:
            if weights.shape != target.shape[:2]:
                raise ValueError(
                    f'HeatmapMSELoss: weights have shape '
                    f'{tuple(weights.shape)}, expected '
                    f'{tuple(target.shape[:2])}')
            squared_error = squared_error * weights.float()[
                None, :, :, None, None]
        batch_size, _, height, width = target.shape
        return squared_error.sum() / (batch_size * height * width)
