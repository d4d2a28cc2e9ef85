"""BlazeHandLandmark: the backbone of MediaPipe Hands' hand landmark model.

Zhang et al., "MediaPipe Hands: On-device Real-time Hand Tracking", CVPR
Workshops 2020 (Section 2.2: a regression model on the cropped hand with
three outputs, 21 landmarks (x, y and relative depth), a hand flag and a
handedness score, over one shared feature extractor), with the depthwise
separable building blocks of Bazarevsky et al., "BlazeFace: Sub-millisecond
Neural Face Detection on Mobile GPUs", CVPR Workshops 2019.

The layout follows MediaPipe's released ``hand_landmark_{full,lite}.tflite``
(Apache-2.0, 2021 models, which add world landmarks in metres) op for op:
a stem and inverted residual blocks (1x1 expansion + ReLU6, depthwise
kxk + ReLU6, 1x1 linear projection, a residual sum where the shape allows;
in 'lite', a downsampling block that keeps its width adds a 2x2 max-pooled
input), then a last expansion and depthwise conv::

    input (B, 3, 224, 224) RGB in [0, 1]
    stem 3x3 conv s2 + ReLU6                 -> (B,   24, 112, 112)
    blocks (full: 16 / 24 / 40 / 80 / 112 / 192 channels,
            lite: 16 / 16 / 24 / 48 / 64 / 112)  -> (B, C, 7, 7)
    expand 1x1 + ReLU6, depthwise 3x3 + ReLU6 -> (B, 1152, 7, 7) full
                                                (B,  672, 7, 7) lite

The head (:class:`HandLandmarkHead`) averages the map and regresses the
outputs with fully connected layers.
"""
from typing import Optional

import torch
from torch import nn

from handkit.models.backbones.mediapipe_layers import (Conv2dSame,
                                                       MaxPool2dSame)
from handkit.registry import MODELS

# (expanded channels or None for no expansion, out channels, depthwise
# kernel, stride) of every block after the stem, in order.
ARCHS = {
    'full': dict(stem=24, final=1152, blocks=(
        (None, 16, 3, 1),
        (64, 24, 3, 2), (144, 24, 3, 1),
        (144, 40, 5, 2), (240, 40, 5, 1),
        (240, 80, 3, 2), (480, 80, 3, 1), (480, 80, 3, 1),
        (480, 112, 5, 1), (672, 112, 5, 1), (672, 112, 5, 1),
        (672, 192, 5, 2), (1152, 192, 5, 1), (1152, 192, 5, 1),
        (1152, 192, 5, 1))),
    'lite': dict(stem=24, final=672, blocks=(
        (None, 16, 3, 1),
        (64, 16, 3, 2), (96, 16, 3, 1),
        (96, 24, 5, 2), (144, 24, 5, 1),
        (144, 48, 3, 2), (288, 48, 3, 1), (288, 48, 3, 1),
        (288, 64, 5, 1), (384, 64, 5, 1), (384, 64, 5, 1),
        (384, 112, 5, 2), (672, 112, 5, 1), (672, 112, 5, 1),
        (672, 112, 5, 1))),
}


class ConvReLU6(nn.Sequential):
    """A conv (TensorFlow's SAME padding) and a ReLU6: TFLite's CONV_2D or
    DEPTHWISE_CONV_2D (``groups=channels``) with the fused RELU6."""

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int = 1, stride: int = 1,
                 groups: int = 1) -> None:
        conv = (nn.Conv2d(in_channels, out_channels, 1)
                if kernel_size == 1 and stride == 1 else
                Conv2dSame(in_channels, out_channels, kernel_size, stride,
                           groups=groups))
        super().__init__(conv, nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """1x1 expansion + ReLU6 (absent when ``expanded_channels`` is None),
    kxk depthwise + ReLU6, 1x1 projection, and a residual sum: the input
    when the shape is kept, the 2x2 max-pooled input (VALID) when the block
    downsamples without widening.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        expanded_channels: channels of the depthwise conv; None: C_in,
            without the expansion conv.
        kernel_size: of the depthwise conv (3 or 5).
        stride: 1 or 2.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 expanded_channels: Optional[int], kernel_size: int,
                 stride: int = 1) -> None:
        super().__init__()
        hidden = expanded_channels or in_channels
        self.expand = (ConvReLU6(in_channels, hidden)
                       if expanded_channels is not None else None)
        self.dw = ConvReLU6(hidden, hidden, kernel_size, stride,
                            groups=hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1)
        if in_channels != out_channels:
            self.residual = None
        elif stride == 1:
            self.residual = 'identity'
        else:
            self.residual = 'pool'
        self.pool = (MaxPool2dSame(2, stride, padding='VALID')
                     if self.residual == 'pool' else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, H, W) -> (B, C_out, H / stride, W / stride)
        out = self.expand(x) if self.expand is not None else x
        out = self.project(self.dw(out))
        if self.residual == 'identity':
            out = out + x
        elif self.residual == 'pool':
            out = out + self.pool(x)
        return out


@MODELS.register_module()
class BlazeHandLandmark(nn.Module):
    """MediaPipe's hand-landmark backbone (see the module docstring).

    Args:
        variant: 'full' or 'lite'.
        in_channels: of the input image (3, RGB).
        out_stride: 32 (MediaPipe's network, the default), or 8 or 16: the
            trunk up to the last block of that stride, as a backbone for
            handkit's map heads (NSRM's stages work on stride-8 maps);
            the later blocks are left out.

    Returns from ``forward``: (B, 1152, H/32, W/32) ('full') or (B, 672,
    H/32, W/32) ('lite'): (7, 7) for MediaPipe's 224 x 224 input; with
    ``out_stride`` 8 or 16, the features of that stride (``out_channels``:
    40 / 112 ('full'), 24 / 64 ('lite')).
    """

    def __init__(self, variant: str = 'full', in_channels: int = 3,
                 out_stride: int = 32) -> None:
        super().__init__()
        if variant not in ARCHS:
            raise ValueError(f'BlazeHandLandmark: variant must be one of '
                             f'{sorted(ARCHS)}, got {variant!r}')
        if out_stride not in (8, 16, 32):
            raise ValueError(f'BlazeHandLandmark: out_stride must be 8, 16 '
                             f'or 32, got {out_stride!r}')
        self.variant = variant
        self.out_stride = out_stride
        arch = ARCHS[variant]
        self.stem = ConvReLU6(in_channels, arch['stem'], 3, stride=2)
        blocks, channels, stride_so_far = [], arch['stem'], 2
        for expanded, out, kernel, stride in arch['blocks']:
            if stride_so_far * stride > out_stride:
                break  # a truncated trunk: the blocks of lower strides
            blocks.append(InvertedResidual(channels, out, expanded, kernel,
                                           stride))
            channels, stride_so_far = out, stride_so_far * stride
        self.blocks = nn.Sequential(*blocks)
        if out_stride < 32:
            self.final_expand = self.final_dw = None
            self.out_channels = channels
            return
        final = arch['final']
        self.final_expand = ConvReLU6(channels, final)
        self.final_dw = ConvReLU6(final, final, 3, groups=final)
        self.out_channels = final

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)                   # (B, 24, 112, 112)
        x = self.blocks(x)                 # (B, 192 | 112, 7, 7)
        if self.final_expand is None:      # out_stride 8 or 16
            return x
        x = self.final_expand(x)           # (B, 1152 | 672, 7, 7)
        return self.final_dw(x)            # (B, 1152 | 672, 7, 7)
