"""BlazePalm: the backbone of MediaPipe Hands' palm detector.

Zhang et al., "MediaPipe Hands: On-device Real-time Hand Tracking", CVPR
Workshops 2020 (Section 2.1: a single-shot palm detector with an
encoder-decoder feature extractor, "similar to FPN", for a larger scene
context even on small objects), built of the BlazeBlocks of Bazarevsky et
al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs",
CVPR Workshops 2019 (Section 2: residual blocks of a 5x5 depthwise and a
1x1 convolution). The downsampling blocks' skip path (2x2 max pooling, zero
channels appended) and the PReLU after every sum follow MediaPipe's
graph.

The layout follows MediaPipe's released ``palm_detection_{full,lite}.tflite``
(Apache-2.0) op for op, so that ``tools/convert_mediapipe.py`` loads their
weights; 'full' has 4 BlazeBlocks per resolution, 'lite' 3::

    input (B, 3, 192, 192) RGB in [0, 1]
    stem   5x5 conv s2 + PReLU             -> (B,  32, 96, 96)
    stage0 n x BlazeBlock(32)              -> (B,  32, 96, 96)
    stage1 BlazeBlock(32->64, s2) + n      -> (B,  64, 48, 48)
    stage2 BlazeBlock(64->128, s2) + n     -> (B, 128, 24, 24)  c3
    stage3 BlazeBlock(128->256, s2) + n    -> (B, 256, 12, 12)  c4
    stage4 BlazeBlock(256->256, s2) + n    -> (B, 256,  6,  6)  c5
    p4 = fuse16(c4 + up16(c5))             -> (B, 256, 12, 12)  stride 16
    p3 = fuse8(c3 + up8(p4))               -> (B, 128, 24, 24)  stride 8

``up``: bilinear x2 (TFLite's half-pixel centres), 1x1 conv, PReLU;
``fuse``: 2 BlazeBlocks. The backbone returns ``(p3, p4)``, the order of
MediaPipe's anchors (the 24 x 24 grid first).
"""
from typing import Tuple

import torch
from torch import nn

from handkit.models.backbones.mediapipe_layers import (ChannelPad,
                                                       Conv2dSame,
                                                       MaxPool2dSame,
                                                       ResizeBilinear)
from handkit.registry import MODELS

# BlazeBlocks per resolution (after the downsampling block of each stage).
BLOCKS_PER_STAGE = {'full': 4, 'lite': 3}


class BlazeBlock(nn.Module):
    """BlazeFace's single BlazeBlock with a PReLU after the sum.

    ``act(pw(dw(x)) + skip(x))``: ``dw`` a 5x5 depthwise conv (SAME, no
    bias: MediaPipe's is zero), ``pw`` a 1x1 conv to ``out_channels``;
    ``skip`` is the identity, or with ``stride=2`` a 2x2 max pool, followed
    by zero channels when the block widens.

    Args:
        in_channels: C_in.
        out_channels: C_out >= C_in.
        stride: 1, or 2 to halve H and W.
        kernel_size: of the depthwise conv (5).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 stride: int = 1, kernel_size: int = 5) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f'BlazeBlock: out_channels ({out_channels}) < '
                             f'in_channels ({in_channels})')
        if stride not in (1, 2):
            raise ValueError(f'BlazeBlock: stride must be 1 or 2, got '
                             f'{stride}')
        self.dw = Conv2dSame(in_channels, in_channels, kernel_size, stride,
                             groups=in_channels, bias=False)
        self.pw = nn.Conv2d(in_channels, out_channels, 1)
        self.pool = MaxPool2dSame(2, 2) if stride == 2 else None
        self.channel_pad = (ChannelPad(out_channels - in_channels)
                            if out_channels > in_channels else None)
        self.act = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, C_in, H, W) -> (B, C_out, H / stride, W / stride)
        out = self.pw(self.dw(x))
        skip = self.pool(x) if self.pool is not None else x
        # ChannelPad's zeros add nothing: the skip goes into the first C_in
        # channels in place (no padded copy; conv outputs are not saved for
        # backward, so autograd allows it)
        out[:, :skip.shape[1]] += skip
        return self.act(out)


class UpBlock(nn.Module):
    """The decoder's upsampling: bilinear x2, 1x1 conv, PReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.resize = ResizeBilinear(2, align_corners=False,
                                     half_pixel_centers=True)
        self.conv = nn.Conv2d(in_channels, out_channels, 1)
        self.act = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C_in, h, w) -> (B, C_out, 2h, 2w)
        return self.act(self.conv(self.resize(x)))


def _stage(in_channels: int, out_channels: int, num_blocks: int,
           downsample: bool) -> nn.Sequential:
    blocks = [BlazeBlock(in_channels, out_channels, 2)] if downsample else []
    blocks += [BlazeBlock(out_channels, out_channels)
               for _ in range(num_blocks)]
    return nn.Sequential(*blocks)


@MODELS.register_module()
class BlazePalm(nn.Module):
    """MediaPipe's palm-detector backbone (see the module docstring).

    Args:
        variant: 'full' (4 BlazeBlocks per resolution) or 'lite' (3).
        in_channels: of the input image (3, RGB).

    Returns from ``forward``: ``(p3, p4)``, (B, 128, H/8, W/8) and (B, 256,
    H/16, W/16); (24, 24) and (12, 12) for MediaPipe's 192 x 192 input.
    """

    widths = (32, 64, 128, 256, 256)
    out_channels = (128, 256)

    def __init__(self, variant: str = 'full', in_channels: int = 3) -> None:
        super().__init__()
        if variant not in BLOCKS_PER_STAGE:
            raise ValueError(f'BlazePalm: variant must be one of '
                             f'{sorted(BLOCKS_PER_STAGE)}, got {variant!r}')
        self.variant = variant
        num_blocks = BLOCKS_PER_STAGE[variant]
        widths = self.widths
        self.stem = nn.Sequential(
            Conv2dSame(in_channels, widths[0], 5, stride=2),
            nn.PReLU(widths[0]))
        self.stages = nn.ModuleList([
            _stage(widths[0], widths[0], num_blocks, downsample=False)
        ] + [
            _stage(widths[i - 1], widths[i], num_blocks, downsample=True)
            for i in range(1, len(widths))
        ])
        self.up16 = UpBlock(widths[4], widths[3])
        self.fuse16 = _stage(widths[3], widths[3], 2, downsample=False)
        self.up8 = UpBlock(widths[3], widths[2])
        self.fuse8 = _stage(widths[2], widths[2], 2, downsample=False)

    def forward(self, x: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.stem(x)                        # (B, 32, 96, 96)
        x = self.stages[0](x)                   # (B, 32, 96, 96)
        x = self.stages[1](x)                   # (B, 64, 48, 48)
        c3 = self.stages[2](x)                  # (B, 128, 24, 24)
        c4 = self.stages[3](c3)                 # (B, 256, 12, 12)
        c5 = self.stages[4](c4)                 # (B, 256, 6, 6)
        p4 = self.fuse16(c4 + self.up16(c5))    # (B, 256, 12, 12)
        p3 = self.fuse8(c3 + self.up8(p4))      # (B, 128, 24, 24)
        return p3, p4
