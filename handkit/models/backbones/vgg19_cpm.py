"""VGG19CPM: the VGG-19 feature extractor of the CPM hand model.

NSRM Section 4.2: "we adopt VGG-19 (up to Conv 4_4) as our backbone network,
which is pretrained on ImageNet and generates 128-channel feature maps"; the
layer list follows the authors' CPM hand model (NSRM Figure 5, "VGG19"):

    conv1_1, conv1_2 (64)  | pool | conv2_1, conv2_2 (128) | pool |
    conv3_1 .. conv3_4 (256) | pool | conv4_1 .. conv4_4 (512) |
    conv5_1, conv5_2 (512), conv5_3_CPM (128)

all 3x3 convolutions with padding 1 and ReLU, 2x2 max-pools of stride 2: the
output is (B, 128, H/8, W/8), e.g. 46 x 46 for a 368 x 368 input
(``output_stride=4``: H/4 x W/4).
"""
import os.path as osp
import re
from typing import Optional

import torch
from torch import nn

from handkit.engine.checkpoint import load_checkpoint_file, state_dict_of
from handkit.models.layers import conv_norm_relu
from handkit.models.weight_init import init_relu_convs
from handkit.registry import MODELS

# Output widths of VGG-19's conv1_1 .. conv4_4; 'M' is a 2x2 max-pool.
_VGG19_TO_CONV4_4 = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M',
                     512, 512, 512, 512)
_NUM_VGG_CONVS = sum(1 for width in _VGG19_TO_CONV4_4 if width != 'M')  # 12
_TORCHVISION_CONV_KEY = re.compile(r'^features\.(\d+)\.weight$')


@MODELS.register_module()
class VGG19CPM(nn.Module):
    """VGG-19 up to conv4_4 followed by the CPM feature convolutions.

    Args:
        in_channels: channels of the input image.
        out_channels: channels of the output features (conv5_3_CPM); 128 in
            the paper.
        width_multiplier: scales every hidden width (64, 128, 256, 512) so a
            reduced-width backbone exists for quick CPU runs; the output
            width stays ``out_channels``.
        pretrained: path of a local torchvision-style VGG-19 state dict
            (``features.N.weight`` / ``features.N.bias`` keys) whose first 12
            convolutions (conv1_1 .. conv4_4) initialise the matching layers
            here, in order. Nothing is ever downloaded. Without it every
            convolution starts from He-normal init (torchvision's VGG init).
        output_stride: 8 (the paper: three 2x2 max-pools) or 4 (the last
            pool, before conv4_1, left out: twice the map resolution, for
            small inputs; conv4 and conv5 then cost four times as much).
        norm_cfg: None (the paper: plain convolutions) or a normalisation
            layer after every convolution, e.g. ``dict(type='BN')`` (as
            torchvision's ``vgg19_bn``), for training from scratch. Convs
            followed by a norm have no bias.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 128,
                 width_multiplier: float = 1.0,
                 pretrained: Optional[str] = None,
                 output_stride: int = 8,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if width_multiplier <= 0:
            raise ValueError(f'width_multiplier must be positive, got '
                             f'{width_multiplier}')
        if output_stride not in (4, 8):
            raise ValueError(f'output_stride must be 8 or 4, got '
                             f'{output_stride!r}')
        self.out_channels = out_channels
        self.output_stride = output_stride

        def scaled(width: int) -> int:
            return max(1, round(width * width_multiplier))

        layers, channels, pools = [], in_channels, 0
        for width in _VGG19_TO_CONV4_4:
            if width == 'M':
                pools += 1
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2)
                              if 2**pools <= output_stride else nn.Identity())
            else:
                layers += conv_norm_relu(channels, scaled(width), 3,
                                         norm_cfg)
                channels = scaled(width)
        # Without norm_cfg: the module indices of torchvision's
        # vgg19().features up to conv4_4.
        self.features = nn.Sequential(*layers)
        self.cpm_features = nn.Sequential(
            *conv_norm_relu(channels, scaled(512), 3, norm_cfg),     # conv5_1
            *conv_norm_relu(scaled(512), scaled(512), 3, norm_cfg),  # conv5_2
            *conv_norm_relu(scaled(512), out_channels, 3,
                            norm_cfg))                      # conv5_3_CPM
        init_relu_convs(self)
        if pretrained is not None:
            self.load_vgg19_weights(pretrained)

    def load_vgg19_weights(self, path: str) -> None:
        """Copy conv1_1 .. conv4_4 from a torchvision VGG-19 state dict.

        The source convolutions are taken in the order of their
        ``features.N`` index; each must match the shape of its counterpart.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'pretrained VGG-19 weights not found: '
                                    f'{path}')
        state = state_dict_of(load_checkpoint_file(path), path)
        source_indices = sorted(
            int(match.group(1)) for match in map(_TORCHVISION_CONV_KEY.match,
                                                 state)
            if match is not None and state[match.group(0)].dim() == 4)
        if len(source_indices) < _NUM_VGG_CONVS:
            raise ValueError(
                f'{path}: expected at least {_NUM_VGG_CONVS} convolution '
                f"weights 'features.N.weight', found {len(source_indices)}")
        targets = [m for m in self.features if isinstance(m, nn.Conv2d)]
        with torch.no_grad():
            for index, conv in zip(source_indices, targets):
                for name in ('weight', 'bias')[:1 if conv.bias is None
                                               else 2]:
                    key = f'features.{index}.{name}'
                    if key not in state:
                        raise ValueError(f"{path}: missing key '{key}'")
                    param = getattr(conv, name)
                    if state[key].shape != param.shape:
                        raise ValueError(
                            f"{path}: '{key}' has shape "
                            f'{tuple(state[key].shape)}, the backbone needs '
                            f'{tuple(param.shape)}')
                    param.copy_(state[key])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (B, in, H, W) -> (B, 512w, H/8, W/8) -> (B, out, H/8, W/8)
        return self.cpm_features(self.features(images))
