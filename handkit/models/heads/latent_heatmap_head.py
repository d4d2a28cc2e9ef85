"""LatentHeatmapHead: 2D keypoints by the Latent Heatmap Representation.

Bekiri and Babahenini, Section II-A, eq. 1-2.

ResUnet's 2D module reads each joint off its final latent map by a softmax with
a learnable per-joint ``beta_i`` (eq. 1) and the expectation of the pixel grid
under it (eq. 2); the maths is :meth:`IntegralCoordinates.soft_argmax`. The
coordinates are supervised with an L1 loss and the Unet-Blocks' intermediate
heatmaps with the MSE heatmap loss ("2D feature heatmaps from the Unet-blocks,
including pose data from intermediate outputs").

Intermediate targets: the dataset encodes one ``heatmaps`` target (B, K, H, W);
each intermediate map of size (h, w) is supervised with it area-resampled by
the integer factor f = H / h: a box average centred on target pixel ``i * f``
(kernel f, rounded up to odd, stride f), which keeps the convention "map
coordinate = input pixel / stride" exact (a bilinear ``interpolate`` would
shift the peaks by (f - 1) / 2 target pixels).

Structure prior (NSRM Section 5's claim that the structure module is an
add-on to other pose networks): when a head such as ``StructureMaskHead``
runs before this one (``prior_channels > 0``), its prior maps (B, C, h', w')
are resized to the final maps, concatenated to them and a small residual
block (3x3 conv, ReLU, 3x3 conv, its last conv zero-initialised so the
untrained fusion leaves the maps unchanged) adds a correction:
``maps + fuse(cat(maps, prior))``. ResNet34UNet's final layer stays
untouched, so the same backbone serves the head with and without the prior.
"""
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from handkit.codecs.integral_coordinates import IntegralCoordinates
from handkit.models.heads.base_head import BaseHead
from handkit.models.losses.combined import CombinedLoss
from handkit.registry import CODECS, MODELS

# The terms of ``losses``: eq. 2's coordinates, the Unet-Blocks' heatmaps.
LOSS_NAMES = ('coord', 'heatmap')


def resample_heatmaps(heatmaps: torch.Tensor,
                      size: Sequence[int]) -> torch.Tensor:
    """Area-resample (B, K, H, W) maps to ``size`` (h, w).

    Output pixel ``i`` averages a box centred on input pixel ``i * H / h``.
    """
    height, width = heatmaps.shape[-2:]
    if height % size[0] or width % size[1]:
        raise ValueError(f'LatentHeatmapHead: target heatmaps '
                         f'{height}x{width} are not an integer multiple '
                         f'of the intermediate map size {size[0]}x{size[1]}')
    factor_y, factor_x = height // size[0], width // size[1]
    kernel = (factor_y | 1, factor_x | 1)  # odd, so the box is centred
    return F.avg_pool2d(heatmaps, kernel, stride=(factor_y, factor_x),
                        padding=(kernel[0] // 2, kernel[1] // 2),
                        count_include_pad=False)


@MODELS.register_module()
class LatentHeatmapHead(BaseHead):
    """Soft-argmax over the final maps with a learnable beta per joint.

    Args:
        num_keypoints: K (21).
        decoder: the config's one ``IntegralCoordinates`` codec: its
            ``heatmap_size`` is the final maps' (w, h), ``input_size /
            heatmap_size`` their stride (1 for ResNet34UNet).
        beta_init: initial value of every ``beta_i``.
        losses: name -> loss config with its ``loss_weight``
            (:class:`~handkit.models.losses.CombinedLoss`): ``coord``, the
            coordinate loss (eq. 2's output vs. the target, in input
            pixels; ``CoordL1Loss``), and ``heatmap``, the intermediate
            heatmap loss (``HeatmapMSELoss``); each term is
            ``loss_<name>``, and one left out or of weight 0 is off.
        prior_channels: channels of the prior maps of a head in front of
            this one (the estimator fills it in), 0 for none.
        fusion_channels: hidden width of the prior fusion block.

    ``forward(feats, prior=None)``: ``feats`` is the (B, K, h, w) tensor of
    final maps, or a dict with those as ``maps`` and optionally the list
    ``intermediate`` of the Unet-Blocks' heatmaps to supervise (the
    estimator's ``head_features`` picks both from ResNet34UNet's output).
    Returns ``{'coords': (B, K, 2) input px, 'probs': (B, K, h, w),
    'heatmaps': final maps, 'intermediate_heatmaps': [...]}``; the prior it
    hands on is ``heatmaps``.

    ``loss`` -> ``{'loss_coord', 'loss_heatmap'}`` from ``targets``
    ``keypoint_coords`` (B, K, 2) input px, ``coord_weights`` (B, K) and
    ``heatmaps`` (B, K, H, W). ``predict`` -> ``{'keypoints': (B, K, 2) input
    px, 'scores': (B, K)}`` numpy, the score being the peak of ``PM_i``
    (computed in ``predict_tensors``, so an ONNX export outputs (B, K)
    scores, not the (B, K, h, w) probabilities).
    """

    def __init__(self, num_keypoints: int = 21,
                 decoder: dict = dict(type='IntegralCoordinates',
                                      input_size=(128, 128),
                                      heatmap_size=(128, 128)),
                 beta_init: float = 1.0,
                 losses: Mapping[str, dict] = dict(
                     coord=dict(type='CoordL1Loss', loss_weight=1.0),
                     heatmap=dict(type='HeatmapMSELoss', loss_weight=1.0)),
                 prior_channels: int = 0,
                 fusion_channels: int = 32) -> None:
        super().__init__()
        self.num_keypoints = num_keypoints
        self.out_channels = num_keypoints
        self.decoder = CODECS.build(decoder)
        if not isinstance(self.decoder, IntegralCoordinates):
            raise ValueError(f'LatentHeatmapHead: the decoder must be an '
                             f'IntegralCoordinates codec, got '
                             f'{self.decoder!r}')
        self.beta = nn.Parameter(torch.full((num_keypoints, ),
                                            float(beta_init)))
        self.loss_module = CombinedLoss(losses, LOSS_NAMES,
                                        'LatentHeatmapHead')
        self.prior_channels = prior_channels
        self.prior_fusion = None
        if prior_channels > 0:
            self.prior_fusion = nn.Sequential(
                nn.Conv2d(num_keypoints + prior_channels, fusion_channels, 3,
                          padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(fusion_channels, num_keypoints, 3, padding=1))
            nn.init.zeros_(self.prior_fusion[-1].weight)
            nn.init.zeros_(self.prior_fusion[-1].bias)

    def _fuse_prior(self, maps, prior):
        """``maps + fuse(cat(maps, prior resized to the maps))``."""
        self.check_prior(prior)
        if prior is None:
            return maps
        # (B, C, h', w'): e.g. structure-mask logits
        prior = F.interpolate(prior, size=maps.shape[-2:], mode='bilinear',
                              align_corners=False)
        return maps + self.prior_fusion(torch.cat([maps, prior], dim=1))

    def forward(self, feats: Union[torch.Tensor, Dict[str, Any]],
                prior: Optional[torch.Tensor] = None) -> dict:
        if isinstance(feats, dict):
            if 'maps' not in feats:
                raise ValueError(
                    f"LatentHeatmapHead: feats must be the final maps or a "
                    f"dict with 'maps' (and 'intermediate'), got a dict of "
                    f"{sorted(feats)}; select them with the estimator's "
                    f'head_features')
            maps = feats['maps']
            intermediate = list(feats.get('intermediate', []))
        else:
            maps, intermediate = feats, []
        if maps.ndim != 4 or maps.shape[1] != self.num_keypoints:
            raise ValueError(f'LatentHeatmapHead: final maps must be (B, '
                             f'{self.num_keypoints}, h, w), got '
                             f'{tuple(maps.shape)}')
        map_size = (maps.shape[-1], maps.shape[-2])
        if map_size != tuple(self.decoder.heatmap_size):
            raise ValueError(
                f'LatentHeatmapHead: final maps are {map_size} (w, h) but '
                f'the decoder {self.decoder!r} has heatmap_size '
                f'{tuple(self.decoder.heatmap_size.tolist())}')
        maps = self._fuse_prior(maps, prior)
        map_coords, probs = IntegralCoordinates.soft_argmax(maps, self.beta)
        return {
            'coords': self.decoder.decode(map_coords),  # (B, K, 2) input px
            'probs': probs,
            'heatmaps': maps,
            'intermediate_heatmaps': intermediate,
        }

    def prior_maps(self, outputs: dict) -> torch.Tensor:
        return outputs['heatmaps']

    def loss(self, outputs: dict, batch: dict) -> Dict[str, torch.Tensor]:
        coords = self.require_target(batch, 'keypoint_coords',
                                     'coordinate loss')
        weights = self.require_target(batch, 'coord_weights',
                                      'coordinate loss')
        losses = {}
        if self.loss_module.active('coord'):
            losses['loss_coord'] = self.loss_module(
                'coord', outputs['coords'], coords.to(outputs['coords']),
                weights)
        intermediate = outputs['intermediate_heatmaps']
        if self.loss_module.active('heatmap') and intermediate:
            heatmaps = self.require_target(batch, 'heatmaps',
                                           'intermediate heatmap loss')
            # one weighted term: the sum over the Unet-Blocks' maps
            weight = self.loss_module.weights['heatmap']
            heatmap_loss = self.loss_module['heatmap']
            losses['loss_heatmap'] = weight * sum(
                heatmap_loss([maps], resample_heatmaps(heatmaps,
                                                       maps.shape[-2:]),
                             weights) for maps in intermediate)
        return losses

    def predict_tensors(self, outputs: dict) -> Dict[str, torch.Tensor]:
        """``{'coords': (B, K, 2) input px, 'scores': (B, K)}``, the score
        being the peak of ``PM_i``."""
        return {'coords': outputs['coords'],
                'scores': outputs['probs'].flatten(2).amax(dim=-1)}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        """``{'keypoints': (B, K, 2) input px, 'scores': (B, K)}``: the
        soft-argmax (eq. 2) already gave the coordinates."""
        return {'keypoints': tensors['coords'], 'scores': tensors['scores']}
