"""Depth-cube codec: paper 002's depth crop (DeepPrior++ / V2V practice).

Paper 002 ("Definition of hand joints"): "One joint annotation is used as the
location prior of the hand ... The depth values and the joint coordinates are
normalized to [-1, 1]." The usual way to do so, written out here:

* a cube of edge ``cube_size`` mm is centred on the reference point
  ``center = (X, Y, Z)`` mm in the camera frame (x right, y down, z forward,
  pinhole ``u = fx x / z + cx``, ``v = fy y / z + cy``);
* the image window is the cube's projection at the centre's depth: centred on
  ``(u_c, v_c)``, half-width ``r_x = (cube_size / 2) fx / Z`` and half-height
  ``r_y = (cube_size / 2) fy / Z`` pixels, i.e. ``crop_window = (u_c - r_x,
  v_c - r_y, u_c + r_x, v_c + r_y)``;
* the window is resampled to ``input_size`` with nearest-neighbour (depth must
  not be blended across edges). With integer pixel centres, the window's outer
  edges map to the outer edges of the input: input pixel ``i`` samples image
  coordinate ``u_c + (i - (w - 1) / 2) * 2 r_x / w`` (``warp_mat`` is that map,
  image -> input);
* depth ``d`` becomes ``(d - Z) / (cube_size / 2)``; missing depth (0, also
  outside the image) and everything behind the cube become 1 (background), and
  everything in front of it is clipped to -1;
* joints ``(J, 3)`` mm become ``(xyz - center) / (cube_size / 2)``, NOT clipped
  (so that :meth:`DepthCube.decode` inverts it exactly).

A reference point given as (u, v, d) converts with
:meth:`DepthCube.uvd_to_xyz`.
"""
import cv2
import numpy as np

from handkit.registry import CODECS


@CODECS.register_module()
class DepthCube:
    """Crop and normalise a depth image and its joints to a cube.

    Args:
        cube_size: edge of the cube in mm (300 for NYU in DeepPrior++ / V2V).
        input_size: (w, h) of the network input, e.g. (128, 128).
        fx, fy, cx, cy: pinhole intrinsics of the depth camera, in pixels
            (NYU: ``handkit.datasets.nyu.NYU_CAMERA``).

    ``encode(depth (H, W) mm, joints_3d (J, 3) mm or None, center (3,) mm)``
    returns ``depth_input`` float32 (1, h, w) in [-1, 1], ``joints_cube``
    float32 (J, 3) (when joints are given), ``crop_window`` float32 (4,)
    (u0, v0, u1, v1) image pixels, ``warp_mat`` float32 (2, 3) image -> input
    pixels, ``cube_center`` float32 (3,) and ``cube_size`` float: the last two
    are what :meth:`decode` (and ``LocalRegressionHead.predict``, through the
    sample's meta) needs to return to millimetres.
    """

    def __init__(self, cube_size=300.0, input_size=(128, 128), *, fx, fy, cx,
                 cy):
        if not cube_size > 0:
            raise ValueError(f'DepthCube: cube_size must be positive (mm), '
                             f'got {cube_size}')
        if len(input_size) != 2 or min(input_size) <= 0:
            raise ValueError(f'DepthCube: input_size must be (w, h) > 0, got '
                             f'{input_size}')
        if not (fx > 0 and fy > 0):
            raise ValueError(f'DepthCube: focal lengths must be positive, got '
                             f'fx={fx}, fy={fy}')
        self.cube_size = float(cube_size)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.fx, self.fy, self.cx, self.cy = map(float, (fx, fy, cx, cy))

    # -- camera ------------------------------------------------------------
    def xyz_to_uvd(self, xyz):
        """(..., 3) camera-frame mm -> (..., 3) (u px, v px, depth mm)."""
        xyz = np.asarray(xyz, dtype=np.float64)
        z = xyz[..., 2]
        return np.stack([self.fx * xyz[..., 0] / z + self.cx,
                         self.fy * xyz[..., 1] / z + self.cy, z], axis=-1)

    def uvd_to_xyz(self, uvd):
        """(..., 3) (u px, v px, depth mm) -> (..., 3) camera-frame mm."""
        uvd = np.asarray(uvd, dtype=np.float64)
        d = uvd[..., 2]
        return np.stack([(uvd[..., 0] - self.cx) * d / self.fx,
                         (uvd[..., 1] - self.cy) * d / self.fy, d], axis=-1)

    # -- codec -------------------------------------------------------------
    def crop_window(self, center):
        """(u0, v0, u1, v1): the image window the cube projects to."""
        u_c, v_c, z = self.xyz_to_uvd(center)
        half_w = 0.5 * self.cube_size * self.fx / z
        half_h = 0.5 * self.cube_size * self.fy / z
        return np.array([u_c - half_w, v_c - half_h, u_c + half_w,
                         v_c + half_h], np.float32)

    def encode(self, depth, joints_3d, center):
        depth = np.asarray(depth)
        if depth.ndim != 2:
            raise ValueError(f'DepthCube.encode: depth must be an (H, W) '
                             f'image in mm, got shape {depth.shape}')
        center = self._check_center(center, 'encode')
        u0, v0, u1, v1 = window = self.crop_window(center)
        in_w, in_h = self.input_size
        scale_x, scale_y = in_w / (u1 - u0), in_h / (v1 - v0)
        u_c, v_c = (u0 + u1) / 2, (v0 + v1) / 2
        # input = scale * (image - window centre) + input centre ((w-1)/2).
        warp_mat = np.array(
            [[scale_x, 0, (in_w - 1) / 2 - scale_x * u_c],
             [0, scale_y, (in_h - 1) / 2 - scale_y * v_c]], np.float32)
        crop = cv2.warpAffine(
            depth.astype(np.float32), warp_mat, (in_w, in_h),
            flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0)
        half = self.cube_size / 2
        normalised = (crop - center[2]) / half
        normalised[(crop <= 0) | (normalised > 1)] = 1.0  # missing or far
        normalised = np.maximum(normalised, -1.0)  # in front of the cube
        results = {
            'depth_input': normalised[None].astype(np.float32),
            'crop_window': window,
            'warp_mat': warp_mat,
            'cube_center': center.astype(np.float32),
            'cube_size': self.cube_size,
        }
        if joints_3d is not None:
            joints_3d = np.asarray(joints_3d, dtype=np.float64)
            if joints_3d.ndim != 2 or joints_3d.shape[1] != 3:
                raise ValueError(f'DepthCube.encode: joints_3d must have '
                                 f'shape (J, 3) mm, got {joints_3d.shape}')
            results['joints_cube'] = ((joints_3d - center) /
                                      half).astype(np.float32)
        return results

    def decode(self, joints_cube, center):
        """Joints in mm (camera frame) from cube coordinates."""
        return self.cube_to_camera(joints_cube, self._check_center(
            center, 'decode'), self.cube_size)

    @staticmethod
    def cube_to_camera(joints_cube, center, cube_size):
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

    @staticmethod
    def _check_center(center, where):
        center = np.asarray(center, dtype=np.float64)
        if center.shape != (3, ) or not np.isfinite(center).all():
            raise ValueError(f'DepthCube.{where}: center must be a finite '
                             f'(3,) point in mm, got {center.tolist()}')
        if center[2] <= 0:
            raise ValueError(f'DepthCube.{where}: center depth must be '
                             f'positive (mm, camera looks along +z), got '
                             f'{center[2]}')
        return center
