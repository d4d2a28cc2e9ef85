"""Weight initialisation shared by the plain (batch-norm-free) VGG / CPM nets.

PyTorch's default convolution init shrinks the signal through a deep stack of
ReLU convolutions; the NSRM paper avoids that by starting the backbone from
ImageNet weights. For training from scratch handkit uses torchvision's VGG
initialisation: He (Kaiming) normal, fan-out, zero bias; the last
convolution of a map-predicting stage starts near zero (normal, std 0.001,
as MMPose's heatmap heads) so untrained stages output ~0 maps.
"""
from torch import nn


def init_relu_convs(module: nn.Module,
                    small_output: bool = False) -> nn.Module:
    """He-normal (fan_out, ReLU) weights and zero biases for every Conv2d.

    With ``small_output`` the module's last Conv2d (its raw output maps)
    gets normal(std=0.001) weights instead.
    """
    convs = [layer for layer in module.modules()
             if isinstance(layer, nn.Conv2d)]
    for layer in convs:
        nn.init.kaiming_normal_(layer.weight, mode='fan_out',
                                nonlinearity='relu')
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    if small_output and convs:
        nn.init.normal_(convs[-1].weight, std=0.001)
    return module
