"""DeltaMapHead: the delta maps of Zhou et al.'s DetNet (3D detector, 1/2).

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.1:
from the features F and the heatmaps H a 2-layer CNN predicts delta maps
``D_j``, each pixel the 3D direction of the bone parent(j) -> j, supervised
with ``L_delta = ||H^GT (.) (D^GT - D)||_F^2``. The location maps are then
predicted from F, H and D: this head hands on ``cat(H, D)``, so a
``LocationMapHead`` after it receives both (its prior's first K channels
are the heatmaps it reads the joints at).
"""
from typing import Dict, Mapping, Optional

import numpy as np
import torch

from handkit.models.heads.detnet_detector import DetNetDetector
from handkit.registry import MODELS


@MODELS.register_module()
class DeltaMapHead(DetNetDetector):
    """Delta maps D (B, K, 3, h, w) from ``cat(F, H)``.

    Args:
        in_channels: channels of the features F (256).
        num_keypoints: K (21); one delta map per joint (the wrist's target
            is 0: it ends no bone).
        hidden_channels: width of the 3x3 convolution.
        prior_channels: channels of the prior, the heatmaps H (K; the
            estimator fills it in from the head before).
        loss: L_delta config (``MaskedMapL2Loss``).
        loss_weight: weight of ``loss_delta``.
        coord_channels: the two coordinate channels of the official
            DetNet (True; :class:`DetNetDetector`); False: F alone.

    ``forward(feats (B, C, h, w), prior H (B, K, h, w))`` -> ``{'delta_maps':
    (B, K, 3, h, w), 'heatmaps_in': H}``; the prior it hands on is
    ``cat(H, D)`` (B, K + 3K, h, w). ``loss`` -> ``{'loss_delta'}`` from
    ``targets['deltas']`` (B, K, 3) masked by ``targets['heatmaps']``.
    ``predict`` -> ``{'delta_maps': D}`` (a map: kept only with
    ``output_maps``).
    """

    def __init__(self, in_channels: int = 256, num_keypoints: int = 21,
                 hidden_channels: int = 256, prior_channels: int = 21,
                 loss: dict = dict(type='MaskedMapL2Loss'),
                 loss_weight: float = 1.0,
                 coord_channels: bool = True) -> None:
        if prior_channels != num_keypoints:
            raise ValueError(f'DeltaMapHead needs the {num_keypoints} '
                             f'heatmaps of a DetNetHeatmapHead as its prior, '
                             f'got prior_channels={prior_channels}')
        super().__init__(in_channels, num_keypoints, hidden_channels,
                         prior_channels, 3, loss, loss_weight,
                         coord_channels)
        self.out_channels = num_keypoints * 4

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> dict:
        return {'delta_maps': self.detect(feats, prior), 'heatmaps_in': prior}

    def prior_maps(self, outputs: dict) -> torch.Tensor:
        deltas = outputs['delta_maps']
        return torch.cat([outputs['heatmaps_in'], deltas.flatten(1, 2)], 1)

    def loss(self, outputs: dict, batch: dict) -> Dict[str, torch.Tensor]:
        target = self.require_target(batch, 'deltas', 'L_delta')
        mask = self.require_target(batch, 'heatmaps', 'L_delta mask')
        weights = self.require_target(batch, 'keypoint_weights', 'L_delta')
        return {'loss_delta': self.loss_weight * self.loss_module(
            outputs['delta_maps'], target, mask, weights)}

    def predict_tensors(self, outputs: dict) -> Dict[str, torch.Tensor]:
        return {'delta_maps': outputs['delta_maps']}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        return {'delta_maps': np.asarray(tensors['delta_maps'], np.float32)}
