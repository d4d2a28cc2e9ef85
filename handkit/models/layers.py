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
