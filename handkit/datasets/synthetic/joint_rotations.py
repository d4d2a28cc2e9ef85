"""Joint rotations of the synthetic hand: the supervision of an IK network.

Zhou et al.'s IKNet ("Monocular Real-time Hand Shape and Motion Capture
using Multi-modal Data", CVPR 2020, Section 4.2) maps 3D joint positions
(and the rest pose of the same hand) to one rotation per joint. The paper
takes the rotations from MANO fits of MoCap data; handkit's procedural hand
(:func:`handkit.hand.kinematics.forward_kinematics`) knows its own, so no
MANO is needed.

Definition (``J = 21`` joints in handkit's order, global rotations as the
released IKNet outputs them): the rotation ``G_j`` of joint j turns the
rest pose (every angle 0, the hand frame; ``handkit.hand.rest_pose``) into
the posed hand seen by the camera, for the bones that leave joint j:

* the wrist (0): the hand frame -> camera rotation ``V``; it turns the palm
  bones (wrist -> finger bases);
* the base and the two middle joints of a finger (``4 f + 1 + s``, s = 0,
  1, 2): ``G = V F_s F_s^rest^T``, ``F_s`` the segment's frame of
  ``forward_kinematics`` (its ``bone_frames``): it turns segment s;
* a tip (``4 f + 4``): no bone leaves it; it keeps its segment's rotation.

So the posed bone ending at joint k is ``G_parent(k)`` applied to its rest
bone (``handkit.hand.rotate_rest_pose``), and the joints follow from the
rest pose and the rotations. A left hand is the mirror image ``M = diag(-1,
1, 1)`` of a right hand in the hand frame; its rest pose is mirrored as well
and its rotations are ``V M F F^rest^T M`` (proper rotations).
"""
from typing import Dict, Optional

import numpy as np
from scipy.spatial.transform import Rotation

from handkit.datasets.synthetic.hand_model import (sample_pose,
                                                   sample_shape, sample_view)
from handkit.hand.kinematics import forward_kinematics, rest_pose
from handkit.skeleton import NUM_KEYPOINTS

# Joint j takes the rotation of segment SEGMENT_OF_JOINT[j] of its finger
# (-1: the wrist, the hand frame itself).
SEGMENT_OF_JOINT = np.array([-1] + [min(s, 2) for _ in range(5)
                                    for s in range(4)], np.int64)
FINGER_OF_JOINT = np.array([0] + [f for f in range(5) for _ in range(4)],
                           np.int64)


def global_joint_rotations(frames: np.ndarray,
                           rest_frames: np.ndarray) -> np.ndarray:
    """(N, 21, 3, 3) rotations, hand frame, of posed segment frames.

    ``frames`` / ``rest_frames``: (N, 5, 3, 3, 3) of
    ``forward_kinematics`` for the pose and for ``rest_pose``.
    """
    num = len(frames)
    relative = frames @ np.swapaxes(rest_frames, -1, -2)  # (N, 5, 3, 3, 3)
    rotations = relative[:, FINGER_OF_JOINT, np.maximum(SEGMENT_OF_JOINT, 0)]
    rotations[:, 0] = np.eye(3)
    return rotations.reshape(num, NUM_KEYPOINTS, 3, 3)


def matrix_to_quaternion(rotations: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 4) unit quaternions (w, x, y, z),
    w >= 0 (the sign the released IKNet also picks)."""
    flat = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_quat()
    quaternions = flat[:, [3, 0, 1, 2]]  # scipy is (x, y, z, w)
    quaternions *= np.where(quaternions[:, :1] < 0, -1.0, 1.0)
    return quaternions.reshape(*rotations.shape[:-2], 4)


def sample_ik_hands(rng: np.random.Generator, num: int,
                    left_ratio: float = 0.5,
                    pose_mix: Optional[Dict[str, float]] = None,
                    max_view_angle: Optional[float] = None
                    ) -> Dict[str, np.ndarray]:
    """``num`` posed hands with their rest poses and joint rotations.

    Shapes, poses and views are drawn as for the rendered hands
    (``hand_model.sample_shape`` / ``sample_pose`` / ``sample_view``;
    ``pose_mix`` and ``max_view_angle`` as there), without a camera or an
    image.

    Returns float64 arrays: ``keypoints_3d`` (N, 21, 3) mm, the posed hand
    turned by its view (camera axes), wrist at the origin;
    ``rest_keypoints_3d`` (N, 21, 3) mm, the rest pose in the hand frame
    (mirrored for a left hand); ``rotations`` (N, 21, 3, 3) and
    ``quaternions`` (N, 21, 4) (w, x, y, z), w >= 0, the global joint
    rotations (module docstring); ``is_left`` (N,) bool.
    """
    if not 0.0 <= left_ratio <= 1.0:
        raise ValueError(f'left_ratio must be in [0, 1], got {left_ratio!r}')
    shape = sample_shape(rng, num)
    joints, frames = forward_kinematics(shape, sample_pose(rng, num,
                                                           pose_mix))
    rest_joints, rest_frames = rest_pose(shape)
    view = sample_view(rng, num, max_view_angle)  # (N, 3, 3)
    is_left = rng.random(num) < left_ratio
    mirror = np.where(is_left, -1.0, 1.0)
    joints[..., 0] *= mirror[:, None]
    rest_joints[..., 0] *= mirror[:, None]
    rotations = global_joint_rotations(frames, rest_frames)
    # M R M for a left hand: flip row 0 and column 0 (the entry [0, 0] twice)
    rotations[..., 0, :] *= mirror[:, None, None]
    rotations[..., :, 0] *= mirror[:, None, None]
    rotations = view[:, None] @ rotations
    return dict(
        keypoints_3d=np.einsum('nij,nkj->nki', view, joints),
        rest_keypoints_3d=rest_joints,
        rotations=rotations,
        quaternions=matrix_to_quaternion(rotations),
        is_left=is_left)
