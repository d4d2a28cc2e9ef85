"""Stacked hourglass on an RGB crop: heat maps and features per stack.

Newell, Yang and Deng, "Stacked Hourglass Networks for Human Pose
Estimation", ECCV 2016, as the 2D stage of Ge et al., "3D Hand Shape and
Pose Estimation from a Single RGB Image", CVPR 2019 (Section 3.2: "a
two-stacked hourglass network ... 64 x 64 heat maps"). Facts from Ge et
al.'s release (hand-graph-cnn ``net_hg.py``, non-commercial; read, not
copied): 2 stacks, 256 features, 2 residual modules per hourglass slot, a
4th-order hourglass; stem: 7 x 7 conv (stride 2) + BN + ReLU, a residual
64 -> 128, 2 x 2 max-pooling, residuals 128 -> 128 -> 256 (stride 4: a
256 x 256 crop gives 64 x 64 maps); after each hourglass 2 residuals, a
1 x 1 conv + BN + ReLU and a 1 x 1 conv to the heat maps; between stacks
the input of the next is ``x + conv(features) + conv(heat maps)``. The
"encoding" handed to the mesh network is that sum after a stack that has a
successor, the features after the last.

The residual block is :class:`PreActBottleneck` of
:mod:`.residual_hourglass` (Newell's pre-activation bottleneck); where the
width changes, :class:`ProjectedBottleneck` projects with a 1 x 1
convolution first and then runs the block at the new width (the release's
block puts the 1 x 1 convolution on the skip path and runs its bottleneck
from the old width).
"""
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from handkit.models.backbones.residual_hourglass import PreActBottleneck
from handkit.registry import MODELS


class ProjectedBottleneck(nn.Module):
    """A 1 x 1 convolution from ``in_channels`` to ``out_channels``, then a
    pre-activation bottleneck at the new width."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(in_channels, out_channels, 1)
        self.block = PreActBottleneck(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.project(x))


def _modules(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(PreActBottleneck(channels) for _ in range(count)))


class StackedHourglassUnit(nn.Module):
    """One hourglass of ``order`` with ``num_modules`` residuals per slot:
    ``up = res(x)``, ``low = res(pool(x))`` -> inner -> ``res``, output
    ``up + nearest_upsample(low)``."""

    def __init__(self, order: int, channels: int, num_modules: int) -> None:
        super().__init__()
        self.skip = _modules(channels, num_modules)
        self.down = _modules(channels, num_modules)
        self.inner = (StackedHourglassUnit(order - 1, channels, num_modules)
                      if order > 1 else _modules(channels, num_modules))
        self.up = _modules(channels, num_modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.up(self.inner(self.down(F.max_pool2d(x, 2))))
        return self.skip(x) + F.interpolate(low, scale_factor=2,
                                            mode='nearest')


@MODELS.register_module()
class StackedHourglass(nn.Module):
    """Ge et al.'s 2D stage (module docstring).

    Args:
        in_channels: 3 (RGB).
        num_keypoints: heat maps per stack (21).
        num_stacks: hourglasses (2).
        channels: features (256).
        num_modules: residuals per hourglass slot (2).
        order: hourglass order (4: 64 -> 4 pixels).
        stem_channels: the stem's widths (64, 128).

    ``forward(x (B, 3, H, W))`` -> ``{'heatmaps': [(B, K, H/4, W/4)] per
    stack, 'features': [(B, channels, H/4, W/4)] per stack}`` (the
    release's ``encoding``). H and W must be multiples of ``4 2^order``.
    """

    def __init__(self, in_channels: int = 3, num_keypoints: int = 21,
                 num_stacks: int = 2, channels: int = 256,
                 num_modules: int = 2, order: int = 4,
                 stem_channels: tuple = (64, 128)) -> None:
        super().__init__()
        if num_stacks < 1 or order < 1 or num_modules < 1:
            raise ValueError(
                f'StackedHourglass: num_stacks, order and num_modules must '
                f'be >= 1, got {num_stacks}, {order}, {num_modules}')
        first, second = stem_channels
        self.order, self.num_stacks = order, num_stacks
        self.channels, self.num_keypoints = channels, num_keypoints
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, first, 7, stride=2, padding=3),
            nn.BatchNorm2d(first), nn.ReLU(inplace=True),
            ProjectedBottleneck(first, second), nn.MaxPool2d(2),
            PreActBottleneck(second), ProjectedBottleneck(second, channels))
        self.hourglasses = nn.ModuleList(
            StackedHourglassUnit(order, channels, num_modules)
            for _ in range(num_stacks))
        self.residuals = nn.ModuleList(_modules(channels, num_modules)
                                       for _ in range(num_stacks))
        self.lins = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 1),
                          nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            for _ in range(num_stacks))
        self.to_heatmaps = nn.ModuleList(
            nn.Conv2d(channels, num_keypoints, 1) for _ in range(num_stacks))
        self.features_back = nn.ModuleList(
            nn.Conv2d(channels, channels, 1) for _ in range(num_stacks - 1))
        self.heatmaps_back = nn.ModuleList(
            nn.Conv2d(num_keypoints, channels, 1)
            for _ in range(num_stacks - 1))

    def forward(self, x: torch.Tensor) -> Dict[str, List[torch.Tensor]]:
        multiple = 4 * 2**self.order
        if x.shape[-1] % multiple or x.shape[-2] % multiple:
            raise ValueError(f'StackedHourglass: input height and width must '
                             f'be multiples of {multiple} (order '
                             f'{self.order}), got {tuple(x.shape[-2:])}')
        x = self.stem(x)  # (B, C, H/4, W/4)
        heatmaps, features = [], []
        for stack in range(self.num_stacks):
            feats = self.lins[stack](self.residuals[stack](
                self.hourglasses[stack](x)))
            maps = self.to_heatmaps[stack](feats)  # (B, K, H/4, W/4)
            heatmaps.append(maps)
            if stack + 1 < self.num_stacks:
                x = x + self.features_back[stack](feats) + \
                    self.heatmaps_back[stack](maps)
                features.append(x)
            else:
                features.append(feats)
        return dict(heatmaps=heatmaps, features=features)
