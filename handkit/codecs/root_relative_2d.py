"""Root-relative 2D codec: each joint's image offset from the root.

The target of ``ScaleAlignedXYLoss`` (handkit's anchor of the x-y of 3D
joints in runs of Cai et al.'s model without 3D labels, docs/cai.md):
``encode(transformed_keypoints (K, 2) input px, keypoints_visible (K,))``
-> ``keypoints_2d_rel`` (K, 2) float32, ``(u_j - u_root) / S`` with ``S``
the input's longer side (values about +-0.5), and ``keypoints_2d_weight``
(K,) float32, 1 where both the joint and the root are labelled.
"""
from typing import Optional, Sequence

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.registry import CODECS


@CODECS.register_module()
class RootRelative2D(BaseCodec):
    """Input-pixel joints -> offsets from the root, in input sizes.

    Args:
        input_size: (width, height) of the network input.
        root_index: the root joint (0, the wrist).
    """

    SETTINGS = ('input_size', 'root_index')

    def __init__(self, input_size: Sequence[int] = (128, 128),
                 root_index: int = 0) -> None:
        if len(input_size) != 2 or min(input_size) < 1:
            raise ValueError(f'RootRelative2D: input_size must be (width, '
                             f'height) >= 1, got {input_size!r}')
        self.input_size = tuple(int(side) for side in input_size)
        self.root_index = int(root_index)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        keypoints = np.asarray(keypoints, np.float64)
        if keypoints.ndim != 2 or keypoints.shape[1] != 2 or not (
                0 <= self.root_index < len(keypoints)):
            raise ValueError(f'RootRelative2D.encode: keypoints must be (K, '
                             f'2) with root {self.root_index} among them, '
                             f'got shape {keypoints.shape}')
        visible = (np.ones(len(keypoints)) if keypoints_visible is None else
                   (np.asarray(keypoints_visible) > 0).astype(np.float64))
        offsets = (keypoints - keypoints[self.root_index]) / max(
            self.input_size)
        return dict(
            keypoints_2d_rel=offsets.astype(np.float32),
            keypoints_2d_weight=(visible * visible[self.root_index]).astype(
                np.float32))
