"""Location-map codec: DetNet's heatmaps, delta maps and location maps.

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.1.
DetNet predicts, on one h x w grid (32 x 32 for its 128 x 128 crop):

* heatmaps ``H_j`` (one Gaussian per joint, the 2D detection);
* delta maps ``D_j``: at every pixel, the 3D direction of the bone from
  joint j's parent to joint j (a unit vector; the wrist, the root of the
  tree, has no bone and gets 0);
* location maps ``L_j``: at every pixel, the 3D position of joint j
  relative to the root, the middle-finger MCP (``root_index`` 9), divided by
  the length of the reference bone wrist -> middle MCP (``reference_bone``
  (0, 9)): scale-free coordinates, 1 = one wrist-to-MCP bone.

The 3D joint is read from ``L_j`` at the argmax of ``H_j`` (:meth:`decode`).
Every pixel of a ground-truth ``D_j`` and ``L_j`` holds the same vector, and
the losses weigh the maps by the ground-truth heatmap (``||H^GT (.) (L^GT -
L)||^2``), so the codec encodes those vectors, (K, 3) each, and the loss
broadcasts them over the grid: the same sum without 2 x K x 3 x h x w floats
per sample. Heatmaps are :class:`KeypointConfidenceMap` maps (the grid
convention of docs/architecture.md: map coordinate = input pixel / stride).
"""
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from handkit.codecs.base import BaseCodec
from handkit.codecs.keypoint_confidence_map import KeypointConfidenceMap
from handkit.codecs.utils import (bone_length, check_bone, check_joint_index,
                                  check_normalizable_3d)
from handkit.registry import CODECS
from handkit.skeleton import NUM_KEYPOINTS, PARENTS

Array = Union[np.ndarray, torch.Tensor]
MIDDLE_MCP = 9


@CODECS.register_module()
class LocationMap(BaseCodec):
    """Heatmaps, delta and location targets of DetNet, and their read-out.

    Args:
        input_size: (width, height) of the network input in pixels.
        heatmap_size: (width, height) of the maps (input / 4 for DetNet).
        sigma: Gaussian sigma of the heatmaps, in map pixels.
        root_index: the joint the locations are relative to (9: the middle
            MCP, Zhou et al.'s root).
        reference_bone: (a, b), the bone whose length is the unit (0, 9:
            wrist -> middle MCP).

    ``encode(keypoints (21, 2) input px, keypoints_visible (21,),
    keypoints_3d (21, 3) mm)`` returns float32

    * ``heatmaps`` (21, h, w) and ``keypoint_weights`` (21,) (KCM, 0 for an
      invisible joint, whose maps are then all zero);
    * ``locations`` (21, 3): the value of every pixel of ``L^GT``,
      ``(X_j - X_root) / |X_b - X_a|``;
    * ``deltas`` (21, 3): the value of every pixel of ``D^GT``, the unit
      direction ``X_j - X_parent(j)`` (0 for the wrist).

    ``decode(heatmaps (..., 21, h, w), location_maps (..., 21, 3, h, w))``
    returns the (..., 21, 3) scale-free joints read at each heatmap's
    argmax (numpy in, numpy out; torch in, torch out);
    :meth:`denormalize` turns them into mm, :meth:`decode_keypoints` gives
    the 2D joints in input pixels.
    """

    encode_inputs = ('transformed_keypoints', 'keypoints_visible',
                     'keypoints_3d')
    SETTINGS = ('input_size', 'heatmap_size', 'sigma', 'root_index',
                'reference_bone')

    def __init__(self, input_size: Sequence[int] = (128, 128),
                 heatmap_size: Sequence[int] = (32, 32), sigma: float = 1.0,
                 root_index: int = MIDDLE_MCP,
                 reference_bone: Sequence[int] = (0, MIDDLE_MCP)) -> None:
        self.heatmap_codec = KeypointConfidenceMap(input_size, heatmap_size,
                                                   sigma)
        self.input_size = self.heatmap_codec.input_size
        self.heatmap_size = self.heatmap_codec.heatmap_size
        self.sigma = self.heatmap_codec.sigma
        self.root_index = check_joint_index(root_index,
                                            'LocationMap: root_index')
        self.reference_bone = check_bone(reference_bone,
                                         'LocationMap: reference_bone')

    def reference_length(self, keypoints_3d: np.ndarray) -> np.ndarray:
        """|X_b - X_a| of (..., 21, 3) joints: (...,) in their unit."""
        return bone_length(keypoints_3d, self.reference_bone)

    def normalize(self, keypoints_3d: np.ndarray) -> np.ndarray:
        """(..., 21, 3) joints -> root-relative joints in reference bones."""
        keypoints_3d = np.asarray(keypoints_3d, np.float64)
        length = self.reference_length(keypoints_3d)[..., None, None]
        root = keypoints_3d[..., self.root_index:self.root_index + 1, :]
        return (keypoints_3d - root) / length

    def denormalize(self, locations: Array,
                    reference_bone_mm: Union[float, np.ndarray]
                    ) -> np.ndarray:
        """Scale-free (..., 21, 3) joints -> mm, the root at the origin.

        ``reference_bone_mm`` is a length or one per leading index (...).
        """
        if isinstance(locations, torch.Tensor):
            locations = locations.detach().float().cpu().numpy()
        scale = np.asarray(reference_bone_mm, np.float64)
        return (np.asarray(locations, np.float64)
                * scale[..., None, None]).astype(np.float32)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray],
               keypoints_3d: np.ndarray) -> dict:
        keypoints_3d, length = check_normalizable_3d(
            keypoints_3d, self.reference_bone, 'LocationMap.encode')
        maps = self.heatmap_codec.encode(keypoints, keypoints_visible)
        if len(maps['heatmaps']) != NUM_KEYPOINTS:
            raise ValueError(f'LocationMap.encode: keypoints must have shape '
                             f'({NUM_KEYPOINTS}, 2), got '
                             f'{np.shape(keypoints)}')
        bones = keypoints_3d[1:] - keypoints_3d[PARENTS[1:]]  # (20, 3)
        norms = np.linalg.norm(bones, axis=-1, keepdims=True)
        deltas = np.zeros((NUM_KEYPOINTS, 3))
        deltas[1:] = bones / np.maximum(norms, 1e-12)
        return dict(
            maps,
            locations=self.normalize(keypoints_3d).astype(np.float32),
            deltas=deltas.astype(np.float32))

    def decode(self, heatmaps: Array, location_maps: Array) -> Array:
        """Read (..., K, C, h, w) maps at the argmax of (..., K, h, w)
        heatmaps: (..., K, C) (numpy or torch, as given)."""
        height, width = self.heatmap_size[1], self.heatmap_size[0]
        if tuple(heatmaps.shape[-2:]) != (height, width) or tuple(
                location_maps.shape[-2:]) != (height, width) or tuple(
                    location_maps.shape[:-3]) != tuple(heatmaps.shape[:-2]):
            raise ValueError(
                f'LocationMap.decode: heatmaps (..., K, {height}, {width}) '
                f'and location maps (..., K, C, {height}, {width}) must '
                f'match, got {tuple(heatmaps.shape)} and '
                f'{tuple(location_maps.shape)}')
        channels = location_maps.shape[-3]
        if isinstance(heatmaps, torch.Tensor):
            peak = heatmaps.flatten(-2).argmax(-1)  # (..., K)
            index = peak[..., None, None].expand(*peak.shape, channels, 1)
            return torch.gather(location_maps.flatten(-2), -1,
                                index.to(location_maps.device))[..., 0]
        peak = np.asarray(heatmaps).reshape(*heatmaps.shape[:-2], -1).argmax(
            -1)  # (..., K)
        flat = np.asarray(location_maps).reshape(*location_maps.shape[:-2],
                                                 -1)  # (..., K, C, h*w)
        return np.take_along_axis(flat, peak[..., None, None], -1)[..., 0]

    def decode_keypoints(self, heatmaps: Any
                         ) -> Tuple[np.ndarray, np.ndarray]:
        """2D joints (input px) and scores of heatmaps: the KCM decode."""
        return self.heatmap_codec.decode(heatmaps)
