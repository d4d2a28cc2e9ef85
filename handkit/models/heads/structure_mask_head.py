"""StructureMaskHead: NSRM's structure module predicting composite limb masks.

NSRM Sections 3.1-3.3 and Figure 5: a cascade of CPM stages that learns the
G1 (whole hand), G6 (five fingers and the palm) or G1&6 limb-mask
compositions (eq. 4) of LDM / LPM masks, supervised by the cross-entropy of
eq. 5 and weighted by the lambdas of eq. 8.
"""
from typing import Dict, List, Mapping, Optional

import numpy as np
import torch
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.models.heads.cpm_stages import stage_1x1, stage_7x7
from handkit.registry import MODELS
from handkit.skeleton import LIMB_GROUPS

# The mask targets a structure module learns, each with its per-channel
# weights: LimbMask's LDM / LPM compositions (NSRM Section 3.2) and
# HandMask's real hand mask (NSRM Table 2's "Real Mask" baseline).
MASK_TARGETS = {'limb_masks': 'limb_mask_weights',
                'hand_masks': 'hand_mask_weights'}

@MODELS.register_module()
class StructureMaskHead(BaseHead):
    """Cascade of CPM stages predicting C limb-group mask logits.

    C = 1 for 'G1', 6 for 'G6', 7 for 'G1G6' (channel order of
    ``handkit.skeleton.LIMB_GROUPS``: G1 first, then thumb .. little, palm).
    Stage 1 is a 1x1 stage on ``feats`` when this head opens the cascade
    (``prior_channels == 0``, NSRM Figure 5), else a 7x7 stage on
    ``cat(feats, prior)``; stage t > 1 is a 7x7 stage on
    ``cat(feats, output t-1)``. Outputs are raw logits; ``predict`` applies
    the sigmoid. The prior it hands on is its last stage's logits
    (B, C, h, w).

    Args:
        in_channels: channels of ``feats`` (128 for VGG19CPM).
        groups: 'G1', 'G6' or 'G1G6'.
        num_stages: stages of this head (3 in NSRM).
        prior_channels: channels of the prior; 0 when first of the cascade.
        stage_channels: hidden width of the 7x7 stages (128 in the paper);
            the 1x1 first stage uses 4x this (512 in the paper).
        norm_cfg: normalisation after each hidden convolution of the
            stages (e.g. ``dict(type='BN')``) for training from scratch;
            None in the paper.
        loss: config of the mask loss (eq. 5).
        loss_weight: lambda_1 of eq. 8, on the G1 channel (or on all six
            channels for 'G6'); a plain float a hook may change.
        loss_weight_g6: lambda_2 of eq. 8, on the six G6 channels of 'G1G6'.
        mask_target: the target it learns, 'limb_masks' (``LimbMask``) or
            'hand_masks' (``HandMask``, with 'G1'), with its weights
            (``MASK_TARGETS``).
    """

    def __init__(self, in_channels: int = 128, groups: str = 'G1',
                 num_stages: int = 3, prior_channels: int = 0,
                 stage_channels: int = 128, norm_cfg: Optional[dict] = None,
                 loss: dict = dict(type='MaskCrossEntropyLoss'),
                 loss_weight: float = 1.0, loss_weight_g6: float = 0.0,
                 mask_target: str = 'limb_masks') -> None:
        super().__init__()
        if mask_target not in MASK_TARGETS:
            raise ValueError(f'StructureMaskHead: mask_target must be one of '
                             f'{list(MASK_TARGETS)}, got {mask_target!r}')
        if groups not in LIMB_GROUPS:
            raise ValueError(f'unknown limb groups {groups!r}; expected one '
                             f'of {sorted(LIMB_GROUPS)}')
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        self.groups = groups
        self.mask_target = mask_target
        self.in_channels = in_channels
        self.out_channels = len(LIMB_GROUPS[groups])
        self.prior_channels = prior_channels
        self.loss_weight = float(loss_weight)
        self.loss_weight_g6 = float(loss_weight_g6)
        channels = self.out_channels
        if prior_channels == 0:
            first = stage_1x1(in_channels, channels, mid=4 * stage_channels,
                              norm_cfg=norm_cfg)
        else:
            first = stage_7x7(in_channels + prior_channels, channels,
                              mid=stage_channels, norm_cfg=norm_cfg)
        self.stages = nn.ModuleList(
            [first] + [stage_7x7(in_channels + channels, channels,
                                 mid=stage_channels, norm_cfg=norm_cfg)
                       for _ in range(num_stages - 1)])
        self.loss_module = MODELS.build(loss)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        """(B, in, h, w) features [+ prior] -> list of (B, C, h, w) logits."""
        self.check_prior(prior)
        first_input = feats if prior is None else torch.cat([feats, prior],
                                                            dim=1)
        outputs = [self.stages[0](first_input)]
        for stage in self.stages[1:]:
            outputs.append(stage(torch.cat([feats, outputs[-1]], dim=1)))
        return outputs

    def loss(self, outputs: List[torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        """Weighted eq. 5 per composition (eq. 8).

        Returns ``loss_structure_g1`` for 'G1', ``loss_structure_g6`` for
        'G6', both for 'G1G6', from ``batch['targets'][mask_target]``. Its
        weights (B, C) (``limb_mask_weights``), when present, leave out the
        group channels of limbs that have no mask (an invisible end point).
        """
        masks = self.require_target(batch, self.mask_target)
        weights = batch['targets'].get(MASK_TARGETS[self.mask_target])
        if masks.shape[1] != self.out_channels:
            raise ValueError(
                f"batch['targets']['{self.mask_target}'] has "
                f'{masks.shape[1]} channels, StructureMaskHead('
                f'{self.groups!r}) predicts {self.out_channels}')
        if self.groups == 'G6':
            return {'loss_structure_g6': self.loss_weight *
                    self.loss_module(outputs, masks, weights)}
        losses = {'loss_structure_g1': self.loss_weight * self.loss_module(
            [logits[:, :1] for logits in outputs], masks[:, :1],
            None if weights is None else weights[:, :1])}
        if self.groups == 'G1G6':
            losses['loss_structure_g6'] = self.loss_weight_g6 * \
                self.loss_module([logits[:, 1:] for logits in outputs],
                                 masks[:, 1:],
                                 None if weights is None else weights[:, 1:])
        return losses

    def predict_tensors(self, outputs: List[torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        """``{'structure_maps': sigmoid(last stage)}``, (B, C, h, w)."""
        return {'structure_maps': torch.sigmoid(outputs[-1])}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        """The structure maps as they are (there is nothing to decode)."""
        return {'structure_maps': tensors['structure_maps']}
