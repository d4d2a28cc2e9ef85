"""The losses of Boukhayma et al. (CVPR 2019, eq. (5)), as plain functions.

``L = L2D + 100 L3D + 100 Lmask + 10 Lreg`` (the weights: the paper's eq. (5),
quoted by the survey slides). Units are handkit's choices (docs/boukhayma.md):

* :func:`keypoint_2d_loss`: 2D coordinates normalised by the input size
  (input pixels / input width; the head's ``reference_size`` 1), squared
  distance averaged over the labelled joints;
* :func:`joint_3d_loss`: root-relative joints in metres (the hand model's
  unit; the release's ``x3d``), squared distance averaged over joints;
* :func:`mask_distance_loss`: the distance map of the mask's outside
  (``MaskDistanceField``) sampled bilinearly at each projected vertex, in
  the same normalised unit, squared and averaged over vertices;
* :func:`param_regularizer`: the squared norms of the pose and shape
  coefficients.

Each returns a scalar averaged over the batch.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor
                   ) -> torch.Tensor:
    """``sum(w v) / max(sum(w), 1)``."""
    return (values * weight).sum() / weight.sum().clamp(min=1.0)


def keypoint_2d_loss(pred: torch.Tensor, target: torch.Tensor,
                     weight: Optional[torch.Tensor] = None,
                     scale: float = 1.0) -> torch.Tensor:
    """Mean squared 2D distance of (B, K, 2) points over the joints with
    ``weight`` (B, K) > 0; coordinates multiplied by ``scale`` first (the
    head passes ``reference_size / input width``)."""
    squared = ((pred - target) * scale).pow(2).sum(-1)  # (B, K)
    if weight is None:
        weight = torch.ones_like(squared)
    return _weighted_mean(squared, weight.reshape(squared.shape))


def joint_3d_loss(pred: torch.Tensor, target: torch.Tensor,
                  weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean squared 3D distance of (B, K, 3) joints; ``weight`` (B, 1) or
    (B, K) selects samples / joints."""
    squared = (pred - target).pow(2).sum(-1)  # (B, K)
    if weight is None:
        weight = torch.ones_like(squared)
    return _weighted_mean(squared, weight.expand_as(squared))


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


def mask_distance_loss(points: torch.Tensor, distance: torch.Tensor,
                       weight: Optional[torch.Tensor] = None,
                       scale: float = 1.0) -> torch.Tensor:
    """Mean over (B, N, 2) projected vertices of the squared distance to
    the mask (:func:`sample_distance` times ``scale``); ``weight`` (B, 1)
    drops samples without a mask."""
    squared = (sample_distance(distance, points) * scale).pow(2)  # (B, N)
    if weight is None:
        weight = torch.ones_like(squared[:, :1])
    return _weighted_mean(squared.mean(-1, keepdim=True),
                          weight.reshape(-1, 1))


def param_regularizer(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum of the squared norms of each (B, n) coefficient tensor, averaged
    over the batch (Lreg: pose and shape)."""
    return sum(part.pow(2).sum(-1) for part in parts).mean()
