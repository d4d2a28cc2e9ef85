"""LatentHeatmapHead: 2D keypoints by the Latent Heatmap Representation.

Paper 004, Section II-A, eq. 1-2.

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
runs before this one (``prior_channels > 0``), the last stage of its outputs
``prior[-1]`` (B, C, h', w') is resized to the final maps, concatenated to
them and a small residual block (3x3 conv, ReLU, 3x3 conv, its last conv
zero-initialised so the untrained fusion leaves the maps unchanged) adds a
correction: ``maps + fuse(cat(maps, prior[-1]))``. ResNet34UNet's final layer
stays untouched, so the same backbone serves the head with and without the
prior.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# Import the losses so that MODELS.build finds them (registration on import).
import handkit.models.losses.coord_l1  # noqa: F401
import handkit.models.losses.heatmap_mse  # noqa: F401
from handkit.codecs.integral_coordinates import IntegralCoordinates
from handkit.registry import MODELS


def _target(batch, name, why):
    targets = batch.get('targets', {}) if isinstance(batch, dict) else {}
    if name not in targets:
        raise ValueError(f"LatentHeatmapHead.loss needs batch['targets']"
                         f"['{name}'] ({why}); targets hold {sorted(targets)}")
    return targets[name]


def resample_heatmaps(heatmaps, size):
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
class LatentHeatmapHead(nn.Module):
    """Soft-argmax over the final maps with a learnable beta per joint.

    Args:
        num_keypoints: K (21).
        input_size: (w, h) of the network input; the stride of the final maps
            is ``input_size / map size`` (1 for ResNet34UNet).
        beta_init: initial value of every ``beta_i``.
        loss: coordinate loss config (eq. 2's output vs. the target, in input
            pixels).
        loss_weight: weight of ``loss_coord`` (a plain attribute).
        heatmap_loss: intermediate heatmap loss config, or None for none.
        heatmap_loss_weight: weight of ``loss_heatmap``.
        prior_channels: channels of ``prior[-1]`` of a head in front of this
            one (the estimator fills it in), 0 for none.
        fusion_channels: hidden width of the prior fusion block.

    ``forward(feats, prior=None)``: ``feats`` is ResNet34UNet's dict (its
    ``heatmaps`` and ``intermediate_heatmaps`` are used) or a plain
    (B, K, h, w) tensor of final maps (no intermediate supervision then).
    Returns ``{'coords': (B, K, 2) input px, 'probs': (B, K, h, w),
    'heatmaps': final maps, 'intermediate_heatmaps': [...]}``.

    ``loss`` -> ``{'loss_coord', 'loss_heatmap'}`` from ``targets``
    ``keypoint_coords`` (B, K, 2) input px, ``coord_weights`` (B, K) and
    ``heatmaps`` (B, K, H, W). ``predict`` -> ``{'keypoints': (B, K, 2) input
    px, 'scores': (B, K)}`` numpy, the score being the peak of ``PM_i``.
    """

    def __init__(self, num_keypoints=21, input_size=(128, 128), beta_init=1.0,
                 loss=dict(type='CoordL1Loss'), loss_weight=1.0,
                 heatmap_loss=dict(type='HeatmapMSELoss'),
                 heatmap_loss_weight=1.0, prior_channels=0,
                 fusion_channels=32):
        super().__init__()
        self.num_keypoints = num_keypoints
        self.out_channels = num_keypoints
        self.input_size = tuple(input_size)
        self.beta = nn.Parameter(torch.full((num_keypoints, ),
                                            float(beta_init)))
        self.loss_module = MODELS.build(loss)
        self.loss_weight = float(loss_weight)
        self.heatmap_loss_module = (MODELS.build(heatmap_loss)
                                    if heatmap_loss is not None else None)
        self.heatmap_loss_weight = float(heatmap_loss_weight)
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
        """``maps + fuse(cat(maps, prior[-1] resized to the maps))``."""
        if (prior is None) != (self.prior_fusion is None):
            raise ValueError(
                f'LatentHeatmapHead built with prior_channels='
                f'{self.prior_channels} got '
                f"{'no prior' if prior is None else 'a prior'}")
        if prior is None:
            return maps
        last = prior[-1]  # (B, C, h', w'): e.g. structure-mask logits
        if last.shape[1] != self.prior_channels:
            raise ValueError(f'LatentHeatmapHead: prior[-1] has '
                             f'{last.shape[1]} channels, prior_channels is '
                             f'{self.prior_channels}')
        last = F.interpolate(last, size=maps.shape[-2:], mode='bilinear',
                             align_corners=False)
        return maps + self.prior_fusion(torch.cat([maps, last], dim=1))

    def forward(self, feats, prior=None):
        if isinstance(feats, dict):
            if 'heatmaps' not in feats:
                raise ValueError(f"LatentHeatmapHead: backbone output has no "
                                 f"'heatmaps'; it holds {sorted(feats)}")
            maps = feats['heatmaps']
            intermediate = list(feats.get('intermediate_heatmaps', []))
        else:
            maps, intermediate = feats, []
        if maps.ndim != 4 or maps.shape[1] != self.num_keypoints:
            raise ValueError(f'LatentHeatmapHead: final maps must be (B, '
                             f'{self.num_keypoints}, h, w), got '
                             f'{tuple(maps.shape)}')
        maps = self._fuse_prior(maps, prior)
        map_coords, probs = IntegralCoordinates.soft_argmax(maps, self.beta)
        codec = IntegralCoordinates(self.input_size,
                                    (maps.shape[-1], maps.shape[-2]))
        return {
            'coords': codec.decode(map_coords),  # (B, K, 2) input px
            'probs': probs,
            'heatmaps': maps,
            'intermediate_heatmaps': intermediate,
        }

    def loss(self, outputs, batch):
        coords = _target(batch, 'keypoint_coords', 'coordinate loss')
        weights = _target(batch, 'coord_weights', 'coordinate loss')
        losses = {'loss_coord': self.loss_weight * self.loss_module(
            outputs['coords'], coords.to(outputs['coords']), weights)}
        intermediate = outputs['intermediate_heatmaps']
        if self.heatmap_loss_module is not None and intermediate:
            heatmaps = _target(batch, 'heatmaps', 'intermediate heatmap loss')
            losses['loss_heatmap'] = self.heatmap_loss_weight * sum(
                self.heatmap_loss_module(
                    [maps], resample_heatmaps(heatmaps, maps.shape[-2:]),
                    weights) for maps in intermediate)
        return losses

    def predict(self, outputs, batch=None):
        scores = outputs['probs'].detach().flatten(2).amax(dim=-1)
        return {
            'keypoints': outputs['coords'].detach().float().cpu().numpy(),
            'scores': scores.float().cpu().numpy(),
        }
