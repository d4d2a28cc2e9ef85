"""``HandModelLayer``: MANO's differentiable hand mesh, from the paper's
equations.

MANO (Romero, Tzionas and Black, "Embodied Hands", SIGGRAPH Asia 2017)
defines the hand mesh as SMPL does for the body (Loper et al., "SMPL: A
Skinned Multi-Person Linear Model", SIGGRAPH Asia 2015), eqs. (1)-(2) of
MANO:

    M(beta, theta) = W(T_P(beta, theta), J(beta), theta, W)          (1)
    T_P(beta, theta) = T + B_S(beta) + B_P(theta)                     (2)

with, as in SMPL (eqs. 8-10 there):

* shape blend shapes ``B_S(beta) = sum_n beta_n S_n`` (``shapedirs``);
* pose blend shapes ``B_P(theta) = sum_n (R_n(theta) - R_n(theta*)) P_n``
  (``posedirs``): the pose feature is the flattened ``R(theta_k) - I`` of
  the 15 non-root joints (135 numbers; the rest pose theta* has R = I);
* joints regressed from the *shaped* template,
  ``J(beta) = J_regressor (T + B_S(beta))``;
* ``W``: linear blend skinning (SMPL eqs. 2-4): each joint's world
  transform ``G_k = prod_{j in A(k)} [R(theta_j) | J_j - J_parent(j)]``
  along ``kintree_parents``, made relative to the rest pose
  (``G'_k = G_k G_k(theta*, J)^-1``, i.e. its translation minus
  ``R_world J_k``), blended per vertex with ``weights``:
  ``t'_i = sum_k w_ki G'_k t_P,i``.

The hand pose ``theta`` (15 joints x axis-angle) is either given directly
(``pose_type='axis_angle'``, the absolute pose) or, as MANO's release does,
from PCA coefficients: ``theta = hands_mean + c @ hands_components[:n]``
(``pose_type='pca'``; ``flat_hand_mean=True`` leaves the mean out, so zero
coefficients are the flat hand). The global orientation is the root
joint's axis-angle rotation (about the root joint), then ``transl``.

Rodrigues' formula is handkit's
:func:`handkit.codecs.canonical_frame.axis_angle_to_matrix` (it adds 1e-8
under the angle's square root, so a zero rotation is ``cos(1e-4) I``, off
the identity by 5e-9, far below float32's resolution, and has a gradient).

Forward kinematics loops over the *depth levels* of the tree (MANO: 3),
each level one batched matrix product for all its joints; nothing loops
over vertices.
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import torch
from torch import nn

from handkit.codecs.canonical_frame import axis_angle_to_matrix
from handkit.models.hand_model.model_file import (HandModelData,
                                                  load_hand_model)
from handkit.registry import MODELS
from handkit.skeleton import FINGERS, KEYPOINT_NAMES

POSE_TYPES = ('pca', 'axis_angle')

#: handkit's open hand (MakeHuman / MPFB2 data, CC0-1.0), packaged with
#: handkit and built by tools/build_open_hand.py: the default model
OPEN_HAND_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'data')
OPEN_HAND_FILES = {'right': 'open_hand_right.npz',
                   'left': 'open_hand_left.npz'}


def open_hand_path(side: str = 'right') -> str:
    """The packaged open hand's ``.npz`` for ``side`` ('right' / 'left')."""
    if side not in OPEN_HAND_FILES:
        raise ValueError(f"open hand: side must be 'right' or 'left', got "
                         f'{side!r}')
    return osp.join(OPEN_HAND_DIR, OPEN_HAND_FILES[side])


def depth_levels(parents: Sequence[int]):
    """``[(children, their parents), ...]`` per depth 1, 2, ... of a tree
    whose ``parents[0] == -1`` and ``parents[j] < j``."""
    depth = [0] * len(parents)
    for joint in range(1, len(parents)):
        depth[joint] = depth[parents[joint]] + 1
    levels = []
    for level in range(1, max(depth) + 1 if len(depth) > 1 else 1):
        children = [j for j, d in enumerate(depth) if d == level]
        levels.append((children, [parents[j] for j in children]))
    return levels


def handkit_joint_order(joint_order: Sequence[str]) -> list:
    """Index of each handkit keypoint (``handkit.skeleton``) in
    ``joints16 + five tips`` (thumb .. little), from the joints' names."""
    joint_order = list(joint_order)
    index = []
    for name in KEYPOINT_NAMES:
        if name.endswith('_tip'):
            index.append(len(joint_order) + FINGERS.index(name[:-4]))
        elif name in joint_order:
            index.append(joint_order.index(name))
        else:
            raise ValueError(f'HandModelLayer: the model names no joint '
                             f'{name!r} (its joints: {joint_order}); handkit '
                             'keypoints need the 16 MANO joints')
    return index


@MODELS.register_module()
class HandModelLayer(nn.Module):
    """MANO's mesh and joints from shape, pose, orientation, translation.

    Args:
        model_path: MANO_RIGHT.pkl / MANO_LEFT.pkl or a handkit ``.npz``
            (:func:`~handkit.models.hand_model.model_file.load_hand_model`);
            None (and no ``model_data``): handkit's packaged open hand
            (MakeHuman / MPFB2, CC0; :func:`open_hand_path`), the side
            ``side`` picks (default right).
        model_data: an already loaded :class:`HandModelData` instead.
        pose_type: 'pca' (``pose`` holds n <= 45 PCA coefficients) or
            'axis_angle' (``pose`` holds the 45 numbers of the 15 joints).
        flat_hand_mean: with 'pca', leave ``hands_mean`` out.
        fix_left_shapedirs, tip_vertex_ids, side: passed to the loader
            (``side`` also picks the open hand's file).
        output_scale: multiplies vertices and joints (1: the model's
            metres; 1000: millimetres); ``transl`` is added afterwards, in
            the output's unit.
        dtype: of the floating-point buffers, made from the file's float64
            arrays (``'float64'`` keeps them exact; a float32 layer moved
            with ``.double()`` keeps float32's rounding of them).

    ``forward(betas=None, pose=None, global_orient=None, transl=None)``:
    ``betas`` (B, n <= S), ``pose`` (B, n) or (B, 45), ``global_orient``
    (B, 3) axis-angle, ``transl`` (B, 3); absent ones are zeros. Returns
    ``vertices`` (B, V, 3), ``joints`` (B, 21, 3) in handkit's keypoint
    order (the 16 skinned joints and the 5 fingertip vertices) and
    ``joints16`` (B, 16, 3) in MANO's order. Buffers follow
    ``.to(dtype)``; inputs are cast to the buffers' dtype.
    """

    def __init__(self, model_path: Optional[str] = None,
                 model_data: Optional[HandModelData] = None,
                 pose_type: str = 'pca', flat_hand_mean: bool = False,
                 fix_left_shapedirs: bool = True,
                 tip_vertex_ids: Optional[Sequence[int]] = None,
                 side: Optional[str] = None,
                 output_scale: float = 1.0,
                 dtype: Union[str, torch.dtype] = torch.float32) -> None:
        super().__init__()
        if pose_type not in POSE_TYPES:
            raise ValueError(f'HandModelLayer: pose_type must be one of '
                             f'{POSE_TYPES}, got {pose_type!r}')
        if model_path is not None and model_data is not None:
            raise ValueError('HandModelLayer: give at most one of model_path '
                             '(the MANO .pkl or handkit .npz) and model_data')
        if model_path is None and model_data is None:
            model_path = open_hand_path(side or 'right')
        if model_data is None:
            model_data = load_hand_model(
                model_path, fix_left_shapedirs=fix_left_shapedirs,
                tip_vertex_ids=tip_vertex_ids, side=side)
        else:
            model_data.validate()
        self.pose_type = pose_type
        self.flat_hand_mean = bool(flat_hand_mean)
        self.output_scale = float(output_scale)
        self.side = model_data.side
        self.shapedirs_x_sign_fixed = model_data.shapedirs_x_sign_fixed
        self.joint_order = tuple(model_data.joint_order)
        parents = [int(p) for p in model_data.kintree_parents]
        self.parents = tuple(parents)
        self.levels = depth_levels(parents)
        self.num_joints = len(parents)

        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        if not dtype.is_floating_point:
            raise ValueError(f'HandModelLayer: dtype must be a floating '
                             f'point type, got {dtype}')

        def buffer(name, array, kind=dtype):
            self.register_buffer(name, torch.as_tensor(array).to(kind),
                                 persistent=False)

        data = model_data
        num_v = data.num_vertices
        buffer('v_template', data.v_template)
        buffer('shapedirs', data.shapedirs)
        # (P, V * 3): the pose feature times this is B_P, flattened
        buffer('posedirs', data.posedirs.reshape(num_v * 3, -1).T)
        buffer('weights', data.weights)
        buffer('J_regressor', data.J_regressor)
        buffer('hands_components', data.hands_components)
        buffer('hands_mean', data.hands_mean)
        buffer('faces', data.faces, torch.int64)
        buffer('tip_vertex_ids', data.tip_vertex_ids, torch.int64)
        buffer('handkit_order', handkit_joint_order(self.joint_order),
               torch.int64)

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[-1])

    def hand_pose(self, pose: torch.Tensor) -> torch.Tensor:
        """(B, 3 (J - 1)) axis-angle hand pose from ``pose``."""
        size = self.hands_mean.shape[0]
        if self.pose_type == 'axis_angle':
            if pose.shape[-1] != size:
                raise ValueError(f"HandModelLayer(pose_type='axis_angle'): "
                                 f'pose must be (B, {size}), got '
                                 f'{tuple(pose.shape)}')
            return pose
        count = pose.shape[-1]
        if count > self.hands_components.shape[0]:
            raise ValueError(f"HandModelLayer(pose_type='pca'): {count} "
                             'coefficients, the model has '
                             f'{self.hands_components.shape[0]} components')
        hand = pose @ self.hands_components[:count]
        return hand if self.flat_hand_mean else hand + self.hands_mean

    def forward(self, betas: Optional[torch.Tensor] = None,
                pose: Optional[torch.Tensor] = None,
                global_orient: Optional[torch.Tensor] = None,
                transl: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        dtype, device = self.v_template.dtype, self.v_template.device
        given = [t for t in (betas, pose, global_orient, transl)
                 if t is not None]
        batch = given[0].shape[0] if given else 1

        def prepare(tensor, width):
            if tensor is None:
                return torch.zeros(batch, width, dtype=dtype, device=device)
            tensor = torch.as_tensor(tensor).to(dtype=dtype, device=device)
            if tensor.ndim != 2 or tensor.shape[0] != batch:
                raise ValueError(f'HandModelLayer: inputs must be (B, n) '
                                 f'with one B ({batch}); got '
                                 f'{tuple(tensor.shape)}')
            return tensor

        betas = prepare(betas, 0)
        if betas.shape[1] > self.num_betas:
            raise ValueError(f'HandModelLayer: {betas.shape[1]} betas, the '
                             f'model has {self.num_betas} shape directions')
        default_pose = (0 if self.pose_type == 'pca' else
                        self.hands_mean.shape[0])
        hand = self.hand_pose(prepare(pose, default_pose))
        global_orient = prepare(global_orient, 3)
        transl = prepare(transl, 3)

        # (2) T_P = T + B_S(beta) + B_P(theta); J(beta) from T + B_S
        v_shaped = self.v_template + torch.einsum(
            'bl,vcl->bvc', betas, self.shapedirs[..., :betas.shape[1]])
        joints_rest = torch.einsum('jv,bvc->bjc', self.J_regressor,
                                   v_shaped)  # (B, J, 3)
        full_pose = torch.cat([global_orient, hand], 1).view(
            batch, self.num_joints, 3)
        rotations = axis_angle_to_matrix(full_pose)  # (B, J, 3, 3)
        eye = torch.eye(3, dtype=dtype, device=device)
        pose_feature = (rotations[:, 1:] - eye).reshape(batch, -1)
        v_posed = v_shaped + (pose_feature @ self.posedirs).view(
            batch, -1, 3)

        # forward kinematics, one depth level at a time
        offsets = joints_rest.clone()
        offsets[:, 1:] = joints_rest[:, 1:] - joints_rest[
            :, list(self.parents[1:])]
        local = torch.cat([rotations, offsets[..., None]], -1)  # (B,J,3,4)
        bottom = torch.tensor([0, 0, 0, 1], dtype=dtype,
                              device=device).expand(batch, self.num_joints,
                                                    1, 4)
        world = torch.cat([local, bottom], 2)  # (B, J, 4, 4)
        for children, parents in self.levels:
            world = world.index_copy(
                1, torch.tensor(children, device=device),
                world[:, parents] @ world[:, children])
        posed_joints = world[:, :, :3, 3]  # (B, J, 3)
        # G'_k = G_k G_k(theta*, J)^-1: translation minus R_world J_k
        relative = torch.cat([
            world[:, :, :3, :3],
            (posed_joints - (world[:, :, :3, :3]
                             @ joints_rest[..., None])[..., 0])[..., None]],
            -1)  # (B, J, 3, 4)
        blended = torch.einsum('vk,bkij->bvij', self.weights, relative)
        vertices = (blended[..., :3] @ v_posed[..., None])[..., 0] \
            + blended[..., 3]

        scale = self.output_scale
        vertices = vertices * scale + transl[:, None]
        joints16 = posed_joints * scale + transl[:, None]
        tips = vertices[:, self.tip_vertex_ids]
        joints = torch.cat([joints16, tips], 1)[:, self.handkit_order]
        return dict(vertices=vertices, joints=joints, joints16=joints16)
