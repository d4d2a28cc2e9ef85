"""Pose3DRegressionHead: Cai et al.'s 3D regression and depth regulariser.

Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
Monocular RGB Images", ECCV 2018. After a 2D network (CPM-style heatmaps),
a regression network takes the estimated 2D heatmaps together with the
image features and regresses the root-relative, scale-normalised 3D joints
(``NormalizedPose3D``). During training a depth regulariser
(``DepthRegularizer``) generates a depth map from those joints, compared
with the sample's depth image by an L1 loss; the samples that keep their 3D
label also get the 3D loss. A sample without a 3D label is thus trained by
its 2D heatmaps and its depth image alone.

Regression layers (the paper's sizes are not available here; handkit's
choice, convolutions then fully-connected layers as the paper describes):
``cat(F, H)`` -> two 3x3 stride-2 convolutions (BN, ReLU) -> flatten ->
FC - ReLU - FC - ReLU -> FC to K x 3.

The regulariser runs in :meth:`loss` only: ``forward`` / ``predict_tensors``
(what an ONNX export holds) are the regression alone, so test time and a
deployed model never compute it.
"""
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.models.losses.combined import CombinedLoss
from handkit.registry import CODECS, MODELS

# The terms of ``losses``, in the order ``loss`` reports them.
LOSS_NAMES = ('pose3d', 'depth', 'xy', 'lift', 'unit')


def _strided_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 stride-2 conv -> BN -> ReLU (halves h and w, rounding up)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1,
                  bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


@MODELS.register_module()
class Pose3DRegressionHead(BaseHead):
    """Normalised 3D joints (B, K, 3) from ``cat(F, heatmaps)``.

    Args:
        in_channels: channels of the features F.
        map_size: (width, height) of F and of the heatmaps (the 2D codec's
            ``heatmap_size``).
        num_keypoints: K (21).
        prior_channels: channels of the prior, the 2D head's heatmaps (the
            estimator fills it in).
        conv_channels: width of the two strided convolutions.
        fc_channels: width of the two hidden fully-connected layers.
        decoder: the config's one ``NormalizedPose3D`` codec.
        reference_bone_mm: length (mm) of the codec's reference bone that
            turns the normalised joints into mm (the training hands' mean).
        depth_regularizer: ``DepthRegularizer`` config, or None (no depth
            term: the fully-supervised regression alone).
        losses: name -> loss config with its ``loss_weight``
            (:class:`~handkit.models.losses.CombinedLoss`); each term is
            ``loss_<name>``, and a weight of 0 leaves it and its targets
            out:

            * ``pose3d``: the 3D loss (``JointL2Loss``), weighted per
              sample by ``targets['joints_3d_weight']``;
            * ``depth``: the regulariser's loss (``DepthL1Loss``), weighted
              per sample by ``targets['depth_weight']``; used when there
              is a ``depth_regularizer``;
            * ``xy``: handkit's 2D anchor (``ScaleAlignedXYLoss``, not the
              paper's): the joints' x-y against the 2D labels up to each
              sample's scale, for every sample;
            * ``lift``: handkit's depth anchor (``ScaleShiftAlignedLoss``,
              not the paper's): the joints against the 2D labels lifted
              through the depth image (``DepthLiftedKeypoints``) up to each
              sample's scale and shift, for every sample;
            * ``unit``: handkit's scale anchor (``UnitBoneLoss``): the
              predicted reference bone of the codec against 1, for every
              sample (the unit that the 3D labels teach otherwise).

            The default: ``pose3d`` and ``depth`` at weight 1, the three
            anchors at 0.

    ``forward`` -> ``{'joints_3d_normalized': (B, K, 3)}``, the codec's
    root at 0. ``loss`` ->
    ``{'loss_pose3d', 'loss_depth'}`` (+ ``'loss_xy'``, ``'loss_lift'``,
    ``'loss_unit'``) from
    ``targets['joints_3d']`` (B, K, 3), ``joints_3d_weight`` (B, 1),
    ``depth_map`` (B, H, W) and ``depth_weight`` (B, 1) (+
    ``keypoints_2d_rel`` (B, K, 2) and ``keypoints_2d_weight`` (B, K), the
    ``RootRelative2D`` codec's; + ``keypoints_lifted`` (B, K, 3) and
    ``keypoints_lifted_weight`` (B, K) for ``'loss_lift'``, the
    ``DepthLiftedKeypoints`` codec's). ``predict`` -> ``{'keypoints_3d':
    (B, K, 3) mm, root at 0; 'keypoints_3d_normalized'}``. It hands no prior
    on.
    """

    def __init__(self, in_channels: int = 128,
                 map_size: Sequence[int] = (32, 32), num_keypoints: int = 21,
                 prior_channels: int = 21, conv_channels: int = 128,
                 fc_channels: int = 512,
                 decoder: dict = dict(type='NormalizedPose3D'),
                 reference_bone_mm: float = 43.5,
                 depth_regularizer: Optional[dict] = dict(
                     type='DepthRegularizer'),
                 losses: Mapping[str, dict] = dict(
                     pose3d=dict(type='JointL2Loss', loss_weight=1.0),
                     depth=dict(type='DepthL1Loss', loss_weight=1.0),
                     xy=dict(type='ScaleAlignedXYLoss', loss_weight=0.0),
                     lift=dict(type='ScaleShiftAlignedLoss', loss_weight=0.0),
                     unit=dict(type='UnitBoneLoss', loss_weight=0.0))
                 ) -> None:
        super().__init__()
        if not reference_bone_mm > 0:
            raise ValueError(f'Pose3DRegressionHead: reference_bone_mm must '
                             f'be positive, got {reference_bone_mm!r}')
        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.prior_channels = prior_channels
        self.map_size = tuple(int(side) for side in map_size)
        reduced = [-(-side // 4) for side in self.map_size]  # two halvings
        self.convs = nn.Sequential(
            _strided_conv(in_channels + prior_channels, conv_channels),
            _strided_conv(conv_channels, conv_channels))
        output = nn.Linear(fc_channels, num_keypoints * 3)
        # Small outputs at first: every joint starts near the root.
        nn.init.normal_(output.weight, std=0.001)
        nn.init.zeros_(output.bias)
        self.fc = nn.Sequential(
            nn.Linear(conv_channels * reduced[0] * reduced[1], fc_channels),
            nn.ReLU(inplace=True),
            nn.Linear(fc_channels, fc_channels), nn.ReLU(inplace=True),
            output)
        self.decoder = CODECS.build(decoder)
        self.reference_bone_mm = float(reference_bone_mm)
        self.depth_regularizer = (None if depth_regularizer is None else
                                  MODELS.build(depth_regularizer))
        self.loss_module = CombinedLoss(losses, LOSS_NAMES,
                                        'Pose3DRegressionHead')
        if depth_regularizer is not None and 'depth' not in losses:
            raise ValueError("Pose3DRegressionHead: a depth_regularizer "
                             "needs a 'depth' entry in losses")

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> dict:
        self.check_prior(prior)
        self.check_features(feats)
        if tuple(feats.shape[-2:]) != self.map_size[::-1] or tuple(
                prior.shape[-2:]) != self.map_size[::-1]:
            raise ValueError(
                f'Pose3DRegressionHead: features and heatmaps must be '
                f'{self.map_size[1]} x {self.map_size[0]} (map_size), got '
                f'{tuple(feats.shape)} and {tuple(prior.shape)}')
        volume = self.convs(torch.cat([feats, prior], 1))
        joints = self.fc(volume.flatten(1)).view(-1, self.num_keypoints, 3)
        # Root-relative by construction: the root is not a free output that
        # the losses of samples without a 3D label could move.
        return {'joints_3d_normalized': joints - self.decoder.root_of(joints)}

    def loss(self, outputs: dict, batch: dict) -> Dict[str, torch.Tensor]:
        joints = outputs['joints_3d_normalized'].float()
        losses = {}
        if self.loss_module.active('pose3d'):
            target = self.require_target(batch, 'joints_3d', 'the 3D loss')
            weights = self.require_target(batch, 'joints_3d_weight',
                                          'the 3D loss')
            losses['loss_pose3d'] = self.loss_module('pose3d', joints,
                                                     target, weights)
        if (self.depth_regularizer is not None
                and self.loss_module.active('depth')):
            depth_map = self.require_target(batch, 'depth_map',
                                            'the depth regulariser')
            depth_weight = self.require_target(batch, 'depth_weight',
                                               'the depth regulariser')
            generated = self.depth_regularizer(joints).float()
            losses['loss_depth'] = self.loss_module('depth', generated,
                                                    depth_map, depth_weight)
        if self.loss_module.active('xy'):
            offsets = self.require_target(batch, 'keypoints_2d_rel',
                                          'the x-y anchor')
            offset_weights = self.require_target(batch, 'keypoints_2d_weight',
                                                 'the x-y anchor')
            losses['loss_xy'] = self.loss_module('xy', joints, offsets,
                                                 offset_weights)
        if self.loss_module.active('lift'):
            lifted = self.require_target(batch, 'keypoints_lifted',
                                         'the depth anchor')
            lifted_weights = self.require_target(
                batch, 'keypoints_lifted_weight', 'the depth anchor')
            losses['loss_lift'] = self.loss_module('lift', joints,
                                                   lifted.float(),
                                                   lifted_weights)
        if self.loss_module.active('unit'):
            losses['loss_unit'] = self.loss_module(
                'unit', joints, self.decoder.reference_bone)
        return losses

    def predict_tensors(self, outputs: dict) -> Dict[str, torch.Tensor]:
        return {'joints_3d_normalized': outputs['joints_3d_normalized']}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        normalized = np.asarray(tensors['joints_3d_normalized'], np.float32)
        return {'keypoints_3d': self.decoder.decode(
                    normalized, self.reference_bone_mm),
                'keypoints_3d_normalized': normalized}
