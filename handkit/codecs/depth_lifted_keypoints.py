"""Depth-lifted keypoints: the 2D labels back-projected through the depth.

handkit's anchor for Cai et al.'s model trained without any 3D label (Cai,
Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from Monocular
RGB Images", ECCV 2018; docs/cai.md), not the paper's: a sample that has
2D labels and a registered depth image has, at each labelled joint's pixel,
the depth of the surface seen there. Back-projected through the camera, the
2D labels become 3D points on the hand's skin: a few mm in front of the
joints where the joint is in view, on the occluder where it is not.

``encode(transformed_keypoints (K, 2) input px, keypoints_visible (K,),
depth (h, w) mm of the crop (TopdownAffine's, aligned with the input),
cam_K (3, 3), warp_mat (2, 3) image -> input px[, occluded (K,)])`` ->

* ``keypoints_lifted`` (K, 3) float32 mm, camera frame: the depth ``d`` at
  each joint's nearest input pixel, the joint's image pixel (the inverse of
  ``warp_mat``) and ``cam_K`` give ``geometry.uvd_to_xyz``;
* ``keypoints_lifted_weight`` (K,) float32: 1 where the joint is labelled,
  inside the crop, on a pixel with depth, and within ``depth_range_mm / 2``
  of the median depth of those joints (the background and far occluders
  drop out); with ``exclude_occluded`` also 0 where the sample's
  ``occluded`` flag (a 2D annotation: RHD's visibility, the synthetic
  renderer's depth test) says the joint is hidden, as its surface point is
  then the occluder's.

The points keep the skin's offset from the joints and the camera's absolute
depth: ``ScaleShiftAlignedLoss`` compares them with the normalised joints
up to a scale and a shift per sample.
"""
from typing import Optional, Sequence

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.geometry import uvd_to_xyz
from handkit.registry import CODECS


@CODECS.register_module()
class DepthLiftedKeypoints(BaseCodec):
    """Input-pixel 2D labels + crop depth -> camera-frame surface points.

    Args:
        depth_range_mm: joints whose depth lies farther than half of it
            from the median over the hand's joints get weight 0 (300: the
            cube of handkit's depth configs, as ``NormalizedDepthMap``).
        exclude_occluded: also read the sample's ``occluded`` (K,) flags
            and give the hidden joints weight 0.
    """

    SETTINGS = ('depth_range_mm', 'exclude_occluded')
    # a label it can do without, and the setting that does (preflight's
    # hint when a dataset lacks it)
    label_fallbacks = dict(
        occluded='exclude_occluded=False in DepthLiftedKeypoints')

    def __init__(self, depth_range_mm: float = 300.0,
                 exclude_occluded: bool = False) -> None:
        if not depth_range_mm > 0:
            raise ValueError(f'DepthLiftedKeypoints: depth_range_mm must be '
                             f'positive, got {depth_range_mm!r}')
        self.depth_range_mm = float(depth_range_mm)
        self.exclude_occluded = bool(exclude_occluded)
        self.encode_inputs = ('transformed_keypoints', 'keypoints_visible',
                              'depth', 'cam_K', 'warp_mat') + (
                                  ('occluded', ) if exclude_occluded else ())

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray,
               depth: np.ndarray, cam_K: np.ndarray, warp_mat: np.ndarray,
               occluded: Optional[Sequence[bool]] = None) -> dict:
        keypoints = np.asarray(keypoints, np.float64)
        depth = np.asarray(depth, np.float32)
        warp_mat = np.asarray(warp_mat, np.float64)
        if keypoints.ndim != 2 or keypoints.shape[1] != 2:
            raise ValueError(f'DepthLiftedKeypoints.encode: keypoints must '
                             f'be (K, 2) input pixels, got shape '
                             f'{keypoints.shape}')
        if depth.ndim != 2 or warp_mat.shape != (2, 3):
            raise ValueError(f'DepthLiftedKeypoints.encode: depth must be '
                             f'an (h, w) map in mm and warp_mat (2, 3), got '
                             f'{depth.shape} and {warp_mat.shape}')
        height, width = depth.shape
        cols = np.round(keypoints[:, 0]).astype(np.int64)
        rows = np.round(keypoints[:, 1]).astype(np.int64)
        inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
        sampled = np.zeros(len(keypoints), np.float64)
        sampled[inside] = depth[rows[inside], cols[inside]]
        valid = inside & (np.asarray(keypoints_visible).reshape(-1) > 0) & (
            sampled > 0)
        if occluded is not None:
            valid &= ~np.asarray(occluded, bool).reshape(-1)
        if valid.any():
            reference = np.median(sampled[valid])
            valid &= np.abs(sampled - reference) <= self.depth_range_mm / 2
        # Input pixels -> image pixels: the inverse of the crop's affine.
        to_input = np.vstack([warp_mat, [0.0, 0.0, 1.0]])
        pixels = np.c_[keypoints, np.ones(len(keypoints))] @ np.linalg.inv(
            to_input).T
        lifted = uvd_to_xyz(np.c_[pixels[:, :2], sampled], cam_K)
        lifted[~valid] = 0.0
        return dict(keypoints_lifted=lifted.astype(np.float32),
                    keypoints_lifted_weight=valid.astype(np.float32))
