"""Training targets of Ge et al.'s graph CNN (docs/ge.md).

Ge et al., "3D Hand Shape and Pose Estimation from a Single RGB Image",
CVPR 2019. :class:`RootRelativeMesh` gives the fully supervised stage's
mesh and pose targets (Section 3.3), :class:`CropDepthTarget` the weakly
supervised stage's depth image, in the crop, with the camera that renders
the predicted mesh into it (Section 3.4).
"""
from typing import Dict, Optional, Sequence

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_size
from handkit.registry import CODECS


@CODECS.register_module()
class RootRelativeMesh(BaseCodec):
    """3D joints (and mesh vertices) relative to the root joint, in the
    graph CNN's unit.

    Args:
        unit_mm: millimetres per unit of the head's coordinates (100: a
            hand spans about 2 units).
        root_index: the joint everything is relative to (0: the wrist).
        with_vertices: also encode ``vertices`` (the fully supervised
            stage; a dataset without them is refused by ``preflight``
            through the head's ``required_labels``).

    ``encode(keypoints_3d (21, 3) mm[, vertices (V, 3) mm])`` ->
    ``mesh_joints`` (21, 3) float32 and ``mesh_vertices`` (V, 3), both
    ``(x - root) / unit_mm``; ``mesh_weight`` (1,) 1.
    """

    SETTINGS = ('unit_mm', 'root_index', 'with_vertices')

    def __init__(self, unit_mm: float = 100.0, root_index: int = 0,
                 with_vertices: bool = True) -> None:
        if not unit_mm > 0:
            raise ValueError(f'RootRelativeMesh: unit_mm must be > 0, got '
                             f'{unit_mm!r}')
        self.unit_mm, self.root_index = float(unit_mm), int(root_index)
        self.with_vertices = bool(with_vertices)
        self.encode_inputs = (('keypoints_3d', 'vertices') if
                              self.with_vertices else ('keypoints_3d', ))

    def encode(self, keypoints_3d: np.ndarray,
               vertices: Optional[np.ndarray] = None
               ) -> Dict[str, np.ndarray]:
        joints = np.asarray(keypoints_3d, np.float64)
        if joints.ndim != 2 or joints.shape[1] != 3:
            raise ValueError(f'RootRelativeMesh: keypoints_3d must be (K, '
                             f'3), got {joints.shape}')
        root = joints[self.root_index]
        out = dict(mesh_joints=((joints - root) / self.unit_mm).astype(
            np.float32), mesh_weight=np.ones(1, np.float32))
        if self.with_vertices:
            points = np.asarray(vertices, np.float64)
            if points.ndim != 2 or points.shape[1] != 3:
                raise ValueError(f'RootRelativeMesh: vertices must be (V, '
                                 f'3), got {points.shape}')
            out['mesh_vertices'] = ((points - root) / self.unit_mm).astype(
                np.float32)
        return out

    def decode(self, coordinates: np.ndarray) -> np.ndarray:
        """Head coordinates -> root-relative mm."""
        return np.asarray(coordinates, np.float32) * self.unit_mm


@CODECS.register_module()
class CropDepthTarget(BaseCodec):
    """The depth image in the crop, for the depth-map loss.

    Args:
        input_size: (width, height) of the network input.
        window_mm: depth pixels farther than this from the root joint's
            depth are dropped (background, most of the arm); 0 keeps all.

    ``encode(depth (H, W) mm in input pixels (warped by TopdownAffine),
    keypoints_3d (21, 3) mm, cam_K (3, 3), warp_mat (2, 3))`` ->
    ``depth_target`` (H, W) float32 mm (0: no depth), ``crop_K`` (3, 3)
    float32 (``[warp_mat; 0 0 1] cam_K``: camera frame -> input pixels),
    ``root_3d`` (3,) float32 mm, camera frame, and ``depth_weight`` (1,)
    (0 when no pixel is left).
    """

    encode_inputs = ('depth', 'keypoints_3d', 'cam_K', 'warp_mat')
    SETTINGS = ('input_size', 'window_mm')

    def __init__(self, input_size: Sequence[int] = (256, 256),
                 window_mm: float = 150.0) -> None:
        self.input_size = check_size(input_size, 'input_size')
        self.window_mm = float(window_mm)

    def encode(self, depth: np.ndarray, keypoints_3d: np.ndarray,
               cam_K: np.ndarray, warp_mat: np.ndarray
               ) -> Dict[str, np.ndarray]:
        depth = np.asarray(depth, np.float32)
        width, height = self.input_size
        if depth.shape != (height, width):
            raise ValueError(
                f'CropDepthTarget: depth is {depth.shape} (H, W), expected '
                f'({height}, {width}), the input size: warp it with the '
                'image first (TopdownAffine)')
        root = np.asarray(keypoints_3d, np.float64)[0]
        target = np.where(depth > 0, depth, 0).astype(np.float32)
        if self.window_mm > 0:
            target[np.abs(target - root[2]) > self.window_mm] = 0
        affine = np.vstack([np.asarray(warp_mat, np.float64), [0, 0, 1]])
        return dict(
            depth_target=target,
            crop_K=(affine @ np.asarray(cam_K, np.float64)).astype(
                np.float32),
            root_3d=root.astype(np.float32),
            depth_weight=np.full(1, float((target > 0).any()), np.float32))
