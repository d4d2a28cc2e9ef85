"""DetNetHeatmapHead: the 2D detector of Zhou et al.'s DetNet.

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.1:
a 2-layer CNN on the feature volume F (32 x 32 x 256) gives one heatmap
``H_j`` per joint, supervised with ``L_heat = ||H^GT - H||_F^2``. It opens
DetNet's cascade (heatmaps -> delta maps -> location maps, the
``DeltaMapHead`` and ``LocationMapHead``); the prior it hands on is H.

The output layer is linear (the paper names no activation; the released
model ends in a sigmoid): an untrained head then outputs about 0, the value
of most target pixels.
"""
from typing import Dict, Mapping, Optional

import numpy as np
import torch

from handkit.models.heads.detnet_detector import DetNetDetector
from handkit.registry import CODECS, MODELS


@MODELS.register_module()
class DetNetHeatmapHead(DetNetDetector):
    """Heatmaps H (B, K, h, w) from the feature volume (B, C, h, w).

    Args:
        in_channels: channels of the features (256 for ``DilatedResNet``).
        num_keypoints: K (21).
        hidden_channels: width of the 3x3 convolution.
        decoder: the config's one ``LocationMap`` codec; it decodes H to
            2D joints (input pixels) with its heatmap settings.
        loss: L_heat config (``MaskedMapL2Loss``).
        loss_weight: weight of ``loss_heatmap`` (a plain attribute).
        coord_channels: the two coordinate channels of the official
            DetNet (True; :class:`DetNetDetector`); False: F alone.

    ``forward(feats, prior=None)`` -> ``{'heatmaps': (B, K, h, w)}``;
    ``loss`` -> ``{'loss_heatmap'}`` from ``targets['heatmaps']`` and
    ``targets['keypoint_weights']``; ``predict`` -> ``{'keypoints': (B, K,
    2) input px, 'scores': (B, K), 'heatmaps': maps}``.
    """

    def __init__(self, in_channels: int = 256, num_keypoints: int = 21,
                 hidden_channels: int = 256,
                 decoder: dict = dict(type='LocationMap'),
                 loss: dict = dict(type='MaskedMapL2Loss'),
                 loss_weight: float = 1.0, prior_channels: int = 0,
                 coord_channels: bool = True) -> None:
        super().__init__(in_channels, num_keypoints, hidden_channels,
                         prior_channels, 1, loss, loss_weight,
                         coord_channels)
        self.out_channels = num_keypoints
        self.decoder = CODECS.build(decoder)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> dict:
        return {'heatmaps': self.detect(feats, prior)}  # (B, K, h, w)

    def prior_maps(self, outputs: dict) -> torch.Tensor:
        return outputs['heatmaps']

    def loss(self, outputs: dict, batch: dict) -> Dict[str, torch.Tensor]:
        target = self.require_target(batch, 'heatmaps', 'L_heat')
        weights = self.require_target(batch, 'keypoint_weights', 'L_heat')
        return {'loss_heatmap': self.loss_weight * self.loss_module(
            outputs['heatmaps'], target, weights=weights)}

    def predict_tensors(self, outputs: dict) -> Dict[str, torch.Tensor]:
        return {'heatmaps': outputs['heatmaps']}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        heatmaps = np.asarray(tensors['heatmaps'], np.float32)
        keypoints, scores = self.decoder.decode_keypoints(heatmaps)
        return {'keypoints': keypoints, 'scores': scores,
                'heatmaps': heatmaps}
