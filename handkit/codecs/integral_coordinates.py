"""Integral-coordinates codec: the Latent Heatmap Representation (soft-argmax).

ResUnet (Bekiri and Babahenini, Section II-A) reads 2D joints off latent maps
``F_i``:

    PM_i(p) = exp(beta_i F_i(p)) / sum_{p' in Omega} exp(beta_i F_i(p'))  (1)
    p_i     = sum_{p in Omega} PM_i(p) * p                                  (2)

with one learnable ``beta_i`` per joint.
:meth:`IntegralCoordinates.soft_argmax` is that computation in torch
(differentiable in the maps and in beta); the targets are plain coordinates in
input pixels.

Coordinates follow docs/architecture.md: pixel centres at integer coordinates,
map pixel ``i`` at map coordinate ``i``, and map coordinate = input pixel /
stride with ``stride = input_size / heatmap_size`` per axis. Sizes are
(width, height).
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_keypoints
from handkit.registry import CODECS


@CODECS.register_module()
class IntegralCoordinates(BaseCodec):
    """Coordinate targets for soft-argmax heads, and the soft-argmax itself.

    Args:
        input_size: (w, h) of the network input in pixels, e.g. (128, 128).
        heatmap_size: (w, h) of the maps the soft-argmax reads, e.g. (128, 128)
            for ResNet34UNet's final maps.

    ``encode(keypoints (K, 2) input px, keypoints_visible (K,))`` returns
    ``keypoint_coords`` float32 (K, 2) (the same input-pixel coordinates) and
    ``coord_weights`` float32 (K,): 1 for a visible keypoint (flag > 0), 0
    otherwise and for a keypoint outside the input ``[0, w-1] x [0, h-1]``
    (an expectation over the map can never reach it, so it is not
    supervised). The name differs from the KCM
    codec's ``keypoint_weights`` so both can feed one sample's targets.
    ``decode(coords (..., 2) map coordinates)`` returns input pixels.
    """

    SETTINGS = ('input_size', 'heatmap_size')

    def __init__(self, input_size: Sequence[float],
                 heatmap_size: Sequence[float]) -> None:
        self.input_size = self._check_size('input_size', input_size)
        self.heatmap_size = self._check_size('heatmap_size', heatmap_size)
        self.stride = self.input_size / self.heatmap_size  # (sx, sy)

    @staticmethod
    def _check_size(name: str, size: Sequence[float]) -> np.ndarray:
        size = np.asarray(size, dtype=np.float32)
        if size.shape != (2, ) or (size <= 0).any():
            raise ValueError(f'IntegralCoordinates: {name} must be two '
                             f'positive numbers (w, h), got {size.tolist()}')
        return size

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        keypoints, weights = check_keypoints(keypoints, keypoints_visible)
        inside = ((keypoints >= 0) & (keypoints <= self.input_size - 1)).all(1)
        return {
            'keypoint_coords': keypoints.copy(),
            'coord_weights': (weights * inside).astype(np.float32),
        }

    def decode(self, coords: Union[np.ndarray, torch.Tensor]
               ) -> Union[np.ndarray, torch.Tensor]:
        """Input pixels from map coordinates (numpy or torch, (..., 2))."""
        if isinstance(coords, torch.Tensor):
            return coords * coords.new_tensor(self.stride)
        return np.asarray(coords) * self.stride

    @staticmethod
    def soft_argmax(maps: torch.Tensor, beta: torch.Tensor
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Eq. 1-2: expected (x, y) of each map under a softmax of beta * map.

        Args:
            maps: (B, K, H, W) latent maps (any real values).
            beta: (K,) per-joint sharpness (a learnable ``nn.Parameter`` in
                :class:`LatentHeatmapHead`).

        Returns:
            coords: (B, K, 2) expected (x, y) in map coordinates, in
                ``[0, W-1] x [0, H-1]``.
            probs: (B, K, H, W) the probability maps ``PM`` (each sums to 1).
        """
        if maps.ndim != 4:
            raise ValueError(f'soft_argmax: maps must be (B, K, H, W), got '
                             f'{tuple(maps.shape)}')
        batch, num_maps, height, width = maps.shape
        if tuple(beta.shape) != (num_maps, ):
            raise ValueError(f'soft_argmax: beta must have shape '
                             f'({num_maps},) to match the maps, got '
                             f'{tuple(beta.shape)}')
        logits = maps.flatten(2) * beta.view(1, num_maps, 1)  # (B, K, H*W)
        probs = logits.softmax(dim=-1).view(batch, num_maps, height, width)
        xs = torch.arange(width, dtype=probs.dtype, device=probs.device)
        ys = torch.arange(height, dtype=probs.dtype, device=probs.device)
        x = (probs.sum(dim=2) * xs).sum(dim=-1)  # marginal over rows, (B, K)
        y = (probs.sum(dim=3) * ys).sum(dim=-1)  # marginal over columns
        return torch.stack([x, y], dim=-1), probs
