"""The losses of Boukhayma et al.'s MANO regression (CVPR 2019, eq. (5)).

Boukhayma, Bem and Torr, "3D Hand Shape and Pose from Images in the Wild",
CVPR 2019: ``L = L2D + 100 L3D + 100 Lmask + 10 Lreg`` (the weights: the
paper's eq. (5), quoted by the survey slides; they are ``MANORegressionHead``'s
``losses`` weights). Units are handkit's choices (docs/boukhayma.md):

* ``SquaredDistanceLoss`` (L2D, L3D; also Ge et al.'s L_J): 2D coordinates
  normalised by the input size (the head's ``scale``), root-relative 3D
  joints in metres; squared distance averaged over the weighted points;
* ``MaskDistanceLoss`` (Lmask): the distance map of the mask's outside
  (``MaskDistanceField``) sampled bilinearly at each projected vertex, in
  the same normalised unit, squared and averaged over vertices;
* ``SquaredNormLoss`` (Lreg): the squared norms of the pose and shape
  coefficients.

Each returns a scalar averaged over the batch; the head applies the weight.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from handkit.models.losses.sample_weighted import weighted_mean
from handkit.registry import MODELS


@MODELS.register_module()
class SquaredDistanceLoss(nn.Module):
    """``forward(pred (B, K, D), target (B, K, D), weight (B, K) or (B, 1)
    or None, scale=1.0)`` -> the mean over the points with weight > 0 of
    ``||(pred - target) scale||^2`` (the head passes ``reference_size /
    input width`` for 2D pixels)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                scale: float = 1.0) -> torch.Tensor:
        squared = ((pred - target) * scale).pow(2).sum(-1)  # (B, K)
        if weight is None:
            weight = torch.ones_like(squared)
        return weighted_mean(squared, weight.reshape(len(squared), -1)
                             .expand_as(squared))


def sample_distance(distance: torch.Tensor, points: torch.Tensor
                    ) -> torch.Tensor:
    """Distance to the mask at (B, N, 2) input-pixel points, from the
    (B, H, W) map of :class:`~handkit.codecs.MaskDistanceField`.

    Pixel centres sit at integer coordinates (``align_corners=True``);
    bilinear inside the map. A point outside the map gets the map's value
    at the nearest border point plus its distance to that point (an upper
    bound of its distance to the mask, with a gradient that pulls it in).
    """
    height, width = distance.shape[-2:]
    limit = points.new_tensor([width - 1, height - 1])
    inside = torch.minimum(points.clamp(min=0), limit)
    grid = inside / limit * 2 - 1  # (B, N, 2) in [-1, 1]
    sampled = F.grid_sample(distance[:, None], grid[:, None],
                            mode='bilinear', padding_mode='border',
                            align_corners=True)[:, 0, 0]  # (B, N)
    beyond = (points - inside).norm(dim=-1)
    return sampled + beyond


@MODELS.register_module()
class MaskDistanceLoss(nn.Module):
    """``forward(points (B, N, 2) input px, distance (B, H, W), weight (B, 1)
    or None, scale=1.0)`` -> the mean over vertices of the squared distance
    to the mask (:func:`sample_distance` times ``scale``), averaged over the
    samples with weight > 0 (a sample without a mask has 0)."""

    def forward(self, points: torch.Tensor, distance: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                scale: float = 1.0) -> torch.Tensor:
        squared = (sample_distance(distance, points) * scale).pow(2)
        if weight is None:
            weight = torch.ones_like(squared[:, :1])
        return weighted_mean(squared.mean(-1, keepdim=True),
                             weight.reshape(-1, 1))


@MODELS.register_module()
class SquaredNormLoss(nn.Module):
    """``forward(parts [(B, n)])`` -> the sum of each part's squared norm,
    averaged over the batch (Lreg: pose and shape coefficients)."""

    def forward(self, parts: Sequence[torch.Tensor]) -> torch.Tensor:
        return sum(part.pow(2).sum(-1) for part in parts).mean()
