"""Small building blocks shared by handkit's backbones and heads."""
from typing import List, Optional

from mmcv.cnn import build_norm_layer
from torch import nn


def conv_norm_relu(in_channels: int, out_channels: int, kernel_size: int,
                   norm_cfg: Optional[dict] = None) -> List[nn.Module]:
    """conv [-> norm] -> ReLU, as a list of layers (spatial size kept).

    ``norm_cfg`` is a config for mmcv's ``build_norm_layer``, e.g.
    ``dict(type='BN')`` or ``dict(type='GN', num_groups=8)``; None puts no
    norm (the conv then has a bias; with a norm it has none).
    """
    conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                     padding=kernel_size // 2, bias=norm_cfg is None)
    norm = [] if norm_cfg is None else [
        build_norm_layer(norm_cfg, out_channels)[1]]
    return [conv, *norm, nn.ReLU(inplace=True)]


def two_layer_cnn(in_channels: int, hidden_channels: int,
                  out_channels: int) -> nn.Sequential:
    """3x3 conv -> BN -> ReLU -> 1x1 conv: the "2-layer CNN" of each of
    DetNet's detectors (Zhou et al., CVPR 2020, Section 4.1).

    The output convolution starts near zero (normal, std 0.001; zero bias)
    so an untrained detector outputs ~0 maps, the value of most target
    pixels (with PyTorch's default init the first heatmap loss is 60 x
    that of all-zero maps).
    """
    output = nn.Conv2d(hidden_channels, out_channels, 1)
    nn.init.normal_(output.weight, std=0.001)
    nn.init.zeros_(output.bias)
    return nn.Sequential(
        *conv_norm_relu(in_channels, hidden_channels, 3, dict(type='BN')),
        output)
