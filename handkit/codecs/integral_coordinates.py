"""Integral-coordinates codec: the Latent Heatmap Representation (soft-argmax).

ResUnet (paper 004, Section II-A) reads 2D joints off latent maps ``F_i``:

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
import numpy as np
import torch

from handkit.registry import CODECS


@CODECS.register_module()
class IntegralCoordinates:
    """Coordinate targets for soft-argmax heads, and the soft-argmax itself.

    Args:
        input_size: (w, h) of the network input in pixels, e.g. (128, 128).
        heatmap_size: (w, h) of the maps the soft-argmax reads, e.g. (128, 128)
            for ResNet34UNet's final maps.

    ``encode(keypoints (K, 2) input px, keypoints_visible (K,))`` returns
    ``keypoint_coords`` float32 (K, 2) (the same input-pixel coordinates) and
    ``coord_weights`` float32 (K,): the visibility, set to 0 for a keypoint
    outside the input ``[0, w-1] x [0, h-1]`` (an expectation over the map can
    never reach it, so it is not supervised). The name differs from the KCM
    codec's ``keypoint_weights`` so both can feed one sample's targets.
    ``decode(coords (..., 2) map coordinates)`` returns input pixels.
    """

    # results keys GenerateTargets passes to encode, in order
    encode_inputs = ('transformed_keypoints', 'keypoints_visible')

    def __init__(self, input_size, heatmap_size):
        self.input_size = self._check_size('input_size', input_size)
        self.heatmap_size = self._check_size('heatmap_size', heatmap_size)
        self.stride = self.input_size / self.heatmap_size  # (sx, sy)

    @staticmethod
    def _check_size(name, size):
        size = np.asarray(size, dtype=np.float32)
        if size.shape != (2, ) or (size <= 0).any():
            raise ValueError(f'IntegralCoordinates: {name} must be two '
                             f'positive numbers (w, h), got {size.tolist()}')
        return size

    def encode(self, keypoints, keypoints_visible=None):
        keypoints = np.asarray(keypoints, dtype=np.float32)
        if keypoints.ndim != 2 or keypoints.shape[1] != 2:
            raise ValueError(f'IntegralCoordinates.encode: keypoints must '
                             f'have shape (K, 2), got {keypoints.shape}')
        if keypoints_visible is None:
            weights = np.ones(len(keypoints), np.float32)
        else:
            weights = np.asarray(keypoints_visible, np.float32)
            if weights.shape != (len(keypoints), ):
                raise ValueError(
                    f'IntegralCoordinates.encode: keypoints_visible must have '
                    f'shape ({len(keypoints)},), got {weights.shape}')
        inside = ((keypoints >= 0) & (keypoints <= self.input_size - 1)).all(1)
        return {
            'keypoint_coords': keypoints.copy(),
            'coord_weights': (weights * inside).astype(np.float32),
        }

    def decode(self, coords):
        """Input pixels from map coordinates (numpy or torch, (..., 2))."""
        if isinstance(coords, torch.Tensor):
            return coords * coords.new_tensor(self.stride)
        return np.asarray(coords) * self.stride

    @staticmethod
    def soft_argmax(maps, beta):
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
