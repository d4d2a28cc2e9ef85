"""A plain ResNet trunk as a backbone: Boukhayma et al.'s ResNet-34 encoder.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
(Table 1, ResNet-34); the encoder of Boukhayma, Bem and Torr, CVPR 2019
(docs/boukhayma.md).
"""
from typing import Optional, Sequence

import torch
from torch import nn

from handkit.models.backbones.resnet import (BasicBlock,
                                             load_torchvision_weights,
                                             make_res_layer, scaled_width)
from handkit.registry import MODELS

RESNET34_BLOCKS = (3, 4, 6, 3)
RESNET_WIDTHS = (64, 128, 256, 512)


@MODELS.register_module()
class ResNetEncoder(nn.Module):
    """A plain ResNet trunk (stem + 4 stages of ``BasicBlock``): ResNet-34
    by default, torchvision's names (``conv1``, ``bn1``, ``layer1``..), so a
    torchvision ``resnet34`` state dict loads by key.

    handkit's other ResNet-34 (``ResNet34UNet``) carries a U-Net decoder that
    a regression model does not use, so this trunk reuses its blocks
    (:mod:`handkit.models.backbones.resnet`) without it.

    Args:
        in_channels: input channels (3; 3 + 21 for the paper's RGB + heat
            map option).
        stage_blocks: blocks per stage ((3, 4, 6, 3): ResNet-34).
        width_multiplier: scales every width (small CPU models).
        pretrained: a local torchvision ``resnet34`` state dict (never
            downloaded; needs width 1.0 and 3 input channels).

    ``forward(x (B, C, H, W))`` -> (B, 512 w, H / 32, W / 32): layer4.
    """

    def __init__(self, in_channels: int = 3,
                 stage_blocks: Sequence[int] = RESNET34_BLOCKS,
                 width_multiplier: float = 1.0,
                 pretrained: Optional[str] = None) -> None:
        super().__init__()
        if len(stage_blocks) != 4:
            raise ValueError(f'ResNetEncoder: stage_blocks needs 4 entries, '
                             f'got {stage_blocks}')
        widths = [scaled_width(c, width_multiplier) for c in RESNET_WIDTHS]
        self.out_channels = widths[-1]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_width = widths[0]
        for index, (blocks, width) in enumerate(zip(stage_blocks, widths)):
            self.add_module(f'layer{index + 1}', make_res_layer(
                BasicBlock, in_width, width, int(blocks),
                1 if index == 0 else 2))
            in_width = width
        if pretrained is not None:
            keys = [k for k in self.state_dict()]
            load_torchvision_weights(
                self, pretrained, keys, 'resnet34',
                'pretrained weights need width_multiplier=1.0, in_channels=3 '
                'and stage_blocks=(3, 4, 6, 3)')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


