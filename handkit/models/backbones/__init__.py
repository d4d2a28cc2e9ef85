"""Backbones: image -> feature maps."""
from .blaze_hand import BlazeHandLandmark
from .blaze_palm import BlazePalm
from .dilated_resnet import DilatedResNet
from .keypoint_map_input import KeypointMapInput
from .residual_hourglass import ResidualHourglass
from .resnet34_unet import ResNet34UNet
from .resnet_encoder import ResNetEncoder
from .stacked_hourglass import StackedHourglass
from .vgg19_cpm import VGG19CPM
from .zimmermann_vgg import ZimmermannVGG

__all__ = [
    'BlazeHandLandmark', 'BlazePalm', 'DilatedResNet', 'KeypointMapInput',
    'ResidualHourglass',
    'ResNet34UNet', 'ResNetEncoder', 'StackedHourglass', 'VGG19CPM',
    'ZimmermannVGG'
]
