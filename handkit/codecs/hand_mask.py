"""A real hand mask as the structure target: NSRM's "Real Mask" baseline.

NSRM Section 4.3 (OneHand10K, Table 2) compares its synthetic limb masks with
supervising the same structure module by real segmentation masks ("Real
Mask", the Mask-pose Cascaded CNN of Wang et al.), and with real masks plus
the decayed loss schedule ("Real Mask ++"). :class:`HandMask` encodes the
sample's ``hand_mask`` (H, W) bool in input pixels (the renderer's mask for
synthetic hands, the release's mask PNG for OneHand10K, warped with the
image) as a one-channel map on the KCM grid, ``hand_masks`` with
``hand_mask_weights``: a G1 structure head learns it as it learns a limb
mask (``StructureMaskHead(mask_target='hand_masks')``), and HandSegNet's
head (``HandSegHead``) reads it at the input size.
"""
from typing import Dict, Sequence

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_size
from handkit.registry import CODECS


@CODECS.register_module()
class HandMask(BaseCodec):
    """Hand mask (input pixels) -> fraction of hand in each map cell.

    Map pixel ``(i, j)`` sits at input pixel ``(i * stride_x, j *
    stride_y)`` (the grid of :mod:`handkit.codecs.keypoint_confidence_map`);
    its value is the fraction of mask pixels in the stride x stride window
    centred there (clipped at the image border), so a binary mask becomes a
    soft target in [0, 1] that the structure head's sigmoid cross-entropy
    (NSRM eq. 5) takes as it takes LPM.

    Args:
        input_size: (width, height) of the network input, in pixels.
        heatmap_size: (width, height) of the target map.
    """

    encode_inputs = ('hand_mask', )
    SETTINGS = ('input_size', 'heatmap_size')

    def __init__(self, input_size: Sequence[int] = (368, 368),
                 heatmap_size: Sequence[int] = (46, 46)) -> None:
        self.input_size = check_size(input_size, 'input_size')
        self.heatmap_size = check_size(heatmap_size, 'heatmap_size')
        width, height = self.input_size
        self._windows = [
            _window_bounds(map_size, image_size)
            for map_size, image_size in zip(self.heatmap_size, (width,
                                                                height))]

    def encode(self, hand_mask: np.ndarray) -> Dict[str, np.ndarray]:
        """(H, W) mask at the input size -> ``hand_masks`` (1, h, w) float32
        and ``hand_mask_weights`` (1,) ones (a real mask is never missing).
        """
        mask = np.asarray(hand_mask)
        width, height = self.input_size
        if mask.shape != (height, width):
            raise ValueError(
                f'HandMask: hand_mask is {mask.shape} (H, W), expected '
                f'({height}, {width}), the input size: warp it with the '
                f'image first (TopdownAffine)')
        integral = np.zeros((height + 1, width + 1), np.float64)
        integral[1:, 1:] = (mask > 0).cumsum(0).cumsum(1)
        (x_low, x_high), (y_low, y_high) = self._windows
        total = (integral[y_high[:, None], x_high[None]]
                 - integral[y_low[:, None], x_high[None]]
                 - integral[y_high[:, None], x_low[None]]
                 + integral[y_low[:, None], x_low[None]])  # (h, w)
        area = (y_high - y_low)[:, None] * (x_high - x_low)[None]
        fraction = (total / area).astype(np.float32)
        return dict(hand_masks=fraction[None],
                    hand_mask_weights=np.ones(1, np.float32))


def _window_bounds(map_size: int, image_size: int):
    """[low, high) input-pixel bounds of each map pixel's window, (n,) each.
    """
    stride = image_size / map_size
    centre = np.arange(map_size) * stride
    low = np.clip(np.round(centre - stride / 2), 0, image_size - 1)
    high = np.clip(np.round(centre + stride / 2), low + 1, image_size)
    return low.astype(np.int64), high.astype(np.int64)
