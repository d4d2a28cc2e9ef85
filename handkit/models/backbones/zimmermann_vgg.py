"""ZimmermannVGG: the VGG-style encoders of HandSegNet and PoseNet.

Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from Single RGB
Images", ICCV 2017, Sections 4.1-4.2 and the supplementary layer tables:
both networks start with a VGG-like stack of 3x3 convolutions and ReLUs
with three 2x2 max-pools (stride 8), initialised in the authors' code from
Wei et al.'s CPM person/pose networks. Layer widths from the public code
(lmb-freiburg/hand3d, ``nets/ColorHandPose3DNetwork.py``,
``inference_detection`` and ``inference_pose2d``):

* HandSegNet (``arch='handsegnet'``): 64 x 2 | pool | 128 x 2 | pool |
  256 x 4 | pool | 512 x 4, 512, 128 (conv5_1, conv5_2);
* PoseNet (``arch='posenet'``): 64 x 2 | pool | 128 x 2 | pool | 256 x 4 |
  pool | 512 x 2, 256 x 4, 128 (conv4_3 .. conv4_7).

The output is the 128-channel encoding at H/8 x W/8 (40 x 40 for
HandSegNet's 320 x 320 image, 32 x 32 for PoseNet's 256 x 256 crop).
"""
from typing import Optional

import torch
from torch import nn

from handkit.models.layers import conv_norm_relu
from handkit.models.weight_init import init_relu_convs
from handkit.registry import MODELS

# Output widths of each stage's 3x3 convolutions; a 2x2 max-pool follows
# every stage but the last.
ARCHS = {
    'handsegnet': ((64, 64), (128, 128), (256, 256, 256, 256),
                   (512, 512, 512, 512, 512, 128)),
    'posenet': ((64, 64), (128, 128), (256, 256, 256, 256),
                (512, 512, 256, 256, 256, 256, 128)),
}


@MODELS.register_module()
class ZimmermannVGG(nn.Module):
    """Stride-8 VGG-style encoder (B, 3, H, W) -> (B, C, H/8, W/8).

    Args:
        arch: 'handsegnet' or 'posenet' (the widths above), or a sequence of
            stages, each a sequence of conv widths (a reduced network for
            the CPU configs); a max-pool follows each stage but the last.
        in_channels: channels of the input image.
        width_multiplier: scales every width but the last (the encoding
            keeps its width, ``out_channels``).
        norm_cfg: None (the paper: plain convolutions with bias) or a norm
            after every convolution, e.g. ``dict(type='BN')``, for training
            from scratch.
        negative_slope: of the leaky ReLU after every convolution: 0.01,
            their ``conv_relu`` (lmb-freiburg/hand3d ``utils/general.py:
            28-33, 56-59``); 0 gives handkit's former plain ReLU.
    """

    def __init__(self, arch='posenet', in_channels: int = 3,
                 width_multiplier: float = 1.0,
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.01) -> None:
        super().__init__()
        stages = ARCHS.get(arch) if isinstance(arch, str) else arch
        if stages is None:
            raise ValueError(f'ZimmermannVGG: arch must be one of '
                             f'{sorted(ARCHS)} or a sequence of stages, got '
                             f'{arch!r}')
        if not width_multiplier > 0:
            raise ValueError(f'ZimmermannVGG: width_multiplier must be '
                             f'positive, got {width_multiplier!r}')
        widths = [list(stage) for stage in stages]
        self.out_channels = int(widths[-1][-1])
        layers, channels = [], in_channels
        for index, stage in enumerate(widths):
            for position, width in enumerate(stage):
                last = index == len(widths) - 1 and position == len(stage) - 1
                width = int(width) if last else max(
                    1, round(width * width_multiplier))
                layers += conv_norm_relu(channels, width, 3, norm_cfg,
                                         negative_slope)
                channels = width
            if index < len(widths) - 1:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.layers = nn.Sequential(*layers)
        self.stride = 2 ** (len(widths) - 1)
        init_relu_convs(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (B, 3, H, W) -> (B, out_channels, H / stride, W / stride)
        return self.layers(images)
