"""Normalised 3D pose codec: root-relative joints in units of one bone.

Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
Monocular RGB Images", ECCV 2018: the regression network predicts the 3D
joints without their absolute depth or the hand's size, i.e. relative to a
root joint and divided by the length of a reference bone, the normalisation
of Zimmermann and Brox (ICCV 2017) whose RHD / STB protocol Cai et al.
report under. handkit's defaults are that protocol's: the root is joint 0
(the wrist; STB's palm centre sits in that slot) and the unit is the middle
finger's MCP -> PIP bone (joints 9 -> 10). ``palm_root=True`` roots a hand
whose joint 0 is the wrist (RHD, the synthetic hands) at the palm, the
midpoint of wrist and middle MCP: the root of Zimmermann & Brox's RHD reader
(hand3d ``data/BinaryDbReader.py:140-144``), which their protocol takes the
prediction's origin to be (``handkit.evaluation.protocols``).

``encode(keypoints_3d (21, 3) mm)`` -> ``joints_3d`` (21, 3)
``(X_j - X_root) / |X_b - X_a|`` and ``joints_3d_weight`` (1,), 1: the
sample's 3D label is used (a transform such as ``SubsetLabels3D`` sets it to
0 for the samples that train without it). ``decode(normalised (..., 21, 3),
reference_bone_mm)`` -> mm, root at the origin.
"""
from typing import Sequence, Union

import numpy as np
import torch

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import (bone_length, check_bone, check_joint_index,
                                  check_normalizable_3d)
from handkit.registry import CODECS
from handkit.skeleton import MIDDLE_MCP

Array = Union[np.ndarray, torch.Tensor]


@CODECS.register_module()
class NormalizedPose3D(BaseCodec):
    """Root-relative, bone-normalised 3D joints and their decode to mm.

    Args:
        root_index: the joint the pose is relative to (0).
        palm_root: the pose is relative to the palm, the midpoint of joints
            ``root_index`` (the wrist) and 9 (the middle MCP), instead.
        reference_bone: (a, b), the bone whose length is the unit
            ((9, 10): middle MCP -> PIP).
    """

    encode_inputs = ('keypoints_3d', )
    SETTINGS = ('root_index', 'reference_bone', 'palm_root')

    def __init__(self, root_index: int = 0,
                 reference_bone: Sequence[int] = (9, 10),
                 palm_root: bool = False) -> None:
        self.root_index = check_joint_index(root_index,
                                            'NormalizedPose3D: root_index')
        self.palm_root = bool(palm_root)
        self.reference_bone = check_bone(reference_bone,
                                         'NormalizedPose3D: reference_bone')

    def reference_length(self, keypoints_3d: np.ndarray) -> np.ndarray:
        """|X_b - X_a| of (..., 21, 3) joints: (...,) in their unit."""
        return bone_length(keypoints_3d, self.reference_bone)

    def root_of(self, joints: Array) -> Array:
        """(..., 1, 3) root of (..., 21, 3) joints (numpy or torch)."""
        root = joints[..., self.root_index:self.root_index + 1, :]
        if self.palm_root:
            root = 0.5 * (root + joints[..., MIDDLE_MCP:MIDDLE_MCP + 1, :])
        return root

    def encode(self, keypoints_3d: np.ndarray) -> dict:
        keypoints_3d, length = check_normalizable_3d(
            keypoints_3d, self.reference_bone, 'NormalizedPose3D.encode')
        root = self.root_of(keypoints_3d)[0]
        return dict(
            joints_3d=((keypoints_3d - root) / length).astype(np.float32),
            joints_3d_weight=np.ones(1, np.float32))

    def decode(self, normalized: Array,
               reference_bone_mm: Union[float, np.ndarray]) -> np.ndarray:
        """Normalised (..., 21, 3) joints -> mm (root at the origin);
        ``reference_bone_mm`` is one length or one per leading index."""
        if isinstance(normalized, torch.Tensor):
            normalized = normalized.detach().float().cpu().numpy()
        scale = np.asarray(reference_bone_mm, np.float64)
        return (np.asarray(normalized, np.float64)
                * scale[..., None, None]).astype(np.float32)
