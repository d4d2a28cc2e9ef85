"""The hand's bones: the 20 bone vectors ``J_b+1 - J_parent(b+1)`` of the
kinematic tree (``handkit.skeleton.PARENTS``, wrist = root) summed back into
root-relative joints.

A joint is the sum of the bones on its path from the wrist: one matrix
product with the constant ancestor matrix ``BONE_ANCESTORS`` (21, 20), entry
[j, b] = 1 when bone ``b`` lies on the path root -> j, so
``joints_rel = BONE_ANCESTORS @ bones``. ResUnet's bone-tree codec
(``handkit.codecs.bone_tree``) and IKNet's FK(Q)
(:func:`handkit.hand.kinematics.rotate_rest_pose`) both sum so.
"""
from typing import Union

import numpy as np
import torch

from handkit.skeleton import NUM_KEYPOINTS, NUM_LIMBS, PARENTS


def _ancestor_matrix() -> np.ndarray:
    """(21, 20) float32: [j, b] = 1 when bone b is on the path root -> j.

    Bone b ends at joint b + 1.
    """
    # self_or_ancestor[j, a] = 1 when joint a is j or one of its ancestors; the
    # loop climbs one tree level per pass (the hand tree is 4 levels deep).
    self_or_ancestor = np.zeros((NUM_KEYPOINTS, NUM_KEYPOINTS), np.float32)
    joints = np.arange(NUM_KEYPOINTS)
    climber = joints.copy()
    while (climber >= 0).any():
        alive = climber >= 0
        self_or_ancestor[joints[alive], climber[alive]] = 1.0
        climber = np.where(alive, PARENTS[np.maximum(climber, 0)], -1)
    # Bone b ends at joint b + 1: it is on the path to j iff joint b + 1 is.
    return self_or_ancestor[:, 1:]


BONE_ANCESTORS = _ancestor_matrix()
Array = Union[np.ndarray, torch.Tensor]


def bones_to_joints(bones: Array) -> Array:
    """Root-relative joints (..., 21, 3) from bones (..., 20, 3).

    numpy in, numpy out; torch in, torch out (differentiable).

    Eq. 3 inverted: each joint is the sum of the bones on its path from the
    wrist, computed as ``BONE_ANCESTORS @ bones``. The wrist comes out at 0.
    """
    if tuple(bones.shape[-2:]) != (NUM_LIMBS, 3):
        raise ValueError(f'bones must have shape (..., {NUM_LIMBS}, 3), got '
                         f'{tuple(bones.shape)}')
    if isinstance(bones, torch.Tensor):
        ancestors = torch.as_tensor(
            BONE_ANCESTORS, dtype=bones.dtype, device=bones.device)
        return torch.einsum('jb,...bc->...jc', ancestors, bones)
    bones = np.asarray(bones)
    return np.einsum('jb,...bc->...jc', BONE_ANCESTORS.astype(bones.dtype),
                     bones)
