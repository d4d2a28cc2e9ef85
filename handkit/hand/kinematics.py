"""The hand's kinematics: the reference hand, forward kinematics, the rest
pose, and the rest pose turned by joint rotations.

The hand is a kinematic tree in handkit's keypoint order
(``handkit.skeleton``): the wrist, then for each finger (thumb, index,
middle, ring, little) four joints from base to tip; each finger is a chain
of a base rotation and three hinges. Everything is batched over ``N`` hands.

Local hand frame (millimetres, right hand; a left hand is its mirror in x):
``x`` points radially (toward the thumb), ``y`` distally (wrist toward the
middle finger), ``z`` out of the palm (palmar). Flexion bends a finger toward
``+z``.

The synthetic generator (``handkit.datasets.synthetic.hand_model``) draws
shapes and poses and renders them; the APIs (IKNet's rest pose) and the
models (IKNet's FK(Q) loss) read the same kinematics here, without the
renderer.
"""
from typing import Dict, Tuple, Union

import numpy as np
import torch

from handkit.hand.bones import bones_to_joints
from handkit.skeleton import PARENTS

DEG = np.pi / 180.0

# Reference adult hand (mm). Finger bases: thumb CMC, index..little MCP.
REFERENCE_BASES = np.array([
    [18.0, 24.0, 10.0],   # thumb CMC (radial, proximal, palmar: thenar)
    [23.0, 85.0, 2.0],    # index MCP
    [0.0, 88.0, 0.0],     # middle MCP
    [-19.0, 82.0, 2.0],   # ring MCP
    [-36.0, 72.0, 5.0],   # little MCP (transverse metacarpal arch)
], np.float64)
# Three segments per finger: thumb metacarpal / proximal / distal-to-tip,
# fingers proximal / middle / distal-to-tip phalanx.
REFERENCE_BONE_LENGTHS = np.array([
    [46.0, 32.0, 28.0],
    [40.0, 24.0, 21.0],
    [45.0, 28.0, 22.0],
    [42.0, 27.0, 22.0],
    [33.0, 19.0, 19.0],
], np.float64)
# Rest direction of each finger in the palm plane (deg, + = radial).
FINGER_FAN = np.array([0.0, 6.0, 0.0, -6.0, -14.0]) * DEG

Array = Union[np.ndarray, torch.Tensor]
# torch's index of each non-root joint's parent (IKNet's FK(Q) loss)
_PARENTS = torch.as_tensor(PARENTS[1:])


def rot_x(angle):
    """(..., 3, 3) rotations about x by ``angle`` (radians, any shape)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([
        np.stack([one, zero, zero], -1),
        np.stack([zero, c, -s], -1),
        np.stack([zero, s, c], -1),
    ], -2)


def rot_y(angle):
    """(..., 3, 3) rotations about y by ``angle`` (radians, any shape)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([
        np.stack([c, zero, s], -1),
        np.stack([zero, one, zero], -1),
        np.stack([-s, zero, c], -1),
    ], -2)


def rot_z(angle):
    """(..., 3, 3) rotations about z by ``angle`` (radians, any shape)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack([
        np.stack([c, -s, zero], -1),
        np.stack([s, c, zero], -1),
        np.stack([zero, zero, one], -1),
    ], -2)


def forward_kinematics(shape: Dict[str, np.ndarray],
                       pose: Dict[str, np.ndarray]
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Joints of ``N`` hands in the hand frame (mm).

    Each finger is a chain: a base rotation (fingers: fan + MCP abduction
    about the palm normal; thumb: CMC radial abduction about z, palmar
    abduction about x, opposition as an axial roll about y), then three
    hinges about the segment's local x axis. The chains of all fingers of all
    hands are composed as batched (N, 5, 3, 3) rotation matrices.

    Args:
        shape: ``bases`` (N, 5, 3) finger base positions (mm, hand frame),
            ``bone_lengths`` (N, 5, 3) mm.
        pose: ``flexion`` (N, 5, 3), ``abduction`` (N, 5), ``thumb_cmc``
            (N, 3) radians (``hand_model.sample_pose``).

    Returns:
        joints (N, 21, 3) and bone_frames (N, 5, 3, 3, 3): the rotation of
        each finger segment (columns: lateral axis, segment direction,
        palmar axis).
    """
    flexion, abduction = pose['flexion'], pose['abduction']
    num = flexion.shape[0]
    # + = radial (toward +x): turning y toward +x is a negative turn about z
    base_angle = FINGER_FAN + abduction                        # (N, 5)
    base = rot_z(-base_angle)                                  # (N, 5, 3, 3)
    radial, palmar, opposition = pose['thumb_cmc'].T
    # Rotating y toward +x (radially) is a negative turn about z; the roll
    # turns the thumb's flexion plane across the palm (toward -x).
    base[:, 0] = rot_z(-radial) @ rot_x(palmar) @ rot_y(-opposition)

    joints = np.zeros((num, 5, 4, 3))
    joints[:, :, 0] = shape['bases']
    frames = np.zeros((num, 5, 3, 3, 3))
    rotation = base
    for segment in range(3):
        rotation = rotation @ rot_x(flexion[:, :, segment])
        frames[:, :, segment] = rotation
        joints[:, :, segment + 1] = (
            joints[:, :, segment]
            + rotation[..., :, 1] * shape['bone_lengths'][:, :, segment, None])
    wrist = np.zeros((num, 1, 3))
    return np.concatenate([wrist, joints.reshape(num, 20, 3)], 1), frames


def rest_pose(shape: Dict[str, np.ndarray]
              ) -> Tuple[np.ndarray, np.ndarray]:
    """Joints (N, 21, 3) and segment frames (N, 5, 3, 3, 3) of ``shape``'s
    hands with every joint angle 0 (flat, fingers along the fan)."""
    num = len(shape['scale'])
    zero_pose = dict(flexion=np.zeros((num, 5, 3)),
                     abduction=np.zeros((num, 5)),
                     thumb_cmc=np.zeros((num, 3)))
    return forward_kinematics(shape, zero_pose)


def reference_rest_pose(is_left: bool = False) -> np.ndarray:
    """(21, 3) mm: the rest pose of the reference hand (every size factor 1,
    the centre of the shapes the synthetic generator draws), hand frame,
    wrist at the origin; mirrored in x for a left hand, as the generator
    mirrors the rest poses it gives IKNet."""
    shape = dict(scale=np.ones(1), bases=REFERENCE_BASES[None].copy(),
                 bone_lengths=REFERENCE_BONE_LENGTHS[None].copy())
    joints = rest_pose(shape)[0][0]
    if is_left:
        joints[:, 0] *= -1.0
    return joints


def rotate_rest_pose(rotations: Array, rest_joints: Array) -> Array:
    """FK(Q): wrist-relative joints (N, 21, 3) from global joint rotations
    (N, 21, 3, 3) and the rest pose (N, 21, 3); bone k is ``G_parent(k)``
    times its rest bone, summed along the tree (:func:`bones_to_joints`).
    numpy in, numpy out; torch in, torch out (differentiable)."""
    if isinstance(rotations, torch.Tensor):
        rest_bones = rest_joints[:, 1:] - rest_joints[:, _PARENTS]
        bones = torch.einsum('bkij,bkj->bki', rotations[:, _PARENTS],
                             rest_bones)
    else:
        parents = PARENTS[1:]
        rest_bones = rest_joints[:, 1:] - rest_joints[:, parents]
        bones = np.einsum('nbij,nbj->nbi', rotations[:, parents], rest_bones)
    return bones_to_joints(bones)
