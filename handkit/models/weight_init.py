"""Weight initialisation shared by the plain (batch-norm-free) VGG / CPM nets.

PyTorch's default convolution init shrinks the signal through a deep stack of
ReLU convolutions; the NSRM paper avoids that by starting the backbone from
ImageNet weights. For training from scratch handkit uses torchvision's VGG
initialisation: He (Kaiming) normal, fan-out, zero bias.
"""
from torch import nn


def init_relu_convs(module):
    """He-normal (fan_out, ReLU) weights and zero biases for every Conv2d."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode='fan_out',
                                    nonlinearity='relu')
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module
