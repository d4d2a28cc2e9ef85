"""Score-map codec: the 2D keypoint targets of Zimmermann & Brox's PoseNet.

Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from Single RGB
Images", ICCV 2017, Section 4.2: PoseNet regresses one score map per
keypoint, a 2D Gaussian at the keypoint; the PosePrior reads such maps. The
exact map, from the authors' public code (lmb-freiburg/hand3d,
``BinaryDbReader.create_multiple_gaussian_map``; the paper gives no
formula): ``exp(-((x - u)^2 + (y - v)^2) / sigma^2)`` on the crop's pixel
grid, with no factor 2 and sigma 25 px in the 256 px crop, the keypoint's
coordinates truncated to integers, and an all-zero map for a keypoint that
is not visible or not strictly inside the crop.

The targets stand at the input size: their loss compares the 32 x 32
predictions upsampled to the crop (``training_posenet.py``), and the
PosePrior's training input is the target read on the map grid
(:meth:`GaussianScoreMap.on_map_grid`). Map pixel ``i`` sits at input
pixel ``i * stride`` (docs/architecture.md), the grid of TensorFlow 1's
bilinear ``resize_images`` that their loss upsamples with.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.keypoint_confidence_map import KeypointConfidenceMap
from handkit.codecs.utils import check_keypoints, check_positive, check_size
from handkit.registry import CODECS


@CODECS.register_module()
class GaussianScoreMap(BaseCodec):
    """Input-size Gaussian score maps (encode) and their argmax (decode).

    Args:
        input_size: (width, height) of the crop, pixels (256 x 256).
        heatmap_size: (width, height) of the predicted maps (32 x 32).
        sigma: the Gaussian's sigma in input pixels (25.0 in their code).

    ``encode(keypoints (K, 2) input px, keypoints_visible (K,))`` returns
    float32 ``scoremaps`` (K, H, W) at the input size and
    ``keypoint_weights`` (K,) (1 visible, 0 not: their loss weighs each
    map's RMS by the visibility). ``decode(maps (..., K, h, w))`` returns
    the keypoints (..., K, 2) in input pixels and their scores (the maps'
    maxima).
    """

    SETTINGS = ('input_size', 'heatmap_size', 'sigma')

    def __init__(self, input_size: Sequence[int] = (256, 256),
                 heatmap_size: Sequence[int] = (32, 32),
                 sigma: float = 25.0) -> None:
        self.input_size = check_size(input_size, 'input_size')
        self.heatmap_size = check_size(heatmap_size, 'heatmap_size')
        self.sigma = check_positive(sigma, 'sigma')
        self.stride = tuple(
            size // grid for size, grid in zip(self.input_size,
                                               self.heatmap_size))
        if any(size != grid * stride for size, grid, stride in zip(
                self.input_size, self.heatmap_size, self.stride)):
            raise ValueError(f'GaussianScoreMap: input_size '
                             f'{self.input_size} must be a whole multiple '
                             f'of heatmap_size {self.heatmap_size}')
        # the read-out: argmax on the map grid, a quarter map pixel toward
        # the higher neighbour, times the stride
        self._argmax = KeypointConfidenceMap(self.input_size,
                                             self.heatmap_size)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        keypoints, weights = check_keypoints(keypoints, keypoints_visible)
        width, height = self.input_size
        pixel = np.trunc(keypoints.astype(np.float64))  # (K, 2)
        inside = ((pixel[:, 0] > 0) & (pixel[:, 0] < width - 1)
                  & (pixel[:, 1] > 0) & (pixel[:, 1] < height - 1))
        scale = -1.0 / self.sigma ** 2
        # exp(-(dx^2 + dy^2) / s^2) is separable: gx (K, W) times gy (K, H)
        gauss_x = np.exp(scale * (np.arange(width) - pixel[:, :1]) ** 2)
        gauss_y = np.exp(scale * (np.arange(height) - pixel[:, 1:]) ** 2)
        gauss_x *= (weights * inside)[:, None]
        maps = (gauss_y.astype(np.float32)[:, :, None]
                * gauss_x.astype(np.float32)[:, None])  # (K, H, W)
        return dict(scoremaps=maps, keypoint_weights=weights)

    def on_map_grid(self, scoremaps):
        """Input-size maps (..., K, H, W) -> (..., K, h, w) read at the map
        grid's input pixels ``i * stride`` (numpy or torch, as given)."""
        stride_x, stride_y = self.stride
        return scoremaps[..., ::stride_y, ::stride_x]

    def decode(self, maps) -> Tuple[np.ndarray, np.ndarray]:
        """(..., K, h, w) maps -> keypoints (..., K, 2) input px, scores
        (..., K)."""
        return self._argmax.decode(maps)
