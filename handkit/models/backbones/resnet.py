"""ResNet building blocks shared by handkit's ResNet backbones.

torchvision's layout and attribute names (``conv1``, ``bn1``, ...,
``downsample``), so that a torchvision ``resnet34`` / ``resnet50`` state dict
loads into a backbone by key: ``ResNet34UNet`` (Bekiri and Babahenini) stacks
:class:`BasicBlock` s, ``DilatedResNet`` (Zhou et al.'s DetNet trunk)
:class:`Bottleneck` s whose 3x3 convolutions may be dilated instead of
strided (He et al., "Deep Residual Learning for Image Recognition", CVPR
2016, Table 1; dilation as in torchvision's ``replace_stride_with_dilation``).
"""
import os.path as osp
from typing import Sequence, Type, Union

import torch
import torch.nn as nn

from handkit.engine.checkpoint import load_checkpoint_file, state_dict_of


def scaled_width(channels: int, width_multiplier: float) -> int:
    """``channels * width_multiplier`` rounded, at least 1."""
    return max(1, int(round(channels * width_multiplier)))


def _downsample(in_channels: int, channels: int,
                stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 1, stride, bias=False),
        nn.BatchNorm2d(channels))


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock, with its attribute names.

    conv1, bn1, relu, conv2, bn2, downsample: a torchvision state dict loads.
    """

    def __init__(self, in_channels: int, channels: int,
                 stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = _downsample(in_channels, channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision's ResNet Bottleneck (1x1, 3x3, 1x1; stride on the 3x3).

    Args:
        in_channels: input channels.
        channels: output channels (4 x the bottleneck width, as ResNet-50's
            256 / 512 / 1024 / 2048).
        stride: stride of the 3x3 convolution (and of the shortcut).
        dilation: dilation of the 3x3 convolution (its padding follows, so
            the spatial size only changes with the stride).
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1,
                 dilation: int = 1) -> None:
        super().__init__()
        width = max(1, channels // self.expansion)
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = _downsample(in_channels, channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_res_layer(block: Type[Union[BasicBlock, Bottleneck]],
                   in_channels: int, channels: int, num_blocks: int,
                   stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """One ResNet stage: ``num_blocks`` blocks, the first one strided.

    ``dilation`` (Bottleneck only) dilates the 3x3 convolution of every
    block of the stage.
    """
    extra = {} if dilation == 1 else dict(dilation=dilation)
    blocks = [block(in_channels, channels, stride, **extra)]
    blocks += [block(channels, channels, **extra)
               for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


def load_torchvision_weights(module: nn.Module, path: str,
                             keys: Sequence[str], arch: str,
                             hint: str) -> None:
    """Load ``keys`` of ``module`` from a local torchvision state dict.

    Args:
        module: the backbone; its class name starts every error.
        path: the file, read as data by
            :func:`handkit.engine.checkpoint.load_checkpoint_file`; a dict
            with a ``state_dict`` entry is unwrapped.
        keys: the state-dict keys to load (the encoder's).
        arch: the torchvision model named in errors ('resnet34').
        hint: what a shape mismatch usually means, put in its error.

    Raises:
        FileNotFoundError: no such file.
        ValueError: keys missing from the file, or of another shape.
    """
    name = type(module).__name__
    if not osp.isfile(path):
        raise FileNotFoundError(f'{name}: pretrained weights not found: '
                                f'{path}')
    state = state_dict_of(load_checkpoint_file(path), path)
    own = module.state_dict()
    missing = [key for key in keys if key not in state]
    if missing:
        raise ValueError(
            f'{name}: {path} lacks {len(missing)} {arch} keys, e.g. '
            f'{missing[:3]} (expected torchvision {arch} names)')
    for key in keys:
        if tuple(state[key].shape) != tuple(own[key].shape):
            raise ValueError(
                f'{name}: {path}: {key} has shape {tuple(state[key].shape)}, '
                f'the model expects {tuple(own[key].shape)} ({hint})')
    module.load_state_dict({key: state[key] for key in keys}, strict=False)
