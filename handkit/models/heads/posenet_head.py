"""PoseNetHead: the score-map stages of Zimmermann & Brox's PoseNet.

Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from Single RGB
Images", ICCV 2017, Section 4.2: on the encoding of the hand crop
(``ZimmermannVGG(arch='posenet')``, 32 x 32 x 128 for a 256 x 256 crop) a
first stage predicts 21 score maps, then recurrent stages, as in Wei et
al.'s convolutional pose machines, refine them from the concatenation of
the previous maps and the encoding. Layers and loss from the public code
(lmb-freiburg/hand3d):

* first stage: 1x1 convolution to 512 channels, ReLU, 1x1 to 21 maps;
* two recurrent stages, each five 7x7 convolutions of 128 channels, a 1x1
  convolution of 128 and a 1x1 to 21 maps, ReLU after all but the last
  (``ColorHandPose3DNetwork.inference_pose2d``);
* the loss (``training_posenet.py``): the RMS of every stage's maps,
  upsampled to the crop (256 x 256), against the target, weighted by the
  keypoints' visibility (``ScoreMapRMSLoss``, the default ``loss``).

The read-out is the argmax of the last stage's maps (their
``detect_keypoints``), through the ``GaussianScoreMap`` codec.
"""
from typing import Dict, List, Mapping, Optional

import numpy as np
import torch
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.models.layers import conv_norm_relu
from handkit.models.weight_init import init_relu_convs
from handkit.registry import CODECS, MODELS


def _stage(in_channels: int, stage_channels: int, num_layers: int,
           kernel_size: int, num_keypoints: int,
           norm_cfg: Optional[dict],
           negative_slope: float = 0.0) -> nn.Sequential:
    """``num_layers`` k x k conv-ReLUs, a 1x1 conv-ReLU, a 1x1 to the maps.
    """
    layers, channels = [], in_channels
    for _ in range(num_layers):
        layers += conv_norm_relu(channels, stage_channels, kernel_size,
                                 norm_cfg, negative_slope)
        channels = stage_channels
    layers += conv_norm_relu(channels, stage_channels, 1, norm_cfg,
                             negative_slope)
    layers.append(nn.Conv2d(stage_channels, num_keypoints, 1))
    return init_relu_convs(nn.Sequential(*layers), small_output=True)


@MODELS.register_module()
class PoseNetHead(BaseHead):
    """Score maps (B, K, h, w) of a first stage and recurrent stages.

    Args:
        in_channels: channels of the encoding (128).
        num_keypoints: K (21).
        hidden_channels: width of the first stage's 1x1 convolution (512).
        stage_channels: width of the recurrent stages (128).
        num_stages: recurrent stages after the first (2).
        stage_layers: k x k convolutions per recurrent stage (5).
        kernel_size: k (7).
        decoder: the config's one ``GaussianScoreMap``.
        norm_cfg: None (the paper) or a norm after every hidden convolution,
            e.g. ``dict(type='BN')``, for training from scratch.
        negative_slope: of the leaky ReLU after each hidden convolution:
            0.01, their ``conv_relu`` (lmb-freiburg/hand3d ``utils/
            general.py:28-33``); 0: handkit's former plain ReLU.
        loss: the score-map loss (``ScoreMapRMSLoss``, theirs).
        loss_weight: weight of ``loss_scoremap``.

    ``forward`` -> list of ``num_stages + 1`` maps (B, K, h, w); the last is
    the prior of the next head. ``loss`` -> ``{'loss_scoremap'}`` from
    ``targets['scoremaps']`` (B, K, H, W) at the input size and
    ``targets['keypoint_weights']`` (B, K). ``predict`` -> ``keypoints``
    (B, K, 2) input px, ``scores`` (B, K), ``heatmaps`` (the last maps).
    """

    def __init__(self, in_channels: int = 128, num_keypoints: int = 21,
                 hidden_channels: int = 512, stage_channels: int = 128,
                 num_stages: int = 2, stage_layers: int = 5,
                 kernel_size: int = 7,
                 decoder: dict = dict(type='GaussianScoreMap'),
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.01,
                 loss: dict = dict(type='ScoreMapRMSLoss'),
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = num_keypoints
        self.first_stage = _stage(in_channels, hidden_channels, 0, 1,
                                  num_keypoints, norm_cfg, negative_slope)
        self.stages = nn.ModuleList(
            _stage(in_channels + num_keypoints, stage_channels, stage_layers,
                   kernel_size, num_keypoints, norm_cfg, negative_slope)
            for _ in range(num_stages))
        self.decoder = CODECS.build(decoder)
        self.loss_module = MODELS.build(loss)
        self.loss_weight = float(loss_weight)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        self.check_prior(prior)
        self.check_features(feats)
        maps = [self.first_stage(feats)]
        for stage in self.stages:
            maps.append(stage(torch.cat([maps[-1], feats], 1)))
        return maps

    def loss(self, outputs: List[torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        target = self.require_target(batch, 'scoremaps',
                                     'the GaussianScoreMap codec')
        weights = self.require_target(batch, 'keypoint_weights',
                                      'the visibility weights')
        return {'loss_scoremap': self.loss_weight * self.loss_module(
            outputs, target, weights)}

    def predict_tensors(self, outputs: List[torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        return {'heatmaps': outputs[-1]}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        heatmaps = np.asarray(tensors['heatmaps'], np.float32)
        keypoints, scores = self.decoder.decode(heatmaps)
        return {'keypoints': keypoints, 'scores': scores,
                'heatmaps': heatmaps}
