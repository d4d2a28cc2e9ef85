"""Canonical-frame codec: the PosePrior targets of Zimmermann & Brox.

Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from Single RGB
Images", ICCV 2017, Section 4.3 ("PosePrior network"): the 3D joints are
made scale-free and root-relative, ``w_norm = (w - w_root) / s`` with ``s``
the length of one bone; then one rotation ``R`` takes them into a canonical
frame, ``w_c = w_norm R^-1``, where every hand has the same orientation. The
network predicts ``w_c`` and ``R`` from the 2D score maps; the camera-frame
pose is ``w_c R``. One hand side is mirrored, so the canonical hands are all
of one chirality.

Conventions, as the authors' public code has them (lmb-freiburg/hand3d,
``data/BinaryDbReader.py`` and ``utils/canonical_trafo.py``; the paper does
not state them):

* root: the palm, the midpoint of the wrist and the middle MCP (their
  evaluation replaces the wrist by it); ``root='wrist'`` keeps the wrist;
* scale: the bone middle MCP -> middle PIP (handkit joints 9 -> 10);
* canonical frame: the root at 0, the middle MCP on the -y axis (their
  comment: "0/-D/0"), the little MCP in the plane z = 0 with x > 0 (a
  proper rotation, so it is unique);
* row vectors: ``w_norm = w_c @ R`` (their ``tf.matmul(coords, rot_mat)``),
  so ``R`` is the inverse (the transpose) of the rotation that
  canonicalises, and the target the reader gives (``rot_mat``);
* the mirror negates canonical z; their code mirrors right hands. handkit's
  issue 13 asks for left hands mirrored: ``flip_side`` chooses, default
  'left';
* hand side one-hot: left = 0, right = 1.

The rotation is also given as an axis-angle vector (the network's output,
``axis_angle_to_matrix`` builds ``R`` from it differentiably, Rodrigues'
formula as in their ``_get_rot_mat``).
"""
from typing import Dict, Sequence, Union

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_choice
from handkit.registry import CODECS
from handkit.skeleton import NUM_KEYPOINTS

WRIST, MIDDLE_MCP, MIDDLE_PIP, LITTLE_MCP = 0, 9, 10, 17
HAND_SIDES = ('left', 'right')  # their one-hot order: left = 0, right = 1


def side_indices(hand_sides: Sequence[str], who: str = 'CanonicalFrame'
                 ) -> np.ndarray:
    """('left' / 'right', ...) -> (B,) int64, left = 0 and right = 1;
    a ValueError names the first value that is neither."""
    sides = np.asarray(hand_sides, dtype=object).reshape(-1)
    bad = [side for side in sides if side not in HAND_SIDES]
    if bad:
        raise ValueError(f"{who}: hand_side must be 'left' or 'right', got "
                         f'{bad[0]!r}')
    return (sides == 'right').astype(np.int64)


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle vectors (angle = norm) -> (..., 3, 3) rotations.

    Rodrigues' formula ``cos t I + sin t [u]x + (1 - cos t) u u^T`` with the
    1e-8 of Zimmermann & Brox's ``_get_rot_mat`` under the square root, so a
    zero vector has a gradient; differentiable and ONNX-exportable.
    """
    angle = torch.sqrt((axis_angle ** 2).sum(-1, keepdim=True) + 1e-8)
    unit = axis_angle / angle  # (..., 3)
    cos, sin = torch.cos(angle)[..., None], torch.sin(angle)[..., None]
    x, y, z = unit.unbind(-1)
    zero = torch.zeros_like(x)
    cross = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero],
                        -1).unflatten(-1, (3, 3))  # [u]x
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return (cos * eye + sin * cross
            + (1 - cos) * unit[..., :, None] * unit[..., None, :])


@CODECS.register_module()
class CanonicalFrame(BaseCodec):
    """3D joints + hand side <-> canonical joints + viewpoint rotation.

    Args:
        root: 'palm' (the midpoint of wrist and middle MCP, Zimmermann &
            Brox's root) or 'wrist'.
        flip_side: the hand side mirrored into the other's chirality
            ('left', as handkit's issue 13 asks; the authors' code mirrors
            'right').

    ``encode(keypoints_3d (21, 3), hand_side 'left' | 'right')`` returns
    float32 ``canonical_keypoints`` (21, 3) (mirrored for ``flip_side``),
    ``rotation`` (3, 3) (``normalized = unmirrored canonical @ rotation``),
    ``axis_angle`` (3,) of ``rotation`` and ``keypoints_3d_normalized``
    (21, 3): root-relative, in middle MCP -> PIP bones.
    :meth:`decode` inverts it, batched.
    """

    encode_inputs = ('keypoints_3d', 'hand_side')
    SETTINGS = ('root', 'flip_side')

    def __init__(self, root: str = 'palm', flip_side: str = 'left') -> None:
        self.root = check_choice(root, 'CanonicalFrame root',
                                 ('palm', 'wrist'))
        self.flip_side = check_choice(flip_side, 'CanonicalFrame flip_side',
                                      HAND_SIDES)

    def normalize(self, keypoints_3d: np.ndarray) -> np.ndarray:
        """(..., 21, 3) joints -> root-relative joints in 9 -> 10 bones."""
        joints = np.asarray(keypoints_3d, np.float64)
        root = joints[..., WRIST, :]
        if self.root == 'palm':
            root = 0.5 * (root + joints[..., MIDDLE_MCP, :])
        scale = np.linalg.norm(joints[..., MIDDLE_PIP, :]
                               - joints[..., MIDDLE_MCP, :], axis=-1)
        return (joints - root[..., None, :]) / scale[..., None, None]

    @staticmethod
    def to_canonical(normalized: np.ndarray):
        """(..., 21, 3) root-relative joints -> (canonical (..., 21, 3),
        rotation (..., 3, 3)) with ``normalized = canonical @ rotation``.

        The canonical axes, as rows of ``rotation``: y along the root ->
        middle MCP direction negated, x the part of the little MCP
        orthogonal to it, z = x cross y.
        """
        normalized = np.asarray(normalized, np.float64)
        middle = normalized[..., MIDDLE_MCP, :]
        axis_y = -middle / np.linalg.norm(middle, axis=-1, keepdims=True)
        little = normalized[..., LITTLE_MCP, :]
        axis_x = little - (little * axis_y).sum(-1, keepdims=True) * axis_y
        axis_x /= np.linalg.norm(axis_x, axis=-1, keepdims=True)
        axis_z = np.cross(axis_x, axis_y)
        rotation = np.stack([axis_x, axis_y, axis_z], -2)  # (..., 3, 3)
        return normalized @ np.swapaxes(rotation, -1, -2), rotation

    def mirror(self, canonical: Union[np.ndarray, torch.Tensor],
               side_index: Union[np.ndarray, torch.Tensor]):
        """Negate canonical z of the samples of ``flip_side``.

        ``canonical`` (B, 21, 3), ``side_index`` (B,) (0 left, 1 right);
        numpy or torch, as given. Mirroring twice is the identity.
        """
        flipped = side_index == HAND_SIDES.index(self.flip_side)  # (B,)
        return _negate_z(canonical, flipped)

    def encode(self, keypoints_3d: np.ndarray,
               hand_side: str) -> Dict[str, np.ndarray]:
        joints = np.asarray(keypoints_3d, np.float64)
        if joints.shape != (NUM_KEYPOINTS, 3) or not np.isfinite(
                joints).all():
            raise ValueError(f'CanonicalFrame.encode: keypoints_3d must be '
                             f'finite ({NUM_KEYPOINTS}, 3), got shape '
                             f'{joints.shape}')
        side = side_indices([hand_side], 'CanonicalFrame.encode')
        bone = np.linalg.norm(joints[MIDDLE_PIP] - joints[MIDDLE_MCP])
        if not bone > 1e-6:
            raise ValueError(f'CanonicalFrame.encode: the middle MCP -> PIP '
                             f'bone has length {bone:g}: the 3D label '
                             f'cannot be normalised')
        normalized = self.normalize(joints)
        canonical, rotation = self.to_canonical(normalized)
        canonical = self.mirror(canonical[None], side)[0]
        return dict(
            canonical_keypoints=canonical.astype(np.float32),
            rotation=rotation.astype(np.float32),
            axis_angle=Rotation.from_matrix(rotation).as_rotvec().astype(
                np.float32),
            keypoints_3d_normalized=normalized.astype(np.float32))

    def decode(self, canonical: np.ndarray, rotation: np.ndarray,
               hand_sides: Sequence[str]) -> np.ndarray:
        """Canonical joints (B, 21, 3) (mirrored for ``flip_side``),
        rotations (B, 3, 3) and the B hand sides -> (B, 21, 3)
        root-relative joints in middle MCP -> PIP bones, camera frame."""
        canonical = np.asarray(canonical, np.float64)
        rotation = np.asarray(rotation, np.float64)
        side = side_indices(hand_sides, 'CanonicalFrame.decode')
        if canonical.shape[1:] != (NUM_KEYPOINTS, 3) or rotation.shape[
                1:] != (3, 3) or not len(canonical) == len(rotation) == len(
                    side):
            raise ValueError(
                f'CanonicalFrame.decode: canonical (B, {NUM_KEYPOINTS}, 3), '
                f'rotation (B, 3, 3) and B hand sides must match, got '
                f'{canonical.shape}, {rotation.shape} and {len(side)}')
        return (self.mirror(canonical, side) @ rotation).astype(np.float32)

    @staticmethod
    def denormalize(normalized: np.ndarray,
                    bone_mm: Union[float, np.ndarray]) -> np.ndarray:
        """Joints in 9 -> 10 bones (..., 21, 3) -> mm, times one bone length
        or one per leading index."""
        scale = np.asarray(bone_mm, np.float64)
        return (np.asarray(normalized, np.float64)
                * scale[..., None, None]).astype(np.float32)


def _negate_z(canonical, flipped):
    """``canonical`` (B, K, 3) with z negated where ``flipped`` (B,)."""
    if isinstance(canonical, torch.Tensor):
        sign = 1 - 2 * flipped.to(canonical.dtype)  # (B,)
        ones = torch.ones_like(sign)
        return canonical * torch.stack([ones, ones, sign], -1)[:, None]
    sign = 1 - 2 * np.asarray(flipped, np.float64)
    ones = np.ones_like(sign)
    return canonical * np.stack([ones, ones, sign], -1)[:, None]
