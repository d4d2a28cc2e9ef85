"""LocationMapHead: the location maps of Zhou et al.'s DetNet (3D, 2/2).

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.1:
from F, H and D a 2-layer CNN predicts location maps ``L_j``, each pixel the
position of joint j relative to the middle MCP in units of the wrist ->
middle-MCP bone, supervised with ``L_loc = ||H^GT (.) (L^GT - L)||_F^2``.
Joint j is read from ``L_j`` at the argmax of the predicted ``H_j``
(:meth:`LocationMap.decode`).

Millimetres: the read-out is scale-free; ``predict`` multiplies it by
``reference_bone_mm``, one fixed wrist -> middle-MCP length (the training
hands' mean), so ``keypoints_3d`` is in mm without any test label.
``Keypoint3DMetric(protocol='zhou_rhd' / 'zhou_stb')`` scores the
papers' protocol: the normalised read-out ``keypoints_3d_normalized``
times the ground truth's wrist -> middle-MCP length, both relative to the
middle MCP (``handkit.evaluation.protocols``; minimal-hand
``wrappers.py:61-64``).
"""
from typing import Dict, Mapping, Optional

import numpy as np
import torch

from handkit.models.heads.detnet_detector import DetNetDetector
from handkit.registry import CODECS, MODELS


@MODELS.register_module()
class LocationMapHead(DetNetDetector):
    """Location maps L (B, K, 3, h, w) from ``cat(F, prior)``.

    Args:
        in_channels: channels of the features F (256).
        num_keypoints: K (21).
        hidden_channels: width of the 3x3 convolution.
        prior_channels: channels of the prior (the estimator fills them in):
            4K after a ``DeltaMapHead`` (H and D), K straight after a
            ``DetNetHeatmapHead`` (H alone); its first K channels must be
            the heatmaps the joints are read at.
        decoder: the config's one ``LocationMap`` codec.
        reference_bone_mm: the wrist -> middle-MCP length (mm) that turns
            the scale-free read-out into mm.
        loss: L_loc config (``MaskedMapL2Loss``).
        loss_weight: weight of ``loss_location``.
        coord_channels: the two coordinate channels of the official
            DetNet (True; :class:`DetNetDetector`); False: F alone.

    ``forward`` -> ``{'location_maps': (B, K, 3, h, w), 'heatmaps_in':
    (B, K, h, w)}``. ``loss`` -> ``{'loss_location'}`` from
    ``targets['locations']`` (B, K, 3) masked by ``targets['heatmaps']``.
    ``predict`` -> ``{'keypoints_3d': (B, K, 3) mm, the middle MCP at 0,
    'keypoints_3d_normalized': (B, K, 3) the read-out, 'location_maps'}``.
    It hands no prior on.
    """

    def __init__(self, in_channels: int = 256, num_keypoints: int = 21,
                 hidden_channels: int = 256, prior_channels: int = 84,
                 decoder: dict = dict(type='LocationMap'),
                 reference_bone_mm: float = 84.5,
                 loss: dict = dict(type='MaskedMapL2Loss'),
                 loss_weight: float = 1.0,
                 coord_channels: bool = True) -> None:
        if prior_channels < num_keypoints:
            raise ValueError(f'LocationMapHead needs a prior whose first '
                             f'{num_keypoints} channels are heatmaps, got '
                             f'prior_channels={prior_channels}')
        if not reference_bone_mm > 0:
            raise ValueError(f'LocationMapHead: reference_bone_mm must be '
                             f'positive, got {reference_bone_mm!r}')
        super().__init__(in_channels, num_keypoints, hidden_channels,
                         prior_channels, 3, loss, loss_weight,
                         coord_channels)
        self.decoder = CODECS.build(decoder)
        self.reference_bone_mm = float(reference_bone_mm)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> dict:
        return {'location_maps': self.detect(feats, prior),
                'heatmaps_in': prior[:, :self.num_keypoints]}

    def loss(self, outputs: dict, batch: dict) -> Dict[str, torch.Tensor]:
        target = self.require_target(batch, 'locations', 'L_loc')
        mask = self.require_target(batch, 'heatmaps', 'L_loc mask')
        weights = self.require_target(batch, 'keypoint_weights', 'L_loc')
        return {'loss_location': self.loss_weight * self.loss_module(
            outputs['location_maps'], target, mask, weights)}

    def predict_tensors(self, outputs: dict) -> Dict[str, torch.Tensor]:
        return {'location_maps': outputs['location_maps'],
                'heatmaps_in': outputs['heatmaps_in']}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        location_maps = np.asarray(tensors['location_maps'], np.float32)
        normalized = self.decoder.decode(
            np.asarray(tensors['heatmaps_in'], np.float32),
            location_maps)  # (B, K, 3)
        return {'keypoints_3d': self.decoder.denormalize(
                    normalized, self.reference_bone_mm),
                'keypoints_3d_normalized': normalized,
                'location_maps': location_maps}
