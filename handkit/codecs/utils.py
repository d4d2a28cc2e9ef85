"""Validators the codecs share: sizes, positive numbers, one hand's keypoints.

Each raises a ``ValueError`` that names the argument and the value it got.
"""
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np

from handkit.skeleton import NUM_KEYPOINTS


def check_size(value: Sequence[int], name: str) -> Tuple[int, int]:
    """Return ``value`` as a (width, height) tuple of positive ints."""
    if not (isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                    and v > 0 for v in value)):
        raise ValueError(
            f'{name} must be (width, height) of two positive integers, '
            f'got {value!r}')
    return int(value[0]), int(value[1])


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as a float, raising unless it is finite and > 0."""
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and np.isfinite(value) and value > 0):
        raise ValueError(f'{name} must be a finite number > 0, got {value!r}')
    return float(value)


def check_keypoints(keypoints: np.ndarray,
                    keypoints_visible: Optional[np.ndarray],
                    num_keypoints: Optional[int] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Validate one hand's keypoints; return them and their 0/1 weights.

    Args:
        keypoints: array-like (K, 2), x, y in input pixels.
        keypoints_visible: array-like (K,) or None (all visible). A keypoint
            counts as visible when its flag is > 0.
        num_keypoints: the K the caller needs, or None for any K.

    Returns:
        ``(keypoints, weights)``: float32 (K, 2) and float32 (K,) of 0 / 1.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    if keypoints.ndim != 2 or keypoints.shape[1] != 2 or (
            num_keypoints is not None
            and keypoints.shape[0] != num_keypoints):
        expected = f'({num_keypoints}, 2)' if num_keypoints else '(K, 2)'
        raise ValueError(f'keypoints must have shape {expected}, '
                         f'got {keypoints.shape}')
    if not np.isfinite(keypoints).all():
        bad = np.flatnonzero(~np.isfinite(keypoints).all(axis=1)).tolist()
        raise ValueError(f'keypoints hold NaN or inf at indices {bad}')
    if keypoints_visible is None:
        return keypoints, np.ones(len(keypoints), np.float32)
    visible = np.asarray(keypoints_visible, dtype=np.float32)
    if visible.shape != (len(keypoints), ):
        raise ValueError(f'keypoints_visible must have shape '
                         f'({len(keypoints)},), got {visible.shape}')
    if not np.isfinite(visible).all():
        bad = np.flatnonzero(~np.isfinite(visible)).tolist()
        raise ValueError(
            f'keypoints_visible hold NaN or inf at indices {bad}')
    return keypoints, (visible > 0).astype(np.float32)


def check_joint_index(value: int, name: str,
                      num_joints: int = NUM_KEYPOINTS) -> int:
    """``value`` as an int, raising unless it indexes one of the joints."""
    if isinstance(value, bool) or not isinstance(
            value, (int, np.integer)) or not 0 <= value < num_joints:
        raise ValueError(f'{name} must be a joint index in '
                         f'[0, {num_joints - 1}], got {value!r}')
    return int(value)


def check_bone(bone: Sequence[int], name: str) -> Tuple[int, int]:
    """``bone`` as (a, b), raising unless it is two different joints."""
    if len(bone) != 2 or bone[0] == bone[1]:
        raise ValueError(f'{name} must be two different joints (a, b), got '
                         f'{tuple(bone)!r}')
    return tuple(check_joint_index(joint, name) for joint in bone)


def bone_length(keypoints_3d: np.ndarray, bone: Sequence[int]) -> np.ndarray:
    """|X_b - X_a| of (..., J, 3) joints: (...,) in their unit."""
    keypoints_3d = np.asarray(keypoints_3d, np.float64)
    return np.linalg.norm(keypoints_3d[..., bone[1], :]
                          - keypoints_3d[..., bone[0], :], axis=-1)


def check_normalizable_3d(keypoints_3d: np.ndarray, bone: Sequence[int],
                          owner: str) -> Tuple[np.ndarray, float]:
    """One hand's (21, 3) 3D label as float64 and its ``bone``'s length,
    raising (the message starts with ``owner``) unless it is finite and the
    bone is long enough to normalise by."""
    keypoints_3d = np.asarray(keypoints_3d, np.float64)
    if keypoints_3d.shape != (NUM_KEYPOINTS, 3):
        raise ValueError(f'{owner}: keypoints_3d must have shape '
                         f'({NUM_KEYPOINTS}, 3), got {keypoints_3d.shape}')
    if not np.isfinite(keypoints_3d).all():
        raise ValueError(f'{owner}: keypoints_3d holds NaN or inf')
    length = float(bone_length(keypoints_3d, bone))
    if not length > 1e-6:
        raise ValueError(f'{owner}: the reference bone {tuple(bone)} has '
                         f'length {length:g}: the 3D label cannot be '
                         f'normalised')
    return keypoints_3d, length


def check_choice(value: str, name: str, allowed: Sequence[str]) -> str:
    """Return ``value``, raising unless it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f'{name} must be one of {list(allowed)}, '
                         f'got {value!r}')
    return value


def check_cube_center(center: np.ndarray, where: str) -> np.ndarray:
    """Return a depth cube's centre as float64 (3,) mm, raising unless it is
    finite and in front of the camera (``where`` names the caller)."""
    center = np.asarray(center, dtype=np.float64)
    if center.shape != (3, ) or not np.isfinite(center).all():
        raise ValueError(f'{where}: center must be a finite (3,) point in mm, '
                         f'got {center.tolist()}')
    if center[2] <= 0:
        raise ValueError(f'{where}: center depth must be positive (mm, '
                         f'camera looks along +z), got {center[2]}')
    return center
