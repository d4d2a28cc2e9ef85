"""Normalised depth-map codec: the target of Cai et al.'s depth regulariser.

Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
Monocular RGB Images", ECCV 2018: a depth camera's image of the hand,
aligned with the RGB crop, supervises a depth map generated from the
predicted 3D joints; it is needed at training time only. The depth must be
made independent of the hand's distance to the camera, as the joints are
root-relative. handkit's normalisation (the paper's exact constants are not
available here, docs/cai.md):

* the reference depth is the median of the crop's valid pixels (> 0), a
  label-free stand-in for the root's depth: a sample without a 3D label has
  no root depth, but has its depth image;
* ``(d - reference) / (depth_range_mm / 2)``, clipped to [-1, 1]: the hand
  lies within +-1 for a ``depth_range_mm`` cube (300 mm, the cube of
  handkit's depth configs);
* background pixels (0, no depth) take ``background`` (1.0: far).

``encode(depth (h, w) float32 mm, the crop's depth, aligned with the network
input by TopdownAffine)`` -> ``depth_map`` (H, W) float32 at ``output_size``
(nearest-neighbour resampling: no value mixes hand and background) and
``depth_weight`` (1,) (0 when the crop has no valid pixel, so the loss skips
it).
"""
from typing import Sequence

import cv2
import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.registry import CODECS


@CODECS.register_module()
class NormalizedDepthMap(BaseCodec):
    """Crop depth (mm) -> the regulariser's normalised depth map.

    Args:
        output_size: (width, height) of the generated depth map.
        depth_range_mm: depth span mapped to [-1, 1] around the reference.
        background: value of the pixels without depth.
    """

    encode_inputs = ('depth', )
    SETTINGS = ('output_size', 'depth_range_mm', 'background')

    def __init__(self, output_size: Sequence[int] = (32, 32),
                 depth_range_mm: float = 300.0,
                 background: float = 1.0) -> None:
        if len(output_size) != 2 or min(output_size) < 1:
            raise ValueError(f'NormalizedDepthMap: output_size must be '
                             f'(width, height) >= 1, got {output_size!r}')
        if not depth_range_mm > 0:
            raise ValueError(f'NormalizedDepthMap: depth_range_mm must be '
                             f'positive, got {depth_range_mm!r}')
        self.output_size = tuple(int(side) for side in output_size)
        self.depth_range_mm = float(depth_range_mm)
        self.background = float(background)

    def encode(self, depth: np.ndarray) -> dict:
        depth = np.asarray(depth, np.float32)
        if depth.ndim != 2:
            raise ValueError(f'NormalizedDepthMap.encode: depth must be an '
                             f'(h, w) map in mm, got shape {depth.shape}')
        depth = cv2.resize(depth, self.output_size,
                           interpolation=cv2.INTER_NEAREST)
        valid = depth > 0
        depth_map = np.full(depth.shape, self.background, np.float32)
        if not valid.any():
            return dict(depth_map=depth_map,
                        depth_weight=np.zeros(1, np.float32))
        reference = np.median(depth[valid])
        scaled = (depth - reference) / (self.depth_range_mm / 2)
        depth_map[valid] = np.clip(scaled[valid], -1.0, 1.0)
        return dict(depth_map=depth_map, depth_weight=np.ones(1, np.float32))
