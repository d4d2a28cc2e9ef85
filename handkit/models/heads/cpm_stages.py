"""The two CPM stage builders shared by the keypoint and structure heads.

NSRM Section 4.2 and Figure 5: the cascade has stages of "5 convolution layers
with 7x7 kernel and 2 convolution layers with 1x1 kernel (except the first
stage)"; the first stage of the whole cascade is two 1x1 convolutions on the
backbone features (128 -> 512 -> out). Stages output raw maps: no activation
after their last convolution. Weights start from He-normal init
(``handkit.models.weight_init``).
"""
from torch import nn

from handkit.models.weight_init import init_relu_convs


def stage_1x1(in_channels, out_channels, mid=512):
    """First stage of a cascade: conv1x1 in -> mid, ReLU, conv1x1 mid -> out.
    """
    return init_relu_convs(nn.Sequential(
        nn.Conv2d(in_channels, mid, 1), nn.ReLU(inplace=True),
        nn.Conv2d(mid, out_channels, 1)), small_output=True)


def stage_7x7(in_channels, out_channels, mid=128):
    """Refinement stage: five 7x7 convs of ``mid`` with ReLU, then
    conv1x1 mid -> mid, ReLU, conv1x1 mid -> out (spatial size is kept)."""
    layers, channels = [], in_channels
    for _ in range(5):
        layers += [nn.Conv2d(channels, mid, 7, padding=3),
                   nn.ReLU(inplace=True)]
        channels = mid
    layers += [nn.Conv2d(mid, mid, 1), nn.ReLU(inplace=True),
               nn.Conv2d(mid, out_channels, 1)]
    return init_relu_convs(nn.Sequential(*layers), small_output=True)
