"""Backbones: image -> feature maps."""
from .vgg19_cpm import VGG19CPM

__all__ = ['VGG19CPM']
