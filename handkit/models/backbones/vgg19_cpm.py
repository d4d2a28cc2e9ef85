"""VGG19CPM: the VGG-19 feature extractor of the CPM hand model.

NSRM Section 4.2: "we adopt VGG-19 (up to Conv 4_4) as our backbone network,
which is pretrained on ImageNet and generates 128-channel feature maps"; the
layer list follows the authors' CPM hand model (NSRM Figure 5, "VGG19"):

    conv1_1, conv1_2 (64)  | pool | conv2_1, conv2_2 (128) | pool |
    conv3_1 .. conv3_4 (256) | pool | conv4_1 .. conv4_4 (512) |
    conv5_1, conv5_2 (512), conv5_3_CPM (128)

all 3x3 convolutions with padding 1 and ReLU, 2x2 max-pools of stride 2: the
output is (B, 128, H/8, W/8), e.g. 46 x 46 for a 368 x 368 input.
"""
import os.path as osp
import re

import torch
from torch import nn

from handkit.models.weight_init import init_relu_convs
from handkit.registry import MODELS

# Output widths of VGG-19's conv1_1 .. conv4_4; 'M' is a 2x2 max-pool.
_VGG19_TO_CONV4_4 = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M',
                     512, 512, 512, 512)
_NUM_VGG_CONVS = sum(1 for width in _VGG19_TO_CONV4_4 if width != 'M')  # 12
_TORCHVISION_CONV_KEY = re.compile(r'^features\.(\d+)\.weight$')


def _conv3x3_relu(in_channels, out_channels):
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True)]


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
    """

    def __init__(self, in_channels=3, out_channels=128, width_multiplier=1.0,
                 pretrained=None):
        super().__init__()
        if width_multiplier <= 0:
            raise ValueError(f'width_multiplier must be positive, got '
                             f'{width_multiplier}')
        self.out_channels = out_channels

        def scaled(width):
            return max(1, round(width * width_multiplier))

        layers, channels = [], in_channels
        for width in _VGG19_TO_CONV4_4:
            if width == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += _conv3x3_relu(channels, scaled(width))
                channels = scaled(width)
        # Same module indices as torchvision's vgg19().features up to conv4_4.
        self.features = nn.Sequential(*layers)
        self.cpm_features = nn.Sequential(
            *_conv3x3_relu(channels, scaled(512)),        # conv5_1
            *_conv3x3_relu(scaled(512), scaled(512)),     # conv5_2
            *_conv3x3_relu(scaled(512), out_channels))    # conv5_3_CPM
        init_relu_convs(self)
        if pretrained is not None:
            self.load_vgg19_weights(pretrained)

    def load_vgg19_weights(self, path):
        """Copy conv1_1 .. conv4_4 from a torchvision VGG-19 state dict.

        The source convolutions are taken in the order of their
        ``features.N`` index; each must match the shape of its counterpart.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'pretrained VGG-19 weights not found: '
                                    f'{path}')
        state = torch.load(path, map_location='cpu', weights_only=True)
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
                for name in ('weight', 'bias'):
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

    def forward(self, images):
        # (B, in, H, W) -> (B, 512w, H/8, W/8) -> (B, out, H/8, W/8)
        return self.cpm_features(self.features(images))
