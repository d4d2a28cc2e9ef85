"""Residual hourglass feature extractor of Li and Wang ("Network
architecture").

"We use a 3x3 convolutional layer (followed by a batch normalization layer and
a ReLU layer), two residual blocks and a third order hourglass block for
feature extraction." The paper gives no block internals or strides; this file
follows Newell et al.'s stacked-hourglass conventions, which the paper's
"residual blocks" and "third order hourglass" name:

* residual block: the pre-activation bottleneck (BN-ReLU-1x1 conv to C/2,
  BN-ReLU-3x3 conv, BN-ReLU-1x1 conv back to C, plus the identity);
* stride: the 3x3 stem convolution has stride 2 and a 2x2 max-pooling follows
  the first residual block (as Newell's stem pools once after its first
  residual), so the features are at **stride 4**: a 128 x 128 depth crop gives
  (B, channels, 32, 32), and a third-order hourglass then works at 32, 16, 8
  and 4 pixels;
* hourglass of order n: ``up = res(x)``; ``low = res(maxpool(x))``, then the
  order n-1 hourglass (a residual block at order 1), then ``res``; the result
  is ``up + nearest_upsample(low)``;
* output: a 1x1 conv + BN + ReLU after the hourglass (Newell's "lin" layer),
  so the regression head reads normalised, non-negative features.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from handkit.registry import MODELS


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck residual block, C -> C channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        mid = max(1, channels // 2)
        self.residual = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, channels, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual(x)


class Hourglass(nn.Module):
    """Recursive hourglass; each order halves the resolution once more."""

    def __init__(self, order: int, channels: int) -> None:
        super().__init__()
        self.skip = PreActBottleneck(channels)
        self.down = PreActBottleneck(channels)
        self.inner = (Hourglass(order - 1, channels)
                      if order > 1 else PreActBottleneck(channels))
        self.up = PreActBottleneck(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.down(F.max_pool2d(x, 2))
        low = self.up(self.inner(low))
        return self.skip(x) + F.interpolate(low, scale_factor=2,
                                            mode='nearest')


@MODELS.register_module()
class ResidualHourglass(nn.Module):
    """Stem conv, residual blocks and one hourglass (Li and Wang).

    A depth crop becomes stride-4 features.

    Args:
        in_channels: input channels (1 for a normalised depth crop).
        channels: width of every layer (128).
        order: hourglass order (3: lowest resolution is 1/8 of the features).
        num_residual: residual blocks between the stem and the hourglass (2);
            the 2x2 max-pooling follows the first.

    ``forward(x (B, in_channels, H, W))`` -> (B, channels, H/4, W/4); H and W
    must be multiples of ``4 * 2**order`` (32 for order 3).
    """

    def __init__(self, in_channels: int = 1, channels: int = 128,
                 order: int = 3, num_residual: int = 2) -> None:
        super().__init__()
        if order < 1 or num_residual < 1:
            raise ValueError(f'ResidualHourglass: order and num_residual must '
                             f'be >= 1, got order={order}, '
                             f'num_residual={num_residual}')
        self.order = order
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride=2, padding=1,
                      bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.residual_blocks = nn.Sequential(
            PreActBottleneck(channels), nn.MaxPool2d(2),
            *(PreActBottleneck(channels) for _ in range(num_residual - 1)))
        self.hourglass = Hourglass(order, channels)
        self.out = nn.Sequential(
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = 4 * 2**self.order
        if x.shape[-1] % multiple or x.shape[-2] % multiple:
            raise ValueError(f'ResidualHourglass: input height and width must '
                             f'be multiples of {multiple} (order '
                             f'{self.order}), got {tuple(x.shape[-2:])}')
        x = self.stem(x)  # (B, C, H/2, W/2)
        x = self.residual_blocks(x)  # (B, C, H/4, W/4)
        return self.out(self.hourglass(x))  # (B, C, H/4, W/4)
