"""BoneTreeHead: ResUnet's 3D branch, regressing the 20 bones of the hand.

Bekiri and Babahenini, Section II-A.

"Our network backbone structure comprises two convolutional layers. Following
each convolutional layer with a ReLU ... produces 3D feature maps. Every two
convolutional layers are preceded by a max-pooling layer. Then, we concatenate
the process 3D features with intermediate features. We flatten by employing two
fully connected layers. The model outputs a tensor of size (20, 3)" (bones,
eq. 3); joints are "the local coordinates of all bones along the path summed
together", i.e. ``BONE_ANCESTORS @ bones``; the loss is eq. 4.

What it consumes (``feats``, a dict that the estimator's ``head_features``
selects from the backbone's outputs, and the cascade's prior):

* ``feats['maps']``, ResNet34UNet's last Unet-Block (B, C, 64, 64),
  concatenated with the prior (the LatentHeatmapHead's final latent maps,
  B, K, 128, 128) max-pooled to the same size (left out when the head opens
  the cascade, ``prior_channels=0``);
* ``len(conv_channels)`` blocks of [2x2 max-pool, 3x3 conv, ReLU, 3x3 conv,
  ReLU]: 64 -> 32 -> 16 -> 8 -> 4 with the default four blocks;
* the result is concatenated with ``feats['encoder']``, the deepest encoder
  feature (B, 512, 4, 4) (the "intermediate features"), flattened, and two
  FC layers (ReLU between) give (B, 20, 3).
"""
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from handkit.codecs.bone_tree import bones_to_joints
from handkit.models.heads.base_head import BaseHead
from handkit.registry import MODELS
from handkit.skeleton import NUM_LIMBS


def _max_pool_to(maps: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Adaptive max pooling of (B, C, H, W) ``maps`` to ``size`` (h, w).

    For H, W multiples of h, w this is ``max_pool2d`` with kernel = stride =
    the ratio (the same values), which ONNX exports whatever is known of
    the shapes; other sizes take ``adaptive_max_pool2d``.
    """
    (height, width), (out_h, out_w) = maps.shape[-2:], size
    if height % out_h or width % out_w:
        return F.adaptive_max_pool2d(maps, (int(out_h), int(out_w)))
    factor = (int(height // out_h), int(width // out_w))
    return F.max_pool2d(maps, factor, stride=factor)


@MODELS.register_module()
class BoneTreeHead(BaseHead):
    """Bones (B, 20, 3) and root-relative joints (B, 21, 3) from ResUnet.

    Args:
        in_channels: channels of ``feats['maps']`` (64).
        feature_channels: channels of ``feats['encoder']`` (512).
        num_bones: must be 20 (the bones of ``handkit.skeleton``).
        hidden: widths of the hidden FC layers (one entry: two FC layers).
        prior_channels: channels of the prior maps (K = 21 after a
            LatentHeatmapHead; the estimator fills it in), 0 for no prior.
        conv_channels: output channels of each pool-conv-conv block.
        feature_size: (h, w) of ``feats['encoder']`` (4, 4 for 128 x 128
            inputs); the pooled 3D features must come out at this size.
        loss: bone loss config (eq. 4) against ``targets['bones']`` (B, 20, 3),
            weighted by ``targets['bone_weights']`` (B, 20) when present.
        loss_weight: weight of ``loss_bones``.

    ``forward`` -> ``{'bones': (B, 20, 3), 'keypoints_3d': (B, 21, 3)}`` in the
    targets' units (mm), root (wrist) relative. ``predict`` -> the same, as
    numpy. It hands no prior on (``out_channels`` 0).
    """

    def __init__(self, in_channels: int = 64, feature_channels: int = 512,
                 num_bones: int = 20, hidden: Sequence[int] = (256, ),
                 prior_channels: int = 0,
                 conv_channels: Sequence[int] = (64, 128, 128, 128),
                 feature_size: Sequence[int] = (4, 4),
                 loss: dict = dict(type='BoneL2Loss'),
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_bones != NUM_LIMBS:
            raise ValueError(f'BoneTreeHead: num_bones must be {NUM_LIMBS} '
                             f'(the bones of handkit.skeleton), got '
                             f'{num_bones}')
        self.num_bones = num_bones
        self.prior_channels = prior_channels
        self.feature_size = tuple(feature_size)
        blocks, width = [], in_channels + prior_channels
        for out in conv_channels:
            blocks += [nn.MaxPool2d(2),
                       nn.Conv2d(width, out, 3, padding=1), nn.ReLU(True),
                       nn.Conv2d(out, out, 3, padding=1), nn.ReLU(True)]
            width = out
        self.convs = nn.Sequential(*blocks)
        fc_widths = ([(width + feature_channels) * int(np.prod(feature_size))]
                     + list(hidden))
        layers = []
        for fc_in, fc_out in zip(fc_widths[:-1], fc_widths[1:]):
            layers += [nn.Linear(fc_in, fc_out), nn.ReLU(True)]
        layers.append(nn.Linear(fc_widths[-1], num_bones * 3))
        self.fc = nn.Sequential(*layers)
        self.loss_module = MODELS.build(loss)
        self.loss_weight = float(loss_weight)

    def forward(self, feats: Dict[str, torch.Tensor],
                prior: Optional[torch.Tensor] = None) -> dict:
        self.check_prior(prior)
        if not isinstance(feats, dict) or not {'maps', 'encoder'} <= set(
                feats):
            found = sorted(feats) if isinstance(feats, dict) else type(
                feats).__name__
            raise ValueError(
                f"BoneTreeHead needs feats 'maps' and 'encoder', got {found};"
                " select them with the estimator's head_features, e.g. "
                "bones=dict(maps=('decoder_features', -1), "
                "encoder=('features', -1))")
        maps = feats['maps']  # (B, C, 64, 64)
        if prior is not None:
            heatmaps = _max_pool_to(prior, maps.shape[-2:])
            maps = torch.cat([maps, heatmaps], dim=1)  # (B, C + K, 64, 64)
        maps = self.convs(maps)  # (B, conv_channels[-1], 4, 4)
        encoder = feats['encoder']  # (B, 512, 4, 4)
        for name, tensor in (('3D features', maps), ("feats['encoder']",
                                                     encoder)):
            if tuple(tensor.shape[-2:]) != self.feature_size:
                raise ValueError(
                    f'BoneTreeHead: {name} are {tuple(tensor.shape[-2:])}, '
                    f'feature_size is {self.feature_size}; adjust '
                    f'feature_size or conv_channels to the input size')
        flat = torch.cat([maps, encoder], dim=1).flatten(1)
        bones = self.fc(flat).view(-1, self.num_bones, 3)  # (B, 20, 3)
        return {'bones': bones, 'keypoints_3d': bones_to_joints(bones)}

    def loss(self, outputs: dict, batch: dict) -> Dict[str, torch.Tensor]:
        target = self.require_target(batch, 'bones', '(B, 20, 3)')
        bones = outputs['bones']
        weights = batch['targets'].get('bone_weights')
        return {'loss_bones': self.loss_weight * self.loss_module(
            bones, target.to(bones),
            None if weights is None else weights.to(bones))}

    def predict_tensors(self, outputs: dict) -> Dict[str, torch.Tensor]:
        """``bones`` (B, 20, 3) and ``keypoints_3d`` (B, 21, 3)."""
        return {name: outputs[name] for name in ('bones', 'keypoints_3d')}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        """The bones and joints as they are (the tree sum is in the
        network, ``bones_to_joints``)."""
        return {name: tensors[name] for name in ('bones', 'keypoints_3d')}
