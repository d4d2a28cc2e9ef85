"""Depth-cube codec: joints in Li and Wang's normalised cube (DeepPrior++ /
V2V).

Li and Wang ("Definition of hand joints"): "One joint annotation is used as the
location prior of the hand ... The depth values and the joint coordinates are
normalized to [-1, 1]." A cube of edge ``cube_size`` mm is centred on the
reference point ``center = (X, Y, Z)`` mm in the camera frame (x right, y
down, z forward); joints ``(J, 3)`` mm become

    joints_cube = (xyz - center) / (cube_size / 2)

NOT clipped, so that :meth:`DepthCube.decode` inverts it exactly. The depth
image itself is cropped to the cube's window, resampled and normalised by
the pipeline's :class:`~handkit.datasets.transforms.depth.DepthCubeCrop`
(image warping is a transform's job); the window and the pinhole are
:mod:`handkit.geometry`'s.
"""
from typing import Union

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_cube_center
from handkit.registry import CODECS


@CODECS.register_module()
class DepthCube(BaseCodec):
    """Camera-frame joints (mm) <-> joints in the normalised cube.

    Args:
        cube_size: edge of the cube in mm (300 for NYU in DeepPrior++ / V2V).

    ``encode(keypoints_3d (J, 3) mm, cube_center (3,) mm)`` returns
    ``joints_cube`` float32 (J, 3); ``decode(joints_cube (J, 3), center)``
    returns float32 (J, 3) mm. The centre is per sample (``DepthCubeCrop``
    writes it as ``cube_center``, and ``LocalRegressionHead.predict`` reads
    it from each sample's meta with :meth:`cube_to_camera`).
    """

    encode_inputs = ('keypoints_3d', 'cube_center')
    SETTINGS = ('cube_size', )

    def __init__(self, cube_size: float = 300.0) -> None:
        if not cube_size > 0:
            raise ValueError(f'DepthCube: cube_size must be positive (mm), '
                             f'got {cube_size}')
        self.cube_size = float(cube_size)

    def encode(self, keypoints_3d: np.ndarray, center: np.ndarray) -> dict:
        center = check_cube_center(center, 'DepthCube.encode')
        joints_3d = np.asarray(keypoints_3d, dtype=np.float64)
        if joints_3d.ndim != 2 or joints_3d.shape[1] != 3:
            raise ValueError(f'DepthCube.encode: joints_3d must have '
                             f'shape (J, 3) mm, got {joints_3d.shape}')
        half = self.cube_size / 2
        return {'joints_cube': ((joints_3d - center) / half).astype(
            np.float32)}

    def decode(self, joints_cube: np.ndarray,
               center: np.ndarray) -> np.ndarray:
        """Joints in mm (camera frame) from cube coordinates."""
        return self.cube_to_camera(joints_cube, check_cube_center(
            center, 'DepthCube.decode'), self.cube_size)

    @staticmethod
    def cube_to_camera(joints_cube: np.ndarray, center: np.ndarray,
                       cube_size: Union[float, np.ndarray]) -> np.ndarray:
        """``joints_cube * cube_size / 2 + center``, broadcast over a batch.

        Args:
            joints_cube: (..., J, 3) in cube units.
            center: (..., 3) mm, one centre per leading index.
            cube_size: scalar or (...,) mm, one edge per leading index.
        """
        joints_cube = np.asarray(joints_cube, dtype=np.float64)
        center = np.asarray(center, dtype=np.float64)
        cube_size = np.asarray(cube_size, dtype=np.float64)
        return (joints_cube * (cube_size[..., None, None] / 2) +
                center[..., None, :]).astype(np.float32)
