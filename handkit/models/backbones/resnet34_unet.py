"""ResNet34-UNet ("ResUnet") backbone of Bekiri and Babahenini, Section II-A.

Contracting path: a ResNet-34 (torchvision layout and parameter names, so a
torchvision ``resnet34`` state dict loads into it by key). Expansive path: four
Unet-Blocks, each "bilinear upsample, concatenate the respective encoder
feature (F_skip), two convolutions", each also estimating intermediate 2D
heatmaps "before passing it to the upcoming Unet-Block"; then "an upsample
layer with bilinear mode followed by two convolution layers separate with
ReLU".

Resolution (128 x 128 input, the paper's crop). ResNet-34's strides put the
encoder features F1..F4 (layer1..layer4) at 32, 16, 8, 4 pixels and the stem at
64. The four Unet-Blocks climb 4 -> 8 -> 16 -> 32 -> 64, fusing F3, F2, F1 and
the stem; the last block's output is 64 x 64 with 64 channels ("the output of
the last block with a size of 64"). The final bilinear upsampling then gives
**128 x 128 final maps (stride 1)**. The paper's "tensor of size (21, 64)"
reads as the last convolution mapping 64 channels to 21 maps: a 64 x 64 output
would need the final upsampling to be dropped, which the text does not do.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from handkit.models.backbones.resnet import (BasicBlock,
                                             load_torchvision_weights,
                                             make_res_layer, scaled_width)
from handkit.registry import MODELS

RESNET34_BLOCKS = (3, 4, 6, 3)
RESNET34_WIDTHS = (64, 128, 256, 512)


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class UnetBlock(nn.Module):
    """Unet-Block: bilinear x2 upsampling, concatenation with the skip,
    two 3x3 conv + BN + ReLU, and a 1x1 conv to intermediate heatmaps."""

    def __init__(self, in_channels: int, skip_channels: int,
                 out_channels: int, num_keypoints: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            conv_bn_relu(in_channels + skip_channels, out_channels),
            conv_bn_relu(out_channels, out_channels))
        self.heatmap = nn.Conv2d(out_channels, num_keypoints, 1)

    def forward(self, x: torch.Tensor,
                skip: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear',
                          align_corners=False)
        x = self.convs(torch.cat([x, skip], dim=1))
        return x, self.heatmap(x)


@MODELS.register_module()
class ResNet34UNet(nn.Module):
    """ResNet-34 encoder + 4 Unet-Blocks with intermediate heatmaps.

    Bekiri and Babahenini, Section II-A and Fig. 1.

    Args:
        in_channels: input channels (3 for RGB crops).
        num_keypoints: K, the number of heatmaps (21).
        pretrained: path of a local torchvision-style ``resnet34`` state dict
            (``fc.*`` keys are ignored); loaded by key with
            ``torch.load(path, weights_only=True)``. Never downloaded.
        decoder_channels: output channels of the four Unet-Blocks.
        width_multiplier: scales every encoder and decoder width (e.g. 0.125
            for a small CPU model); pretrained weights need 1.0.

    ``forward(x (B, in_channels, 128, 128))`` returns a dict (shapes for the
    defaults and a 128 x 128 input; Cd = decoder_channels):

    * ``heatmaps``: (B, K, 128, 128) final maps (stride 1);
    * ``intermediate_heatmaps``: 4 maps (B, K, s, s), s = 8, 16, 32, 64;
    * ``features``: encoder F1..F4 = layer1..layer4,
      (B, 64, 32, 32), (B, 128, 16, 16), (B, 256, 8, 8), (B, 512, 4, 4);
    * ``decoder_features``: the Unet-Block outputs
      (B, Cd[0], 8, 8), (B, Cd[1], 16, 16), (B, Cd[2], 32, 32),
      (B, Cd[3], 64, 64).
    """

    def __init__(self, in_channels: int = 3, num_keypoints: int = 21,
                 pretrained: Optional[str] = None,
                 decoder_channels: Sequence[int] = (256, 128, 64, 64),
                 width_multiplier: float = 1.0) -> None:
        super().__init__()
        if not width_multiplier > 0:
            raise ValueError(f'ResNet34UNet: width_multiplier must be '
                             f'positive, got {width_multiplier}')
        if len(decoder_channels) != 4:
            raise ValueError(f'ResNet34UNet: decoder_channels needs 4 entries '
                             f'(one per Unet-Block), got {decoder_channels}')
        widths = [scaled_width(c, width_multiplier) for c in RESNET34_WIDTHS]
        decoder = [scaled_width(c, width_multiplier)
                   for c in decoder_channels]

        # Encoder: torchvision's names, so that its state dict loads by key.
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_width = widths[0]
        for index, (num_blocks, width) in enumerate(
                zip(RESNET34_BLOCKS, widths)):
            stride = 1 if index == 0 else 2
            self.add_module(f'layer{index + 1}', make_res_layer(
                BasicBlock, in_width, width, num_blocks, stride))
            in_width = width

        # Decoder: skips F3, F2, F1, then the stem (stride 2).
        skip_widths = (widths[2], widths[1], widths[0], widths[0])
        block_inputs = [widths[3]] + decoder[:-1]
        self.decoder_blocks = nn.ModuleList(
            UnetBlock(c_in, c_skip, c_out, num_keypoints)
            for c_in, c_skip, c_out in zip(block_inputs, skip_widths, decoder))
        self.final_layer = nn.Sequential(
            nn.Conv2d(decoder[-1], decoder[-1], 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(decoder[-1], num_keypoints, 3, padding=1))

        if pretrained is not None:
            self.load_pretrained(pretrained)

    def encoder_state_keys(self) -> List[str]:
        """The state-dict keys a torchvision resnet34 file must provide."""
        prefixes = ('conv1.', 'bn1.', 'layer1.', 'layer2.', 'layer3.',
                    'layer4.')
        return [k for k in self.state_dict() if k.startswith(prefixes)]

    def load_pretrained(self, path: str) -> None:
        """Load the encoder from a local torchvision resnet34 state dict."""
        load_torchvision_weights(
            self, path, self.encoder_state_keys(), 'resnet34',
            'pretrained weights need width_multiplier=1.0 and in_channels=3')

    def forward(self, x: torch.Tensor
                ) -> Dict[str, Union[torch.Tensor, List[torch.Tensor]]]:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f'ResNet34UNet: input height and width must be '
                             f'multiples of 32, got {tuple(x.shape[-2:])}')
        stem = self.relu(self.bn1(self.conv1(x)))  # (B, 64, H/2, W/2)
        f1 = self.layer1(self.maxpool(stem))  # (B, 64, H/4, W/4)
        f2 = self.layer2(f1)  # (B, 128, H/8, W/8)
        f3 = self.layer3(f2)  # (B, 256, H/16, W/16)
        f4 = self.layer4(f3)  # (B, 512, H/32, W/32)

        out, decoder_features, intermediate = f4, [], []
        for block, skip in zip(self.decoder_blocks, (f3, f2, f1, stem)):
            out, heatmaps = block(out, skip)
            decoder_features.append(out)
            intermediate.append(heatmaps)
        out = F.interpolate(out, size=x.shape[-2:], mode='bilinear',
                            align_corners=False)
        return {
            'heatmaps': self.final_layer(out),  # (B, K, H, W)
            'intermediate_heatmaps': intermediate,
            'features': [f1, f2, f3, f4],
            'decoder_features': decoder_features,
        }
