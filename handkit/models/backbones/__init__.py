"""Backbones: image -> feature maps."""
from .residual_hourglass import ResidualHourglass
from .resnet34_unet import ResNet34UNet
from .vgg19_cpm import VGG19CPM

__all__ = ['ResidualHourglass', 'ResNet34UNet', 'VGG19CPM']
