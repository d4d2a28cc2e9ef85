"""Small building blocks shared by handkit's backbones and heads."""
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmcv.cnn import build_norm_layer
from torch import nn


def relu(negative_slope: float = 0.0) -> nn.Module:
    """ReLU, or a leaky ReLU ``max(x, slope x)`` for a slope > 0 (0.01:
    Zimmermann & Brox's ``NetworkOps.leaky_relu``, lmb-freiburg/hand3d
    ``utils/general.py:28-33``)."""
    if negative_slope:
        return nn.LeakyReLU(float(negative_slope), inplace=True)
    return nn.ReLU(inplace=True)


def conv_norm_relu(in_channels: int, out_channels: int, kernel_size: int,
                   norm_cfg: Optional[dict] = None,
                   negative_slope: float = 0.0) -> List[nn.Module]:
    """conv [-> norm] -> ReLU, as a list of layers (spatial size kept).

    ``norm_cfg`` is a config for mmcv's ``build_norm_layer``, e.g.
    ``dict(type='BN')`` or ``dict(type='GN', num_groups=8)``; None puts no
    norm (the conv then has a bias; with a norm it has none).
    ``negative_slope`` > 0 makes the ReLU leaky (:func:`relu`).
    """
    conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                     padding=kernel_size // 2, bias=norm_cfg is None)
    norm = [] if norm_cfg is None else [
        build_norm_layer(norm_cfg, out_channels)[1]]
    return [conv, *norm, relu(negative_slope)]


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


def upsample_on_grid(maps: torch.Tensor, size: Tuple[int, int]
                     ) -> torch.Tensor:
    """Bilinear (B, C, h, w) -> (B, C, H, W) on handkit's map grid.

    Output pixel ``i`` samples the map at ``i * h / H`` (map pixel ``j``
    sits at input pixel ``j * stride``, docs/architecture.md; TensorFlow 1's
    ``resize_images`` grid), the border replicated beyond the last map
    pixel. Two small interpolation matrices and an einsum: differentiable
    and ONNX-exportable. ``size`` is (H, W).
    """
    rows = grid_interpolation_matrix(maps.shape[-2], size[0], maps)
    cols = grid_interpolation_matrix(maps.shape[-1], size[1], maps)
    return torch.einsum('yh,bchw,xw->bcyx', rows, maps, cols)


def grid_interpolation_matrix(source: int, target: int,
                              like: torch.Tensor) -> torch.Tensor:
    """(target, source) linear-interpolation weights at ``i * source /
    target``, clamped to the last source pixel (a constant: numpy; an
    ONNX trace fixes the two sizes)."""
    source, target = int(source), int(target)
    position = np.arange(target) * source / target
    low = np.minimum(np.floor(position), source - 1).astype(np.int64)
    fraction = np.minimum(position - low, 1.0)
    high = np.minimum(low + 1, source - 1)
    weights = np.zeros((target, source))
    np.add.at(weights, (np.arange(target), low), 1 - fraction)
    np.add.at(weights, (np.arange(target), high), fraction)
    return torch.from_numpy(weights).to(dtype=like.dtype, device=like.device)
