"""Keypoint confidence maps (KCM): the Gaussian heatmap codec.

Encodes one hand's keypoints as one Gaussian map per keypoint (NSRM paper,
Section 3.3, eq. 6) and decodes predicted maps back to keypoints by argmax
with the usual quarter-pixel refinement.

The map grid (docs/architecture.md): pixel ``i`` of a map sits at map
coordinate ``i``, and map coordinate = input-pixel coordinate / stride, with
stride = input_size / heatmap_size per axis (368 / 46 = 8). Sizes are
(width, height).
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import (check_choice, check_keypoints,
                                  check_positive, check_size)
from handkit.registry import CODECS


@CODECS.register_module()
class KeypointConfidenceMap(BaseCodec):
    """Gaussian keypoint confidence maps, NSRM eq. 6.

    ``C*(p|k) = exp(-||p - p_k||^2 / (2 sigma^2))`` evaluated at every map
    pixel ``p``, with ``p_k`` the keypoint in map coordinates; not truncated.

    Args:
        input_size: (width, height) of the network input, in pixels.
        heatmap_size: (width, height) of the maps.
        sigma: sigma_KCM of eq. 6, in map pixels.
        subpixel: how ``decode`` goes below a map pixel: 'quarter' (argmax,
            then a quarter map pixel toward the higher neighbour, as MMPose
            and the Hourglass code do) or 'upsample' (the maps resized to the
            input size with bicubic interpolation, then argmax: the CPM
            authors' inference, accurate to an input pixel).
    """

    SUBPIXEL = ('quarter', 'upsample')
    SETTINGS = ('input_size', 'heatmap_size', 'sigma', 'subpixel')

    def __init__(self, input_size: Sequence[int] = (368, 368),
                 heatmap_size: Sequence[int] = (46, 46), sigma: float = 1.0,
                 subpixel: str = 'quarter') -> None:
        self.input_size = check_size(input_size, 'input_size')
        self.heatmap_size = check_size(heatmap_size, 'heatmap_size')
        self.sigma = check_positive(sigma, 'sigma')
        self.subpixel = check_choice(subpixel, 'subpixel', self.SUBPIXEL)
        # (x, y) input pixels per map pixel
        self.stride = (np.array(self.input_size, np.float64) /
                       np.array(self.heatmap_size, np.float64))
        width, height = self.heatmap_size
        self._grid_x = np.arange(width, dtype=np.float64)  # (W,)
        self._grid_y = np.arange(height, dtype=np.float64)  # (H,)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Keypoints in input pixels -> Gaussian maps (eq. 6).

        Args:
            keypoints: (K, 2) x, y in input pixels.
            keypoints_visible: (K,) or None (all visible).

        Returns:
            dict: ``heatmaps`` float32 (K, H, W), all zeros for an invisible
            keypoint; ``keypoint_weights`` float32 (K,), 1 visible, 0 not.
        """
        keypoints, weights = check_keypoints(keypoints, keypoints_visible)
        centres = keypoints.astype(np.float64) / self.stride  # (K, 2) map px
        scale = -0.5 / self.sigma**2
        # eq. 6 is separable: exp(-(dx^2 + dy^2) / 2s^2) = gx * gy
        gauss_x = np.exp(scale * (self._grid_x - centres[:, :1])**2)  # (K, W)
        gauss_y = np.exp(scale * (self._grid_y - centres[:, 1:])**2)  # (K, H)
        gauss_x = (gauss_x * weights[:, None]).astype(np.float32)
        heatmaps = gauss_y.astype(np.float32)[:, :, None] * gauss_x[:, None]
        return dict(heatmaps=heatmaps, keypoint_weights=weights)

    def decode(self,
               heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Maps -> keypoints in input pixels, by argmax plus refinement.

        'quarter': the argmax moves 0.25 map pixel toward its higher
        neighbour on each axis where it is not on that axis' border, then
        scales by the stride. 'upsample': see :meth:`_decode_upsampled`.

        Args:
            heatmaps: (K, H, W) or (N, K, H, W), numpy or a torch tensor.

        Returns:
            ``(keypoints, scores)``: float32 (K, 2) / (N, K, 2) in input
            pixels and float32 (K,) / (N, K), the maximum of each map.
        """
        if hasattr(heatmaps, 'detach'):  # torch, without importing torch
            # .float(): numpy has no bfloat16 (mixed-precision outputs)
            heatmaps = heatmaps.detach().float().cpu().numpy()
        heatmaps = np.asarray(heatmaps, dtype=np.float32)
        width, height = self.heatmap_size
        if heatmaps.ndim not in (3, 4) or heatmaps.shape[-2:] != (height,
                                                                  width):
            raise ValueError(
                f'heatmaps must have shape (K, {height}, {width}) or '
                f'(N, K, {height}, {width}), got {heatmaps.shape}')
        if not np.isfinite(heatmaps).all():
            raise ValueError('heatmaps hold NaN or inf')
        if self.subpixel == 'upsample':
            return self._decode_upsampled(heatmaps)
        lead_shape = heatmaps.shape[:-2]
        flat = heatmaps.reshape(-1, height * width)  # (M, H*W)
        rows = np.arange(len(flat))
        peak = flat.argmax(axis=1)  # (M,)
        scores = flat[rows, peak]
        peak_y, peak_x = np.divmod(peak, width)

        def shift(lower: np.ndarray, upper: np.ndarray,
                  interior: np.ndarray) -> np.ndarray:
            # +-0.25 toward the higher neighbour; 0 on the border or a tie
            step = np.sign(flat[rows, upper] - flat[rows, lower])
            return 0.25 * step * interior

        shift_x = shift(peak_y * width + np.maximum(peak_x - 1, 0),
                        peak_y * width + np.minimum(peak_x + 1, width - 1),
                        (peak_x > 0) & (peak_x < width - 1))
        shift_y = shift(np.maximum(peak_y - 1, 0) * width + peak_x,
                        np.minimum(peak_y + 1, height - 1) * width + peak_x,
                        (peak_y > 0) & (peak_y < height - 1))
        keypoints = np.stack([peak_x + shift_x, peak_y + shift_y],
                             axis=1) * self.stride
        return (keypoints.astype(np.float32).reshape(*lead_shape, 2),
                scores.reshape(lead_shape))

    def _decode_upsampled(self, heatmaps):
        """Bicubic upsampling of each sample's maps to the input, argmax.

        ``cv2.resize`` puts output pixel ``x`` at map coordinate
        ``(x + 0.5) / stride - 0.5``; on the map grid of this codec that is
        input pixel ``x - (stride - 1) / 2``, which the result is shifted by.
        Beyond the first and last map pixel the resized maps are
        extrapolated, so the result is clipped to that span.
        """
        lead_shape = heatmaps.shape[:-2]
        num_keypoints, height, width = heatmaps.shape[-3:]
        samples = heatmaps.reshape(-1, num_keypoints, height, width)
        in_w, in_h = self.input_size
        keypoints = np.empty((len(samples), num_keypoints, 2), np.float32)
        scores = np.empty((len(samples), num_keypoints), np.float32)
        for index, maps in enumerate(samples):  # one resize per sample
            upsampled = cv2.resize(maps.transpose(1, 2, 0), (in_w, in_h),
                                   interpolation=cv2.INTER_CUBIC)
            flat = upsampled.reshape(in_h * in_w, num_keypoints)
            peak = flat.argmax(axis=0)
            scores[index] = flat[peak, np.arange(num_keypoints)]
            keypoints[index, :, 1], keypoints[index, :, 0] = np.divmod(
                peak, in_w)
        stride = self.stride.astype(np.float32)
        keypoints = np.clip(keypoints - (stride - 1) / 2, 0,
                            (np.array([width, height]) - 1) * stride)
        return (keypoints.astype(np.float32).reshape(*lead_shape, 2),
                scores.reshape(lead_shape))
