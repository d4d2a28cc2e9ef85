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
predicted rotations (:func:`rotate_rest_pose`) against the joints.

Rotations are global: joint j's rotation turns the rest-pose bones that
leave j into the posed ones (handkit's synthetic hands define them so,
``handkit.datasets.synthetic.joint_rotations``).
"""
from typing import Dict, Optional

import torch
from torch import nn

from handkit.codecs.bone_tree import bones_to_joints
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


def rotate_rest_pose(rotations: torch.Tensor,
                     rest_joints: torch.Tensor) -> torch.Tensor:
    """FK(Q): wrist-relative joints (B, 21, 3) from global rotations (B, 21,
    3, 3) and the rest pose (B, 21, 3); bone k is ``G_parent(k)`` times its
    rest bone."""
    rest_bones = rest_joints[:, 1:] - rest_joints[:, _PARENTS]  # (B, 20, 3)
    bones = torch.einsum('bkij,bkj->bki', rotations[:, _PARENTS], rest_bones)
    return bones_to_joints(bones)


def mirror_quaternions(quaternions: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 4) (w, x, y, z) seen in a mirror across the x = 0
    plane: ``M R M`` with ``M = diag(-1, 1, 1)`` turns about the mirrored
    axis by the opposite angle, i.e. (w, x, -y, -z). Its own inverse."""
    return quaternions * quaternions.new_tensor([1.0, 1.0, -1.0, -1.0])


@MODELS.register_module()
class IKNet(nn.Module):
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
            flipped internally"; ``config.py:4``). ``tools/train_iknet.py``
            then draws hands of that side only, and
            :func:`handkit.apis.inverse_kinematics` mirrors the other side
            in and the rotations back out (:func:`mirror_quaternions`).

    ``forward(inputs (B, 4J, 3))`` -> raw quaternions (B, J, 4) (w, x, y,
    z), not normalised (L_norm needs their norm); :meth:`pack_inputs` builds
    the inputs from joints and rest poses, :meth:`predict` gives unit
    quaternions with w >= 0. Inputs are in DetNet's units (relative to the
    middle MCP, in wrist -> middle-MCP bones).
    """

    def __init__(self, num_joints: int = NUM_KEYPOINTS, num_layers: int = 7,
                 width: int = 1024,
                 loss: dict = dict(type='QuaternionLoss'),
                 xyz_weight: float = 1.0,
                 hand_side: Optional[str] = None) -> None:
        super().__init__()
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

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.ndim != 3 or tuple(inputs.shape[1:]) != (
                4 * self.num_joints, 3):
            raise ValueError(f'IKNet: inputs must be (B, '
                             f'{4 * self.num_joints}, 3) [X, D, X_ref, '
                             f'D_ref], got {tuple(inputs.shape)}')
        return self.layers(inputs.flatten(1)).view(-1, self.num_joints, 4)

    @torch.no_grad()
    def predict(self, joints: torch.Tensor,
                rest_joints: torch.Tensor) -> torch.Tensor:
        """Unit quaternions (B, J, 4), w >= 0, of joints and rest poses."""
        raw = self(self.pack_inputs(joints, rest_joints))
        unit = raw / raw.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        return torch.where(unit[..., :1] < 0, -unit, unit)

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
