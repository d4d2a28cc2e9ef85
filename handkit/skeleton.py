"""The hand skeleton: one definition used by codecs, drawing and metrics.

21 keypoints in the CMU Panoptic / OpenPose order (NSRM paper, Figure 1a):
0 wrist; 1-4 thumb, 5-8 index, 9-12 middle, 13-16 ring, 17-20 little finger,
each finger listed from its base to its tip.

20 limbs (parent, child): for each finger, wrist -> finger base, then the three
phalanges. Limb ``4 * f + j`` is limb ``j`` (0 = palm limb) of finger ``f``.

Limb groups (NSRM Section 3.2, eq. 4):
  * G1: all 20 limbs in one group (the whole hand);
  * G6: one group per finger (its three phalanges) and one for the palm (the
    five wrist-to-base limbs), ordered thumb, index, middle, ring, little, palm;
  * G1G6: [G1, thumb, index, middle, ring, little, palm] = 7 channels.
"""
from typing import Tuple

import numpy as np

FINGERS = ('thumb', 'index', 'middle', 'ring', 'little')
_JOINTS = {
    'thumb': ('cmc', 'mcp', 'ip', 'tip'),
    'index': ('mcp', 'pip', 'dip', 'tip'),
    'middle': ('mcp', 'pip', 'dip', 'tip'),
    'ring': ('mcp', 'pip', 'dip', 'tip'),
    'little': ('mcp', 'pip', 'dip', 'tip'),
}
KEYPOINT_NAMES = ('wrist', ) + tuple(
    f'{finger}_{joint}' for finger in FINGERS for joint in _JOINTS[finger])
NUM_KEYPOINTS = len(KEYPOINT_NAMES)  # 21
MIDDLE_MCP = KEYPOINT_NAMES.index('middle_mcp')  # 9

# Parent of each keypoint in the kinematic tree (wrist is the root: -1).
PARENTS = np.array(
    [-1] + [0 if j == 0 else 4 * f + j for f in range(5) for j in range(4)],
    dtype=np.int64)

# (parent, child) of each of the 20 limbs, finger-major.
LIMBS = np.stack([PARENTS[1:], np.arange(1, NUM_KEYPOINTS)], axis=1)
NUM_LIMBS = len(LIMBS)  # 20

FINGER_TIPS = np.array([4, 8, 12, 16, 20], dtype=np.int64)

# Formats that list each finger tip-first (RHD: wrist, thumb4 .. thumb1,
# index4 .. index1, ...): handkit keypoint i is their keypoint
# TIP_FIRST_ORDER[i], i.e. 1 + 4 f + j (j = 0 base .. 3 tip) is 1 + 4 f + 3 - j.
TIP_FIRST_ORDER = np.array(
    [0] + [1 + 4 * f + 3 - j for f in range(5) for j in range(4)],
    dtype=np.int64)

_PALM = tuple(4 * f for f in range(5))
_G6 = tuple(tuple(4 * f + j for j in (1, 2, 3)) for f in range(5)) + (_PALM, )
LIMB_GROUPS = {
    'G1': (tuple(range(NUM_LIMBS)), ),
    'G6': _G6,
    'G1G6': (tuple(range(NUM_LIMBS)), ) + _G6,
}
GROUP_NAMES = {
    'G1': ('hand', ),
    'G6': FINGERS + ('palm', ),
    'G1G6': ('hand', ) + FINGERS + ('palm', ),
}

# One BGR colour per finger (and grey for the wrist), for drawing.
FINGER_COLORS_BGR = ((0, 0, 255), (0, 165, 255), (0, 200, 0), (255, 128, 0),
                     (200, 0, 200))
WRIST_COLOR_BGR = (160, 160, 160)


def group_membership(groups: str) -> np.ndarray:
    """(C, 20) float32 matrix: entry [c, l] is 1 when limb l is in group c.

    ``groups`` is 'G1', 'G6' or 'G1G6'. Composition (eq. 4) is then a max of
    the per-limb maps weighted by one row of this matrix.
    """
    if groups not in LIMB_GROUPS:
        raise ValueError(f"unknown limb groups {groups!r}; expected one of "
                         f"{sorted(LIMB_GROUPS)}")
    member = np.zeros((len(LIMB_GROUPS[groups]), NUM_LIMBS), np.float32)
    for channel, limbs in enumerate(LIMB_GROUPS[groups]):
        member[channel, list(limbs)] = 1.0
    return member


def limb_color(limb_index: int) -> Tuple[int, int, int]:
    """BGR colour of a limb: the colour of its finger."""
    return FINGER_COLORS_BGR[limb_index // 4]


def keypoint_color(keypoint_index: int) -> Tuple[int, int, int]:
    """BGR colour of a keypoint: its finger's, grey for the wrist."""
    if keypoint_index == 0:
        return WRIST_COLOR_BGR
    return FINGER_COLORS_BGR[(keypoint_index - 1) // 4]
