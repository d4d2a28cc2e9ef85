"""The two CPM stage builders shared by the keypoint and structure heads.

NSRM Section 4.2 and Figure 5: the cascade has stages of "5 convolution layers
with 7x7 kernel and 2 convolution layers with 1x1 kernel (except the first
stage)"; the first stage of the whole cascade is two 1x1 convolutions on the
backbone features (128 -> 512 -> out). Stages output raw maps: no activation
after their last convolution. Weights start from He-normal init
(``handkit.models.weight_init``).

``norm_cfg`` (e.g. ``dict(type='BN')`` or ``dict(type='GN', num_groups=8)``,
see :func:`handkit.models.layers.conv_norm_relu`) puts a normalisation
layer between every hidden convolution and its ReLU, for training from
scratch; the paper's stages have none (``None``, the default).
"""
from typing import Optional

from torch import nn

from handkit.models.layers import conv_norm_relu
from handkit.models.weight_init import init_relu_convs


def stage_1x1(in_channels: int, out_channels: int, mid: int = 512,
              norm_cfg: Optional[dict] = None) -> nn.Sequential:
    """First stage of a cascade: conv1x1 in -> mid, ReLU, conv1x1 mid -> out.
    """
    return init_relu_convs(nn.Sequential(
        *conv_norm_relu(in_channels, mid, 1, norm_cfg),
        nn.Conv2d(mid, out_channels, 1)), small_output=True)


def stage_7x7(in_channels: int, out_channels: int, mid: int = 128,
              norm_cfg: Optional[dict] = None) -> nn.Sequential:
    """Refinement stage: five 7x7 convs of ``mid`` with ReLU, then
    conv1x1 mid -> mid, ReLU, conv1x1 mid -> out (spatial size is kept)."""
    layers, channels = [], in_channels
    for _ in range(5):
        layers += conv_norm_relu(channels, mid, 7, norm_cfg)
        channels = mid
    layers += [*conv_norm_relu(mid, mid, 1, norm_cfg),
               nn.Conv2d(mid, out_channels, 1)]
    return init_relu_convs(nn.Sequential(*layers), small_output=True)
