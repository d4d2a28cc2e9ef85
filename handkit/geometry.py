"""Geometry shared by every layer: affine crops, their inverse, the pinhole.

This module is on the ground floor of handkit (beside :mod:`handkit.skeleton`):
it imports numpy only, so codecs, transforms, adapters, the estimator and the
metrics all take their geometry from here and never from each other.

Conventions (docs/architecture.md): pixel centres sit at integer
coordinates, so an image of width ``w`` spans ``[-0.5, w - 0.5]`` and its
centre is ``(w - 1) / 2``; sizes are (width, height); an affine matrix is
(2, 3) and maps column vectors ``(x, y, 1)``. Camera frame: x right, y down,
z forward (mm), pinhole intrinsics ``cam_K`` (3, 3) with ``u = (K x)_0 /
(K x)_2``. Every function is vectorised over leading dimensions; none loops
over points.
"""
from typing import Sequence, Tuple

import numpy as np


def get_warp_matrix(center: Sequence[float], size: float, rotation: float,
                    input_size: Sequence[int],
                    flip: bool = False) -> np.ndarray:
    """Affine matrix (2, 3) float32 from original pixels to input pixels.

    The crop is the square of side ``size`` centred on ``center``, turned
    by ``rotation``; it is mapped exactly onto the input rectangle ``[-0.5,
    W - 0.5] x [-0.5, H - 0.5]`` (NSRM Section 4.1 crops a square of 2.2 x
    the tightest keypoint box).

    Args:
        center: (2,) x, y of the crop centre in original pixels; it goes to
            the input centre ``((W - 1) / 2, (H - 1) / 2)``.
        size: side of the square crop in original pixels; x is scaled by
            ``W / size`` and y by ``H / size`` so the square fills the input.
        rotation: degrees; a positive angle turns the image content
            counter-clockwise as displayed (y pointing down), i.e. the crop
            square is turned clockwise over the original image. A point right
            of the centre lands above the input centre for +90.
        input_size: (W, H) of the network input.
        flip: mirror the result horizontally about the input centre (the
            mirror is applied after the rotation, so the flipped input is the
            left-right mirror image of the unflipped one).
    """
    input_w, input_h = input_size
    theta = np.deg2rad(rotation)
    cos, sin = np.cos(theta), np.sin(theta)
    # Counter-clockwise as displayed: with y down, (1, 0) goes to (0, -1).
    rotate = np.array([[cos, sin], [-sin, cos]])
    mirror = np.diag([-1.0 if flip else 1.0, 1.0])
    scale = np.diag([input_w / size, input_h / size])
    linear = scale @ mirror @ rotate
    input_center = np.array([(input_w - 1) / 2, (input_h - 1) / 2])
    shift = input_center - linear @ np.asarray(center, dtype=np.float64)
    return np.concatenate([linear, shift[:, None]], axis=1).astype(np.float32)


def apply_affine(points: np.ndarray, warp_mat: np.ndarray) -> np.ndarray:
    """Map points with affine matrices; float32 (..., N, 2).

    Args:
        points: (..., N, 2) x, y.
        warp_mat: (2, 3), or (..., 2, 3), broadcast against the leading
            dimensions of ``points`` as ``np.matmul`` does: (B, K, 2)
            keypoints with (B, 2, 3) matrices map each sample with its own,
            (K, 2) with (B, 2, 3) gives (B, K, 2).
    """
    points = np.asarray(points, dtype=np.float64)
    warp_mat = np.asarray(warp_mat, dtype=np.float64)
    linear = np.swapaxes(warp_mat[..., :2], -1, -2)  # (..., 2, 2), transposed
    return (points @ linear + warp_mat[..., None, :, 2]).astype(np.float32)


def invert_affine(warp_mat: np.ndarray) -> np.ndarray:
    """Inverse of (..., 2, 3) affine matrices, float64 (..., 2, 3).

    ``apply_affine(apply_affine(p, A), invert_affine(A))`` is ``p``: the
    estimator maps input-pixel predictions back to the original image so.

    Raises:
        ValueError: ``warp_mat`` is not (..., 2, 3).
    """
    warp_mat = np.asarray(warp_mat, dtype=np.float64)
    if warp_mat.shape[-2:] != (2, 3):
        raise ValueError(f'warp_mat must be (..., 2, 3), got '
                         f'{warp_mat.shape}')
    linear = np.linalg.inv(warp_mat[..., :2])  # (..., 2, 2)
    shift = -np.einsum('...ij,...j->...i', linear, warp_mat[..., 2])
    return np.concatenate([linear, shift[..., None]], axis=-1)


def project_points(points: np.ndarray, cam_K: np.ndarray) -> np.ndarray:
    """Pinhole projection of (..., K, 3) camera-frame points to (..., K, 2).

    ``cam_K`` is (3, 3) or batched (..., 3, 3) intrinsics matching the leading
    dimensions of ``points``.
    """
    uvw = np.asarray(points) @ np.swapaxes(np.asarray(cam_K), -1, -2)
    return uvw[..., :2] / uvw[..., 2:]


def _intrinsics(cam_K: np.ndarray) -> Tuple[np.ndarray, ...]:
    """fx, fy, cx, cy of (3, 3) skew-free intrinsics, float64."""
    cam_K = np.asarray(cam_K, dtype=np.float64)
    if cam_K.shape != (3, 3):
        raise ValueError(f'cam_K must be (3, 3), got {cam_K.shape}')
    return cam_K[0, 0], cam_K[1, 1], cam_K[0, 2], cam_K[1, 2]


def xyz_to_uvd(xyz: np.ndarray, cam_K: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame mm -> (..., 3) (u px, v px, depth mm), float64.

    ``u = fx x / z + cx``, ``v = fy y / z + cy`` (skew-free ``cam_K``, as
    depth cameras are).
    """
    fx, fy, cx, cy = _intrinsics(cam_K)
    xyz = np.asarray(xyz, dtype=np.float64)
    z = xyz[..., 2]
    return np.stack([fx * xyz[..., 0] / z + cx, fy * xyz[..., 1] / z + cy, z],
                    axis=-1)


def uvd_to_xyz(uvd: np.ndarray, cam_K: np.ndarray) -> np.ndarray:
    """(..., 3) (u px, v px, depth mm) -> (..., 3) camera-frame mm, float64;
    the inverse of :func:`xyz_to_uvd`."""
    fx, fy, cx, cy = _intrinsics(cam_K)
    uvd = np.asarray(uvd, dtype=np.float64)
    d = uvd[..., 2]
    return np.stack([(uvd[..., 0] - cx) * d / fx, (uvd[..., 1] - cy) * d / fy,
                     d], axis=-1)


def cube_window(center: np.ndarray, cube_size: float,
                cam_K: np.ndarray) -> np.ndarray:
    """(u0, v0, u1, v1) float32: the image window a cube projects to.

    The cube of edge ``cube_size`` mm centred on ``center`` (3,) mm is taken
    at the centre's depth ``Z``: the window is centred on the centre's
    projection ``(u_c, v_c)``, with half-width ``(cube_size / 2) fx / Z`` and
    half-height ``(cube_size / 2) fy / Z`` pixels (the depth crop of
    DeepPrior++ and V2V-PoseNet that Li and Wang's local regression network
    takes).
    """
    fx, fy, _, _ = _intrinsics(cam_K)
    u_c, v_c, z = xyz_to_uvd(center, cam_K)
    half_w = 0.5 * cube_size * fx / z
    half_h = 0.5 * cube_size * fy / z
    return np.array([u_c - half_w, v_c - half_h, u_c + half_w, v_c + half_h],
                    np.float32)


def window_warp_matrix(window: np.ndarray,
                       input_size: Sequence[int]) -> np.ndarray:
    """Affine matrix (2, 3) float32 mapping an axis-aligned image window
    (u0, v0, u1, v1) onto the input ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.

    Input pixel ``i`` then samples image coordinate ``u_c + (i - (W - 1) /
    2) (u1 - u0) / W``: :func:`get_warp_matrix` of the window's centre and
    sides without rotation, computed in float32 from a float32 window (the
    depth crop of :class:`~handkit.datasets.transforms.depth.DepthCubeCrop`).
    """
    u0, v0, u1, v1 = np.asarray(window, dtype=np.float32)
    in_w, in_h = input_size
    scale_x, scale_y = in_w / (u1 - u0), in_h / (v1 - v0)
    u_c, v_c = (u0 + u1) / 2, (v0 + v1) / 2
    # input = scale * (image - window centre) + input centre ((w - 1) / 2)
    return np.array([[scale_x, 0, (in_w - 1) / 2 - scale_x * u_c],
                     [0, scale_y, (in_h - 1) / 2 - scale_y * v_c]],
                    np.float32)
