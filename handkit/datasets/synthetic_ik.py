"""SyntheticIKDataset: IKNet's training data, the synthetic hand's joints
and joint rotations (no images).

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.2:
IKNet learns one rotation per joint from the 3D joints. The paper
supervises it with MANO fits of MoCap data; here the procedural hand
supplies the joints, its rest pose and the rotations of its own forward
kinematics (``joint_rotations.sample_ik_hands``), all drawn at once from
``(seed, split)`` when the dataset is built: the same hands on every
machine, nothing rendered or cached.
"""
from typing import Dict, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from handkit.codecs.location_map import LocationMap
from handkit.datasets.synthetic.joint_rotations import sample_ik_hands
from handkit.registry import DATASETS
from handkit.skeleton import KEYPOINT_NAMES, NUM_KEYPOINTS, PARENTS

# Each split draws from its own stream of the seed (the spawn key).
SPLIT_STREAMS = dict(train=0, val=1, test=2)
# Each joint's parent, the wrist its own: the wrist's bone vector is 0.
_PARENT_OR_SELF = np.where(PARENTS < 0, 0, PARENTS)


def ik_inputs(joints: np.ndarray, rest_joints: np.ndarray) -> np.ndarray:
    """IKNet's input ``I = [X, D, X_ref, D_ref]`` (N, 84, 3) of joints and
    rest poses (N, 21, 3) each, ``D_j = X_j - X_parent(j)`` (0 for the
    wrist); :meth:`handkit.models.ik.IKNet.pack_inputs` on tensors."""
    return np.concatenate([joints, joints - joints[:, _PARENT_OR_SELF],
                           rest_joints,
                           rest_joints - rest_joints[:, _PARENT_OR_SELF]], 1)


@DATASETS.register_module()
class SyntheticIKDataset(Dataset):
    """Synthetic hands as IKNet samples.

    Joints and rest poses are in DetNet's units (``LocationMap.normalize``:
    relative to the middle MCP, in wrist -> middle-MCP bones), the units
    :func:`handkit.apis.inverse_kinematics` feeds IKNet.

    A sample is ``{'inputs': (84, 3) float32 [X, D, X_ref, D_ref],
    'data_samples': {'targets': {'quaternions': (21, 4)}, 'meta':
    {'sample_idx', 'hand_side', 'bone_mm'}}}``: the unit ground-truth
    rotations (w, x, y, z), w >= 0, and the wrist -> middle-MCP length (mm)
    that turns the units back into mm; ``hand_collate`` batches it.

    Args:
        num_samples: hands to draw (>= 1).
        split: 'train', 'val' or 'test': independent streams of ``seed``.
        seed: the seed (int >= 0).
        left_ratio: chance of a left hand; 1.0 for a left-hand IKNet
            (``IKNet(hand_side='left')`` refuses a right hand).
        pose_mix: weights of the pose styles (``hand_model.POSE_MIX`` when
            None).
        max_view_angle: None (every viewpoint) or the largest angle
            (degrees) between the palm normal and the viewing axis.
    """

    METAINFO = dict(dataset_name='synthetic_ik', num_keypoints=NUM_KEYPOINTS,
                    keypoint_names=list(KEYPOINT_NAMES))

    def __init__(self, num_samples: int = 1000, split: str = 'train',
                 seed: int = 0, left_ratio: float = 0.5,
                 pose_mix: Optional[Dict[str, float]] = None,
                 max_view_angle: Optional[float] = None) -> None:
        name = type(self).__name__
        if isinstance(num_samples, bool) or not isinstance(
                num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(f'{name}: num_samples must be an int >= 1, got '
                             f'{num_samples!r}')
        if split not in SPLIT_STREAMS:
            raise ValueError(f'{name}: split must be one of '
                             f'{tuple(SPLIT_STREAMS)}, got {split!r}')
        if isinstance(seed, bool) or not isinstance(
                seed, (int, np.integer)) or seed < 0:
            raise ValueError(f'{name}: seed must be an int >= 0, got {seed!r}')
        self.split = split
        self.metainfo = dict(self.METAINFO)
        rng = np.random.default_rng(np.random.SeedSequence(
            int(seed), spawn_key=(SPLIT_STREAMS[split], )))
        try:
            hands = sample_ik_hands(rng, int(num_samples),
                                    left_ratio=left_ratio, pose_mix=pose_mix,
                                    max_view_angle=max_view_angle)
        except ValueError as error:
            raise ValueError(f'{name}: {error}') from None
        codec = LocationMap()
        joints = codec.normalize(hands['keypoints_3d'])
        rest_joints = codec.normalize(hands['rest_keypoints_3d'])
        self.inputs = torch.as_tensor(ik_inputs(joints, rest_joints),
                                      dtype=torch.float32)
        self.quaternions = torch.as_tensor(hands['quaternions'],
                                           dtype=torch.float32)
        self.bone_mm = codec.reference_length(
            hands['keypoints_3d']).astype(np.float32)
        self.is_left = hands['is_left']

    def __len__(self) -> int:
        return len(self.inputs)

    def get_data_info(self, idx: int) -> dict:
        """Sample ``idx``'s meta: ``sample_idx``, ``hand_side`` ('left' /
        'right') and ``bone_mm``."""
        return dict(sample_idx=int(idx),
                    hand_side='left' if self.is_left[idx] else 'right',
                    bone_mm=float(self.bone_mm[idx]))

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.inputs[idx], data_samples=dict(
            targets=dict(quaternions=self.quaternions[idx]),
            meta=self.get_data_info(idx)))
