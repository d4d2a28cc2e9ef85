"""Boukhayma et al.'s MANO regression: 22 numbers -> mesh -> 2D keypoints.

Boukhayma, Bem and Torr, "3D Hand Shape and Pose from Images in the Wild",
CVPR 2019 (docs/boukhayma.md). A ResNet-34 encoder
(:class:`~handkit.models.backbones.ResNetEncoder`, the backbone) reads the 256 x 256 crop; :class:`MANORegressionHead` pools its
last features, regresses the vector of
:mod:`handkit.codecs.mano_params` (scale, 2D translation, rotation, 6 pose
PCA and 10 shape coefficients), runs the hand model
(:class:`~handkit.models.hand_model.HandModelLayer`) and projects its joints
and vertices with the weak perspective ``x2d = t + s X[:, :2]``.

Facts from the authors' inference code (3dhand, CC BY-NC; read, not
copied): the fully connected layer's output is added to a fixed mean
(scale 545, translation (128, 128) for their 256-pixel crop, zeros
elsewhere); the hand pose is ``hands_mean + theta @ hands_components[:6]``
(the mean is added: ``flat_hand_mean=False``); the root joint's rotation is
fixed at (pi, 0, 0) and the predicted rotation is applied after it; the
model is in metres. handkit's normalisation (``MANORegressionHead``'s
docstring) keeps those meanings with better-conditioned outputs.
"""
import math
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from handkit.codecs.base import BaseCodec
from handkit.codecs.canonical_frame import axis_angle_to_matrix
from handkit.codecs.mano_params import join_params, split_params
from handkit.models.heads.base_head import BaseHead
from handkit.models.losses.combined import CombinedLoss
from handkit.registry import CODECS, MODELS

# The terms of ``losses``, in the order ``loss`` reports them: eq. (5)'s,
# then the parameter terms of the synthetic pre-training (HandModelParams).
LOSS_NAMES = ('2d', '3d', 'mask', 'reg', 'rot', 'pose', 'shape')


def weak_perspective(points: torch.Tensor, scale: torch.Tensor,
                     transl: torch.Tensor) -> torch.Tensor:
    """``x2d = t + s X[..., :2]``: (B, N, 3) points, (B, 1) scale, (B, 2)
    translation -> (B, N, 2)."""
    return transl[:, None] + scale[:, None] * points[..., :2]


@MODELS.register_module()
class MANORegressionHead(BaseHead):
    """Pooled features -> 22 numbers -> hand mesh, 3D joints, 2D keypoints.

    Normalisation (handkit's; the meanings are the release's):

    * ``X`` (joints and vertices) in metres, centred at the root joint
      (the wrist), rotated by ``R(rot) R(base_rotation)``: the hand model's
      hand (wrist at the origin, y toward the middle finger, z palmar)
      turned by (pi, 0, 0), the release's fixed root rotation, is upright in
      the image with its palm to the camera, so ``rot = 0`` is that hand;
    * ``s`` in input pixels per metre and ``t`` in input pixels, where the
      root projects: ``x2d = t + s X[:, :2]``;
    * the linear layer's raw outputs ``r`` are scaled to the vector:
      ``s = s0 (1 + r0)``, ``t = t0 + (W / 2) r[1:3]``, the rest ``= r``;
      its weights start at N(0, 1e-3) and its bias at 0, so the first
      prediction is the mean hand (zero pose coefficients plus the model's
      ``hands_mean``; zero betas), its keypoint box centred in the crop and
      ``init_extent`` of the input wide (``s0``, ``t0`` computed from the
      hand model at build time).

    Args:
        in_channels: channels of the encoder's last features.
        input_size: (W, H) of the network input.
        hand_model: ``HandModelLayer`` config (``pose_type='pca'``,
            ``flat_hand_mean=False`` as the release; ``model_path`` for a
            MANO file).
        decoder: the ``MANOParams`` codec (num_pose 6; num_shape: the hand
            model's betas, 10 for MANO and the open hand).
        init_extent: the first prediction's keypoint box side over the
            input side (``HandCrop(padding=p)`` crops make ``1 / p``).
        base_rotation: axis-angle of the fixed rotation before ``rot``.
        reference_size: L2D and Lmask take input pixels times
            ``reference_size / input width``: 1 (default) normalises them
            by the input size (coordinates in [0, 1]); 256 would give the
            paper's 256-pixel crops' pixels.
        losses: name -> loss config with its ``loss_weight``
            (:class:`~handkit.models.losses.CombinedLoss`), eq. (5)'s
            terms, each reported as ``loss_<name>``: ``'2d'`` (L2D,
            ``SquaredDistanceLoss`` of ``keypoints_2d``), ``'3d'`` (L3D,
            ``SquaredDistanceLoss`` of ``joints_3d_rel``), ``'mask'``
            (Lmask, ``MaskDistanceLoss`` of ``mask_distance``), ``'reg'``
            (Lreg, ``SquaredNormLoss``), weighted 1, 100, 100, 10; a weight
            of 0 drops the term and its target (the real-data configs
            without masks set mask 0). Where the data carries the hand
            model's parameters (``HandModelParams``), three more terms, off
            by default, compare them as the release's synthetic pre-training
            data stores them: ``'rot'`` (the rotation matrix ``R(rot)
            R(base_rotation)`` against ``rotation_gt``), ``'pose'`` (the
            15 joints' axis-angles the coefficients give, ``hands_mean``
            added, against ``hand_pose_gt``) and ``'shape'`` (the betas
            against ``hand_shape_gt``), each ``SquaredDistanceLoss``.
        prior_channels: must stay 0 (the heat-map input enters the encoder,
            docs/boukhayma.md).
    """

    def __init__(self, in_channels: int = 512,
                 input_size: Sequence[int] = (256, 256),
                 hand_model: dict = dict(type='HandModelLayer',
                                         pose_type='pca',
                                         flat_hand_mean=False),
                 decoder: dict = dict(type='MANOParams'),
                 init_extent: float = 1 / 1.5,
                 base_rotation: Sequence[float] = (math.pi, 0.0, 0.0),
                 reference_size: float = 1.0,
                 losses: Mapping[str, dict] = {
                     '2d': dict(type='SquaredDistanceLoss', loss_weight=1.0),
                     '3d': dict(type='SquaredDistanceLoss',
                                loss_weight=100.0),
                     'mask': dict(type='MaskDistanceLoss', loss_weight=100.0),
                     'reg': dict(type='SquaredNormLoss', loss_weight=10.0)},
                 prior_channels: int = 0) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.input_size = tuple(int(v) for v in input_size)
        self.prior_channels = int(prior_channels)
        self.decoder = (decoder if isinstance(decoder, BaseCodec)
                        else CODECS.build(decoder))
        if tuple(self.decoder.input_size) != self.input_size:
            raise ValueError(
                f'MANORegressionHead: input_size {self.input_size} but the '
                f'decoder {self.decoder!r} has {self.decoder.input_size}')
        self.hand_model = MODELS.build(hand_model)
        if self.hand_model.pose_type != 'pca':
            raise ValueError("MANORegressionHead: the hand model must have "
                             "pose_type='pca' (the paper's 6 coefficients)")
        self.num_pose = self.decoder.num_pose
        self.num_shape = self.decoder.num_shape
        if self.num_shape > self.hand_model.num_betas:
            raise ValueError(
                f'MANORegressionHead: {self.num_shape} shape coefficients, '
                f'the hand model has {self.hand_model.num_betas}')
        self.num_params = self.decoder.num_params
        self.reference_size = float(reference_size)
        self.loss_module = CombinedLoss(losses, LOSS_NAMES,
                                        'MANORegressionHead')

        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.in_channels, self.num_params)
        nn.init.normal_(self.fc.weight, std=1e-3)
        nn.init.zeros_(self.fc.bias)
        self.register_buffer('base_rotation', axis_angle_to_matrix(
            torch.tensor(base_rotation, dtype=torch.float32)),
            persistent=False)
        mean, unit = self._initial_vector(float(init_extent))
        self.register_buffer('param_mean', mean, persistent=False)
        self.register_buffer('param_unit', unit, persistent=False)

    @torch.no_grad()
    def _initial_vector(self, extent: float):
        """(mean, unit) of the vector: the mean hand centred in the crop."""
        mean, unit = torch.zeros(self.num_params), torch.ones(self.num_params)
        joints = self.mesh(self.split(mean[None]))[0][0, :, :2]
        low, high = joints.min(0).values, joints.max(0).values
        width, height = self.input_size
        s0 = extent * min(width, height) / float((high - low).max())
        t0 = torch.tensor([width - 1, height - 1]) / 2 - s0 * (low + high) / 2
        mean[0], mean[1:3] = s0, t0
        unit[0], unit[1:3] = s0, torch.tensor([width / 2, height / 2])
        return mean, unit

    def split(self, params: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The vector's parts (:func:`~handkit.codecs.mano_params.
        split_params` in the decoder's layout)."""
        return split_params(params, self.num_pose, self.num_shape)

    def mesh(self, parts: Mapping[str, torch.Tensor]):
        """Root-relative, rotated joints (B, 21, 3) and vertices (B, V, 3),
        metres, and the rotation (B, 3, 3), from the vector's parts."""
        out = self.hand_model(betas=parts['shape'], pose=parts['pose'])
        root = out['joints'][:, :1]
        rotation = axis_angle_to_matrix(parts['rot']) @ self.base_rotation
        turn = rotation.transpose(1, 2)
        return ((out['joints'] - root) @ turn,
                (out['vertices'] - root) @ turn, rotation)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        self.check_prior(prior)
        self.check_features(feats)
        raw = self.fc(self.pool(feats).flatten(1))
        params = self.param_mean + self.param_unit * raw
        parts = self.split(params)
        joints, vertices, rotation = self.mesh(parts)
        return dict(
            params=params,
            joints=joints,
            vertices=vertices,
            rotation=rotation,
            keypoints=weak_perspective(joints, parts['scale'],
                                       parts['transl']),
            vertices_2d=weak_perspective(vertices, parts['scale'],
                                         parts['transl']))

    def loss(self, outputs: Dict[str, torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        pixel = self.reference_size / self.input_size[0]
        terms = self.loss_module
        parts = self.split(outputs['params'])
        losses = {}
        if terms.active('2d'):
            losses['loss_2d'] = terms(
                '2d', outputs['keypoints'],
                self.require_target(batch, 'keypoints_2d', 'L2D'),
                self.require_target(batch, 'keypoints_2d_weight'), pixel)
        if terms.active('3d'):
            losses['loss_3d'] = terms(
                '3d', outputs['joints'],
                self.require_target(batch, 'joints_3d_rel', 'L3D'))
        if terms.active('mask'):
            losses['loss_mask'] = terms(
                'mask', outputs['vertices_2d'],
                self.require_target(batch, 'mask_distance',
                                    'Lmask: MaskDistanceField'),
                self.require_target(batch, 'mask_weight'), pixel)
        if terms.active('reg'):
            losses['loss_reg'] = terms('reg', (parts['pose'], parts['shape']))
        why = 'the hand model parameters: HandModelParams'
        if terms.active('rot'):
            losses['loss_rot'] = terms(
                'rot', outputs['rotation'],
                self.require_target(batch, 'rotation_gt', why))
        if terms.active('pose'):
            pose = self.hand_model.hand_pose(parts['pose'])
            losses['loss_pose'] = terms(
                'pose', pose.unflatten(-1, (-1, 3)),
                self.require_target(batch, 'hand_pose_gt', why))
        if terms.active('shape'):
            betas = parts['shape']
            target = self.require_target(batch, 'hand_shape_gt', why)
            losses['loss_shape'] = terms('shape', betas[:, None],
                                         target[:, None, :betas.shape[-1]])
        return losses

    def predict_tensors(self, outputs: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        return dict(keypoints=outputs['keypoints'],
                    vertices=outputs['vertices'] * 1000.0,
                    keypoints_3d=outputs['joints'] * 1000.0,
                    params=outputs['params'])

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> Dict[str, np.ndarray]:
        keypoints = np.asarray(tensors['keypoints'], np.float32)
        return dict(keypoints=keypoints,
                    scores=np.ones(keypoints.shape[:2], np.float32),
                    keypoints_3d=np.asarray(tensors['keypoints_3d']),
                    vertices=np.asarray(tensors['vertices']),
                    params=np.asarray(tensors['params']))

    @staticmethod
    def join(scale, transl, rot, pose, shape):
        """:func:`~handkit.codecs.mano_params.join_params`."""
        return join_params(scale, transl, rot, pose, shape)
