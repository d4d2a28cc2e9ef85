"""Layers that reproduce TensorFlow Lite's conventions in PyTorch (NCHW).

MediaPipe's models (``BlazePalm``, ``BlazeHandLandmark``) are TensorFlow
graphs; running their weights in PyTorch bit-for-bit (to float32 rounding)
needs TensorFlow's rules where PyTorch's differ:

* ``SAME`` padding of a strided convolution or pooling is asymmetric: for a
  total padding ``p``, ``p // 2`` goes before and the rest after (PyTorch's
  ``padding=k // 2`` is symmetric): :func:`same_padding`, :class:`Conv2dSame`
  and :class:`MaxPool2dSame` pad explicitly with ``F.pad`` and then run with
  padding 0. A padded max-pool element never wins (TensorFlow ignores it).
* a residual block that widens the channels adds zeros after the input's
  channels (TFLite's ``PAD`` on the channel axis): :class:`ChannelPad`.
* ``RESIZE_BILINEAR`` has two flags, ``align_corners`` and
  ``half_pixel_centers``; :class:`ResizeBilinear` follows both (PyTorch's
  ``align_corners=False`` is TensorFlow's ``half_pixel_centers=True``; the
  legacy mode with neither flag is computed by hand).
* a ``FULLY_CONNECTED`` layer after a ``RESHAPE`` flattens NHWC:
  :class:`NHWCFlatten` permutes to NHWC before flattening.

The weights are laid out as PyTorch's layers expect; the converter
(``handkit/convert/mediapipe.py``) permutes TFLite's tensors.
"""
import math
from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

IntPair = Union[int, Tuple[int, int]]


def _pair(value: IntPair) -> Tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def same_padding(size: int, kernel: int, stride: int,
                 dilation: int = 1) -> Tuple[int, int]:
    """TensorFlow's ``SAME`` padding of one axis: (before, after).

    The output has ``ceil(size / stride)`` elements; the total padding is
    what that needs, with the odd pixel after (e.g. size 192, kernel 5,
    stride 2: (1, 2)).
    """
    effective = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: Tuple[int, int],
             stride: Tuple[int, int], value: float = 0.0) -> torch.Tensor:
    """``x`` (B, C, H, W) padded as TensorFlow's ``SAME`` needs."""
    top, bottom = same_padding(x.shape[-2], kernel[0], stride[0])
    left, right = same_padding(x.shape[-1], kernel[1], stride[1])
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``SAME`` padding (asymmetric for a
    stride of 2). ``groups=in_channels`` makes it TFLite's
    ``DEPTHWISE_CONV_2D`` (depth multiplier 1)."""

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: IntPair, stride: IntPair = 1,
                 groups: int = 1, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size,
                         stride=stride, padding=0, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = same_padding(x.shape[-2], self.kernel_size[0],
                                   self.stride[0])
        left, right = same_padding(x.shape[-1], self.kernel_size[1],
                                   self.stride[1])
        if top == bottom and left == right:
            # symmetric (every stride-1 layer): the convolution pads, which
            # saves a padded copy of the input
            return F.conv2d(x, self.weight, self.bias, self.stride,
                            (top, left), 1, self.groups)
        return super().forward(
            F.pad(x, (left, right, top, bottom)))


class MaxPool2dSame(nn.Module):
    """Max pooling with TensorFlow's ``SAME`` padding (padded elements never
    win); ``padding='VALID'`` drops the incomplete windows instead."""

    def __init__(self, kernel_size: IntPair = 2, stride: IntPair = 2,
                 padding: str = 'SAME') -> None:
        super().__init__()
        if padding not in ('SAME', 'VALID'):
            raise ValueError(f"padding must be 'SAME' or 'VALID', got "
                             f'{padding!r}')
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == 'SAME':
            x = pad_same(x, self.kernel_size, self.stride,
                         value=float('-inf'))
        return F.max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return (f'kernel_size={self.kernel_size}, stride={self.stride}, '
                f'padding={self.padding!r}')


class ChannelPad(nn.Module):
    """Append ``extra`` zero channels: (B, C, H, W) -> (B, C + extra, H, W)
    (TFLite's ``PAD`` with paddings ``[[0, 0], [0, 0], [0, 0], [0,
    extra]]`` on NHWC)."""

    def __init__(self, extra: int) -> None:
        super().__init__()
        self.extra = int(extra)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x

    def extra_repr(self) -> str:
        return f'extra={self.extra}'


class ResizeBilinear(nn.Module):
    """TFLite's ``RESIZE_BILINEAR`` to ``scale_factor`` x the input size.

    A source coordinate is ``(dst + 0.5) * in / out - 0.5`` with
    ``half_pixel_centers``, ``dst * (in - 1) / (out - 1)`` with
    ``align_corners`` and ``dst * in / out`` with neither (TensorFlow 1's
    legacy mode); it is clamped to the input, then interpolated between its
    two neighbours on each axis.
    """

    def __init__(self, scale_factor: int = 2, align_corners: bool = False,
                 half_pixel_centers: bool = True) -> None:
        super().__init__()
        if align_corners and half_pixel_centers:
            raise ValueError('RESIZE_BILINEAR: align_corners and '
                             'half_pixel_centers exclude each other')
        self.scale_factor = int(scale_factor)
        self.align_corners = bool(align_corners)
        self.half_pixel_centers = bool(half_pixel_centers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] * self.scale_factor,
                x.shape[-1] * self.scale_factor)
        if self.half_pixel_centers or self.align_corners:
            # PyTorch's two modes are TensorFlow's two modern ones.
            return F.interpolate(x, size=size, mode='bilinear',
                                 align_corners=self.align_corners)
        return _legacy_resize(x, size)

    def extra_repr(self) -> str:
        return (f'scale_factor={self.scale_factor}, align_corners='
                f'{self.align_corners}, half_pixel_centers='
                f'{self.half_pixel_centers}')


def _legacy_axis(size_in: int, size_out: int, device) -> Tuple[
        torch.Tensor, torch.Tensor, torch.Tensor]:
    """Neighbours and weights of TensorFlow's legacy resize on one axis."""
    source = torch.arange(size_out, device=device,
                          dtype=torch.float32) * (size_in / size_out)
    low = source.floor().clamp(max=size_in - 1)
    frac = source - low
    high = (low + 1).clamp(max=size_in - 1)
    return low.long(), high.long(), frac


def _legacy_resize(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    top, bottom, fy = _legacy_axis(x.shape[-2], size[0], x.device)
    left, right, fx = _legacy_axis(x.shape[-1], size[1], x.device)
    rows = (x[..., top, :] * (1 - fy)[:, None]
            + x[..., bottom, :] * fy[:, None])
    return rows[..., left] * (1 - fx) + rows[..., right] * fx


class NHWCFlatten(nn.Module):
    """(B, C, H, W) -> (B, H * W * C), flattened in TensorFlow's NHWC order
    (what a ``RESHAPE`` before a ``FULLY_CONNECTED`` flattens)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)
