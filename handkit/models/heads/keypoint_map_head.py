"""KeypointMapHead: the multi-stage keypoint confidence map (KCM) head.

CPM (Wei et al.) as used by NSRM for its pose module (NSRM Section 3,
Section 4.2 and Figure 5). Plain CPM is this head alone with 6 stages; NSRM
puts a StructureMaskHead in front of it and gives this head 3 stages whose
inputs include the last structure stage.
"""
from typing import Dict, List, Mapping, Optional

import numpy as np
import torch
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.models.heads.cpm_stages import stage_1x1, stage_7x7
from handkit.registry import CODECS, MODELS


@MODELS.register_module()
class KeypointMapHead(BaseHead):
    """Cascade of CPM stages predicting one confidence map per keypoint.

    Stage wiring (Section 4.2, Figure 5), with ``prior`` the (B, C, h, w)
    maps of the previous head of the cascade (NSRM: the last structure
    stage) and ``feats`` the backbone features:

    * stage 1: a 1x1 stage on ``feats`` when this head opens the cascade
      (``prior_channels == 0``, plain CPM), else a 7x7 stage on
      ``cat(feats, prior)``;
    * stage t > 1: a 7x7 stage on ``cat(feats, [prior,] output t-1)``.

    The prior it hands on is its last stage (B, K, h, w).

    Args:
        in_channels: channels of ``feats`` (128 for VGG19CPM).
        num_keypoints: K, maps per stage.
        num_stages: stages of this head (6 for CPM, 3 in NSRM).
        prior_channels: channels of the prior; 0 when this head is the
            first of the cascade.
        stage_channels: hidden width of the 7x7 stages (128 in the paper);
            the 1x1 first stage uses 4x this (512 in the paper).
        norm_cfg: normalisation after each hidden convolution of the
            stages (e.g. ``dict(type='BN')``) for training from scratch;
            None in the paper.
        loss: config of the heatmap loss (eq. 7).
        loss_weight: multiplies the loss; a plain float a hook may change.
        decoder: config of the codec whose ``decode`` turns the last stage's
            maps into keypoints in input pixels.
    """

    def __init__(self, in_channels: int = 128, num_keypoints: int = 21,
                 num_stages: int = 6, prior_channels: int = 0,
                 stage_channels: int = 128, norm_cfg: Optional[dict] = None,
                 loss: dict = dict(type='HeatmapMSELoss'),
                 loss_weight: float = 1.0,
                 decoder: dict = dict(type='KeypointConfidenceMap',
                                      input_size=(368, 368),
                                      heatmap_size=(46, 46), sigma=1.0)
                 ) -> None:
        super().__init__()
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        self.in_channels = in_channels
        self.out_channels = num_keypoints
        self.prior_channels = prior_channels
        self.loss_weight = float(loss_weight)
        context = in_channels + prior_channels
        if prior_channels == 0:
            first = stage_1x1(in_channels, num_keypoints,
                              mid=4 * stage_channels, norm_cfg=norm_cfg)
        else:
            first = stage_7x7(context, num_keypoints, mid=stage_channels,
                              norm_cfg=norm_cfg)
        self.stages = nn.ModuleList(
            [first] + [stage_7x7(context + num_keypoints, num_keypoints,
                                 mid=stage_channels, norm_cfg=norm_cfg)
                       for _ in range(num_stages - 1)])
        self.loss_module = MODELS.build(loss)
        self.decoder = CODECS.build(decoder)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        """(B, in, h, w) features [+ prior] -> list of (B, K, h, w) maps."""
        self.check_prior(prior)
        context = [feats] if prior is None else [feats, prior]
        outputs = [self.stages[0](torch.cat(context, dim=1))]
        for stage in self.stages[1:]:
            outputs.append(stage(torch.cat(context + [outputs[-1]], dim=1)))
        return outputs

    def loss(self, outputs: List[torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        """``{'loss_kcm': loss_weight * eq. 7}`` over all stages."""
        heatmaps = self.require_target(batch, 'heatmaps')
        weights = self.require_target(batch, 'keypoint_weights')
        return {'loss_kcm': self.loss_weight *
                self.loss_module(outputs, heatmaps, weights)}

    def predict_tensors(self, outputs: List[torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        """``{'heatmaps': the last stage (B, K, h, w)}``."""
        return {'heatmaps': outputs[-1]}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        """Decode the last stage's maps (batched) with the codec.

        Returns:
            dict: ``keypoints`` float32 (B, K, 2) in input pixels, ``scores``
            (B, K) and ``heatmaps`` the (B, K, h, w) maps.
        """
        heatmaps = tensors['heatmaps']
        keypoints, scores = self.decoder.decode(heatmaps)
        return {'keypoints': keypoints.astype(np.float32), 'scores': scores,
                'heatmaps': heatmaps}
