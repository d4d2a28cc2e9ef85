"""The synthetic hand's joint angles on a MANO-format hand.

handkit's procedural hand (:mod:`handkit.datasets.synthetic.hand_model`)
poses each finger as a chain: a base turned about the palm normal (the
thumb's CMC by its radial / palmar abduction and opposition), then a
hinge per segment. A MANO-format hand (the open hand of
``tools/build_open_hand.py``, or MANO's) is posed by one axis-angle per
joint. :func:`rest_angles` writes a MANO hand's rest fingers in the chain's
angles; :func:`mano_axis_angles` turns sampled chain angles into MANO's
15 joint rotations relative to that rest. The open hand's pose PCA
(``models.hand_model.open_hand_builder``) and the mesh hands
(``datasets.synthetic.mesh_renderer``) share them.
"""
from typing import Dict, Tuple

import numpy as np
from scipy.spatial.transform import Rotation

from handkit.hand.kinematics import rot_x, rot_y, rot_z

FINGERS = ('thumb', 'index', 'middle', 'ring', 'little')  # the chains' order
MANO_FINGER_ORDER = ('index', 'middle', 'little', 'ring', 'thumb')


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector, axis=-1, keepdims=True)


def mano_index(finger: str, segment: int) -> int:
    """MANO's joint index of ``finger``'s ``segment`` (0: its base)."""
    return 1 + 3 * MANO_FINGER_ORDER.index(finger) + segment


def chain_frames(base: np.ndarray, flexion: np.ndarray) -> np.ndarray:
    """(..., 3, 3, 3): the frames of a finger's three segments (columns:
    lateral, along the bone, palmar), ``base`` then a hinge about the
    segment's x per segment, as ``hand_model.forward_kinematics`` chains
    them."""
    frames, rotation = [], base
    for segment in range(3):
        rotation = rotation @ rot_x(flexion[..., segment])
        frames.append(rotation)
    return np.stack(frames, -3)


def thumb_base(radial, palmar, opposition) -> np.ndarray:
    """The thumb's CMC rotation of ``hand_model.forward_kinematics``."""
    return rot_z(-radial) @ rot_x(palmar) @ rot_y(-opposition)


def rest_angles(joints: np.ndarray, ends: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A MANO hand's rest fingers as the synthetic hand's chains (hand
    frame): (base (5, 3, 3), flexion (5, 3), thumb CMC angles (3,)
    radial, palmar, opposition), thumb .. little.

    Args:
        joints: (16, 3) MANO's joints (MANO's order).
        ends: (5, 3) where each finger's distal bone ends (a fingertip
            vertex, or the rig's bone tail), thumb .. little.

    A finger's base turns about the palm normal to its first bone's
    direction, the hinges follow each next bone projected on the segment's
    flexion plane; the thumb's CMC radial / palmar abduction point its
    first bone, the opposition turns its flexion axis onto the normal of
    its (bent) chain, its CMC flexion is 0.
    """
    base, flexion = np.zeros((5, 3, 3)), np.zeros((5, 3))
    thumb = np.zeros(3)
    for f, finger in enumerate(FINGERS):
        ids = [mano_index(finger, s) for s in range(3)]
        points = np.concatenate([joints[ids], ends[f][None]])
        bones = unit(np.diff(points, axis=0))  # (3, 3)
        first = bones[0]
        if finger == 'thumb':
            radial = np.arctan2(first[0], first[1])
            palmar = np.arcsin(np.clip(first[2], -1, 1))
            lateral = unit(np.cross(bones[0], bones[1])
                           + np.cross(bones[1], bones[2]))
            local = (rot_z(-radial) @ rot_x(palmar)).T @ lateral
            thumb[:] = radial, palmar, np.arctan2(local[2], local[0])
            base[f] = thumb_base(*thumb)
            frame = base[f]
        else:
            base[f] = rot_z(np.arctan2(-first[0], first[1]))
            flexion[f, 0] = np.arctan2(first[2], np.hypot(first[0],
                                                          first[1]))
            frame = base[f] @ rot_x(flexion[f, 0])
        for segment in (1, 2):
            local = frame.T @ bones[segment]
            flexion[f, segment] = np.arctan2(local[2], local[1])
            frame = frame @ rot_x(flexion[f, segment])
    return base, flexion, thumb


def mano_axis_angles(rest_base: np.ndarray, rest_flexion: np.ndarray,
                     pose: Dict[str, np.ndarray]) -> np.ndarray:
    """(N, 45) MANO axis-angles (MANO's joint order) of the synthetic
    hand's poses (``hand_model.sample_pose``) on a hand whose rest is
    (``rest_base``, ``rest_flexion``) (:func:`rest_angles`).

    Each segment's posed frame is the synthetic chain's: fingers turned
    about the palm normal by their MCP abduction from the rest direction
    (hand_model's documented sign, + radial), flexed by the sampled hinge
    angles; the thumb's CMC as ``forward_kinematics`` turns it. Its world
    rotation relative to the rest is ``G = F F_rest^T``; MANO's joint
    rotation is the parent segment's ``G^T`` times it (the wrist's G is I).
    """
    rest_frames = chain_frames(rest_base, rest_flexion)  # (5, 3, 3, 3)
    num = len(pose['flexion'])
    base = np.empty((num, 5, 3, 3))
    base[:, 0] = thumb_base(*pose['thumb_cmc'].T)
    base[:, 1:] = rest_base[1:] @ rot_z(-pose['abduction'][:, 1:])
    frames = chain_frames(base, pose['flexion'])  # (N, 5, 3, 3, 3)
    world = frames @ np.swapaxes(rest_frames, -1, -2)
    local = world.copy()
    local[:, :, 1:] = np.swapaxes(world[:, :, :-1], -1, -2) @ world[:, :, 1:]
    rotvec = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec()
    order = [FINGERS.index(finger) for finger in MANO_FINGER_ORDER]
    return rotvec.reshape(num, 5, 3, 3)[:, order].reshape(num, 45)
