"""IKNet: Zhou et al.'s inverse-kinematics network, 3D joints -> rotations.

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.2.
IKNet maps the 3D joints X that DetNet predicts (relative to the middle MCP,
in wrist -> middle-MCP bones) to one rotation per joint, as quaternions
Q (J x 4). Its input is ``I = [X, D, X_ref, D_ref]`` (4 x J x 3): the
joints, their bone vectors ``D_j = X_j - X_parent(j)`` (0 for the wrist),
and the same two for the hand's rest pose (which carries its shape). The
network is 7 fully-connected layers, batch normalisation and a sigmoid after
each hidden one (the released model: 6 hidden layers of 1,024). The losses
are those of :class:`QuaternionLoss` (L_cos, L_l2, L_norm) and, for data
with 3D joints, ``L_xyz = ||X - FK(Q)||^2``: the rest pose turned by the
predicted rotations (:func:`handkit.hand.rotate_rest_pose`) against the
joints.

Rotations are global: joint j's rotation turns the rest-pose bones that
leave j into the posed ones (handkit's synthetic hands define them so,
``handkit.datasets.synthetic.joint_rotations``; their rest pose and
kinematics are :mod:`handkit.hand.kinematics`).

IKNet is an mmengine model like any other: ``tools/train.py
configs/zhou/iknet_synthetic.py`` trains it on ``SyntheticIKDataset``
through the Runner (resume, checkpoints, logging) and validates it with
``RotationMetric``; ``handkit.apis.init_model`` loads its checkpoints.
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from handkit.hand.kinematics import rotate_rest_pose
from handkit.models.precision import (checked_test_cfg, mode_precision,
                                      precision_context)
from handkit.registry import MODELS
from handkit.skeleton import NUM_KEYPOINTS, PARENTS

_PARENTS = torch.as_tensor(PARENTS[1:])


def quaternion_to_matrix(quaternions: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternions (w, x, y, z), normalised here -> (..., 3, 3)."""
    w, x, y, z = (quaternions / quaternions.norm(dim=-1, keepdim=True)
                  .clamp_min(1e-8)).unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], -1).view(*quaternions.shape[:-1], 3, 3)


def bone_vectors(joints: torch.Tensor) -> torch.Tensor:
    """(B, 21, 3) joints -> (B, 21, 3) ``X_j - X_parent(j)``, 0 for the
    wrist (the paper's D)."""
    return torch.cat([torch.zeros_like(joints[:, :1]),
                      joints[:, 1:] - joints[:, _PARENTS]], 1)


def mirror_quaternions(quaternions: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 4) (w, x, y, z) seen in a mirror across the x = 0
    plane: ``M R M`` with ``M = diag(-1, 1, 1)`` turns about the mirrored
    axis by the opposite angle, i.e. (w, x, -y, -z). Its own inverse."""
    return quaternions * quaternions.new_tensor([1.0, 1.0, -1.0, -1.0])


@MODELS.register_module()
class IKNet(BaseModel):
    """The MLP ``[X, D, X_ref, D_ref]`` (B, 4J, 3) -> Q (B, J, 4).

    Args:
        num_joints: J (21).
        num_layers: fully-connected layers in all (7: six hidden + output).
        width: neurons of each hidden layer (1,024).
        loss: the quaternion loss config (``QuaternionLoss``).
        xyz_weight: weight of L_xyz (a plain attribute; 0 drops it).
        hand_side: None (the model takes both sides as they come, with the
            side's rest pose), or 'left' / 'right': a one-side model, as
            the released IKNet is a left-hand model that gets right hands
            mirrored (CalciferZh/minimal-hand ``README.md``: "The
            pre-trained model is for left hand, but the input would be
            flipped internally"; ``config.py:4``). It then trains and
            validates on hands of that side only (a sample of the other
            side is an error: ``SyntheticIKDataset(left_ratio=...)``), and
            :func:`handkit.apis.inverse_kinematics` mirrors the other side
            in and the rotations back out (:func:`mirror_quaternions`).
        data_preprocessor: mmengine's ``BaseDataPreprocessor`` (moves the
            batch to the device) when None.
        init_cfg: mmengine weight-initialisation config.
        test_cfg: ``precision='bf16'`` predicts (``mode='predict'``) under
            bfloat16 autocast where the device has it
            (``handkit.models.precision``; what ``tools/test.py
            --precision`` sets).

    mmengine's model contract, on ``SyntheticIKDataset`` batches
    (``tools/train.py configs/zhou/iknet_synthetic.py``):
    ``forward(inputs (B, 4J, 3), data_samples=None, mode='tensor')`` -> raw
    quaternions (B, J, 4) (w, x, y, z), not normalised (L_norm needs their
    norm); ``mode='loss'`` -> :meth:`loss` against
    ``data_samples['targets']['quaternions']``, with L_xyz on the joints
    and rest poses of the inputs; ``mode='predict'`` -> one dict per
    sample: ``pred_quaternions`` / ``gt_quaternions`` (J, 4) and
    ``pred_keypoints_3d`` / ``gt_keypoints_3d`` (J, 3) mm, the rest pose
    turned by the predicted rotations against the joints, wrist at the
    origin (``RotationMetric`` reads them). :meth:`pack_inputs` builds the
    inputs from joints and rest poses, :meth:`predict` gives unit
    quaternions with w >= 0. Inputs are in DetNet's units (relative to the
    middle MCP, in wrist -> middle-MCP bones).
    """

    def __init__(self, num_joints: int = NUM_KEYPOINTS, num_layers: int = 7,
                 width: int = 1024,
                 loss: dict = dict(type='QuaternionLoss'),
                 xyz_weight: float = 1.0,
                 hand_side: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.test_cfg = checked_test_cfg(test_cfg)
        if hand_side not in (None, 'left', 'right'):
            raise ValueError(f"IKNet: hand_side must be None, 'left' or "
                             f"'right', got {hand_side!r}")
        self.hand_side = hand_side
        if num_joints != NUM_KEYPOINTS:
            raise ValueError(f'IKNet: num_joints must be {NUM_KEYPOINTS} '
                             f'(handkit.skeleton), got {num_joints}')
        if num_layers < 2:
            raise ValueError(f'IKNet: num_layers must be >= 2 (hidden + '
                             f'output), got {num_layers}')
        self.num_joints = num_joints
        layers, fan_in = [], 4 * num_joints * 3
        for _ in range(num_layers - 1):
            layers += [nn.Linear(fan_in, width), nn.BatchNorm1d(width),
                       nn.Sigmoid()]
            fan_in = width
        layers.append(nn.Linear(fan_in, num_joints * 4))
        self.layers = nn.Sequential(*layers)
        self.loss_module = MODELS.build(loss)
        self.xyz_weight = float(xyz_weight)

    @property
    def input_shape(self) -> Tuple[int, int]:
        """One input's shape: the joints, their bones, the rest pose and its
        bones, (4 J, 3) (what ``tools/test.py --speed`` feeds)."""
        return 4 * self.num_joints, 3

    @staticmethod
    def pack_inputs(joints: torch.Tensor,
                    rest_joints: torch.Tensor) -> torch.Tensor:
        """``[X, D, X_ref, D_ref]`` (B, 84, 3) of joints and rest poses
        (B, 21, 3) each."""
        if joints.shape != rest_joints.shape or tuple(
                joints.shape[1:]) != (NUM_KEYPOINTS, 3):
            raise ValueError(f'IKNet: joints {tuple(joints.shape)} and rest '
                             f'joints {tuple(rest_joints.shape)} must both '
                             f'be (B, {NUM_KEYPOINTS}, 3)')
        return torch.cat([joints, bone_vectors(joints), rest_joints,
                          bone_vectors(rest_joints)], 1)

    def unpack_inputs(self, inputs: torch.Tensor
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The joints X and the rest poses X_ref (B, J, 3) of inputs."""
        joints = self.num_joints
        return inputs[:, :joints], inputs[:, 2 * joints:3 * joints]

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[torch.Tensor,
                                               Dict[str, torch.Tensor],
                                               List[dict]]:
        if inputs.ndim != 3 or tuple(inputs.shape[1:]) != (
                4 * self.num_joints, 3):
            raise ValueError(f'IKNet: inputs must be (B, '
                             f'{4 * self.num_joints}, 3) [X, D, X_ref, '
                             f'D_ref], got {tuple(inputs.shape)}')
        if mode not in ('tensor', 'loss', 'predict'):
            raise ValueError(f"IKNet: mode must be 'tensor', 'loss' or "
                             f"'predict', got {mode!r}")
        with precision_context(mode_precision(self.test_cfg, mode),
                               inputs.device):
            raw = self.layers(inputs.flatten(1)).view(-1, self.num_joints, 4)
        raw = raw.float()
        if mode == 'tensor':
            return raw
        if data_samples is None or 'quaternions' not in data_samples.get(
                'targets', {}):
            raise ValueError(f"IKNet: mode={mode!r} needs data_samples with "
                             f"targets['quaternions'] (SyntheticIKDataset)")
        self._check_sides(data_samples['metas'])
        quaternions = data_samples['targets']['quaternions']
        joints, rest_joints = self.unpack_inputs(inputs)
        if mode == 'loss':
            return self.loss(raw, quaternions, joints, rest_joints)
        unit = _canonical_unit(raw)
        posed = rotate_rest_pose(quaternion_to_matrix(unit), rest_joints)
        bone_mm = inputs.new_tensor([meta['bone_mm']
                                     for meta in data_samples['metas']])
        to_mm = bone_mm[:, None, None]
        rooted = (joints - joints[:, :1]) * to_mm
        arrays = dict(pred_quaternions=unit, gt_quaternions=quaternions,
                      pred_keypoints_3d=posed * to_mm, gt_keypoints_3d=rooted)
        arrays = {name: value.detach().float().cpu().numpy()
                  for name, value in arrays.items()}
        return [dict({name: value[index] for name, value in arrays.items()},
                     sample_idx=meta.get('sample_idx'))
                for index, meta in enumerate(data_samples['metas'])]

    def _check_sides(self, metas: List[dict]) -> None:
        """A one-side model refuses a hand of the other side (one line)."""
        if self.hand_side is None:
            return
        for meta in metas:
            if meta.get('hand_side', self.hand_side) != self.hand_side:
                ratio = float(self.hand_side == 'left')
                raise ValueError(
                    f"IKNet(hand_side={self.hand_side!r}) got a "
                    f"{meta['hand_side']} hand (sample "
                    f"{meta.get('sample_idx')}): draw {self.hand_side} hands "
                    f'only (the dataset\'s left_ratio={ratio}) or set '
                    f'model.hand_side=None')

    @torch.no_grad()
    def predict(self, joints: torch.Tensor,
                rest_joints: torch.Tensor) -> torch.Tensor:
        """Unit quaternions (B, J, 4), w >= 0, of joints and rest poses."""
        return _canonical_unit(self(self.pack_inputs(joints, rest_joints)))

    def loss(self, raw: torch.Tensor, quaternions: torch.Tensor,
             joints: Optional[torch.Tensor] = None,
             rest_joints: Optional[torch.Tensor] = None
             ) -> Dict[str, torch.Tensor]:
        """The weighted losses of raw outputs (B, J, 4) against the unit
        ground truth; with ``joints`` and ``rest_joints`` also L_xyz (the
        per-sample sum of squares, averaged over the batch)."""
        losses = self.loss_module(raw, quaternions)
        if self.xyz_weight and joints is not None:
            if rest_joints is None:
                raise ValueError('IKNet.loss: L_xyz needs rest_joints with '
                                 'joints')
            posed = rotate_rest_pose(quaternion_to_matrix(raw.float()),
                                     rest_joints.float())
            target = joints.float() - joints[:, :1].float()
            losses['loss_xyz'] = self.xyz_weight * (
                posed - target).pow(2).sum() / len(raw)
        return losses


def _canonical_unit(raw: torch.Tensor) -> torch.Tensor:
    """Raw quaternions (..., 4) -> unit, w >= 0 (q and -q: one rotation)."""
    unit = raw / raw.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return torch.where(unit[..., :1] < 0, -unit, unit)
