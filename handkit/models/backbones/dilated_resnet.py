"""DilatedResNet: the feature extractor of Zhou et al.'s DetNet.

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.1:
DetNet's feature extractor is a ResNet-50 that takes the 128 x 128 hand crop
and gives a 32 x 32 x 256 feature volume F, on which the 2D and 3D
detectors run.

Layout (torchvision's names, so a torchvision ``resnet50`` state dict loads
into ``conv1`` .. ``layer3`` by key): the stem (7x7 stride-2 conv, 3x3
stride-2 max-pool: stride 4), then ResNet-50's first three stages of
bottlenecks (3, 4 and 6 blocks, 256 / 512 / 1024 channels) whose later
stages are **dilated instead of strided** (dilation 2 and 4), so the
resolution stays at stride 4: 32 x 32 for a 128 x 128 crop. A 3x3
convolution (+ BN + ReLU) then squeezes the 1,024 channels to 256. ResNet-50's
fourth stage and classifier are not used. (Where the released model puts the
stride 2 at the end of the first stage instead of in a max-pool, handkit
keeps torchvision's layout so that ImageNet weights load.)

``stage_blocks`` and ``width_multiplier`` shrink the trunk for training from
scratch on a CPU (``configs/zhou/detnet_synthetic.py``); pretrained weights
need the defaults.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from handkit.models.backbones.resnet import (Bottleneck,
                                             load_torchvision_weights,
                                             make_res_layer, scaled_width)
from handkit.registry import MODELS

RESNET50_BLOCKS = (3, 4, 6)
RESNET50_WIDTHS = (256, 512, 1024)
STEM_WIDTH = 64


@MODELS.register_module()
class DilatedResNet(nn.Module):
    """ResNet-50 stages 1-3, dilated to stride 4, and a 256-channel squeeze.

    Args:
        in_channels: input channels (3 for RGB crops).
        stage_blocks: bottlenecks in each of the three stages ((3, 4, 6):
            ResNet-50's).
        dilations: dilation of each stage's 3x3 convolutions ((1, 2, 4):
            stages 2 and 3 dilated instead of strided).
        out_channels: channels of the feature volume F (256).
        width_multiplier: scales the stem and stage widths (e.g. 0.25 for a
            small CPU model); pretrained weights need 1.0.
        pretrained: path of a local torchvision-style ``resnet50`` state dict
            (``layer4.*`` and ``fc.*`` are ignored), loaded with
            ``torch.load(path, weights_only=True)``. Never downloaded.

    ``forward(x (B, in_channels, H, W))`` -> F (B, out_channels, H/4, W/4):
    (B, 256, 32, 32) for the paper's 128 x 128 crop.
    """

    def __init__(self, in_channels: int = 3,
                 stage_blocks: Sequence[int] = RESNET50_BLOCKS,
                 dilations: Sequence[int] = (1, 2, 4),
                 out_channels: int = 256, width_multiplier: float = 1.0,
                 pretrained: Optional[str] = None) -> None:
        super().__init__()
        if not width_multiplier > 0:
            raise ValueError(f'DilatedResNet: width_multiplier must be '
                             f'positive, got {width_multiplier}')
        if len(stage_blocks) != 3 or min(stage_blocks) < 1:
            raise ValueError(f'DilatedResNet: stage_blocks needs 3 entries '
                             f'>= 1 (ResNet-50 stages 1-3), got '
                             f'{tuple(stage_blocks)}')
        if len(dilations) != 3 or min(dilations) < 1:
            raise ValueError(f'DilatedResNet: dilations needs 3 entries >= 1,'
                             f' got {tuple(dilations)}')
        self.out_channels = out_channels
        stem = scaled_width(STEM_WIDTH, width_multiplier)
        widths = [scaled_width(c, width_multiplier) for c in RESNET50_WIDTHS]
        self.conv1 = nn.Conv2d(in_channels, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_width = stem
        for index, (num_blocks, width, dilation) in enumerate(
                zip(stage_blocks, widths, dilations)):
            self.add_module(f'layer{index + 1}', make_res_layer(
                Bottleneck, in_width, width, num_blocks, 1, dilation))
            in_width = width
        self.squeeze = nn.Sequential(
            nn.Conv2d(in_width, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
        if pretrained is not None:
            load_torchvision_weights(
                self, pretrained, self.encoder_state_keys(), 'resnet50',
                'pretrained weights need width_multiplier=1.0, '
                'stage_blocks=(3, 4, 6) and in_channels=3')

    def encoder_state_keys(self) -> List[str]:
        """The state-dict keys a torchvision resnet50 file must provide."""
        prefixes = ('conv1.', 'bn1.', 'layer1.', 'layer2.', 'layer3.')
        return [key for key in self.state_dict() if key.startswith(prefixes)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f'DilatedResNet: input height and width must be '
                             f'multiples of 4, got {tuple(x.shape[-2:])}')
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4,)
        x = self.layer3(self.layer2(self.layer1(x)))  # (B, 1024, H/4, W/4)
        return self.squeeze(x)  # (B, 256, H/4, W/4)
