"""Tests of the VGG19CPM backbone: widths, strides and pretrained loading."""
import pytest
import torch
from torch import nn

from handkit.models.backbones.vgg19_cpm import VGG19CPM
from handkit.registry import MODELS

# Indices of the 16 convolutions in torchvision's vgg19().features.
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28,
                            30, 32, 34)


def conv_widths(model):
    return [(m.in_channels, m.out_channels) for m in model.modules()
            if isinstance(m, nn.Conv2d)]


def write_torchvision_vgg19(path, width_multiplier):
    """A torchvision-style VGG-19 state dict; conv n is filled with n + 1."""
    widths = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512,
              512, 512, 512]
    widths = [round(w * width_multiplier) for w in widths]
    state, in_channels = {}, 3
    for number, (index, width) in enumerate(zip(TORCHVISION_CONV_INDICES,
                                                widths)):
        state[f'features.{index}.weight'] = torch.full(
            (width, in_channels, 3, 3), number + 1.0)
        state[f'features.{index}.bias'] = torch.full((width, ), -number - 1.0)
        in_channels = width
    state['classifier.0.weight'] = torch.zeros(4, 4)
    torch.save(state, path)
    return state


def test_output_is_128_channels_at_stride_8():
    model = VGG19CPM()
    with torch.no_grad():
        feats = model(torch.zeros(1, 3, 64, 48))
    assert feats.shape == (1, 128, 8, 6)
    # conv5_3_CPM is followed by a ReLU, as in the CPM hand model
    assert isinstance(model.cpm_features[-1], nn.ReLU)


def test_layer_list_and_parameter_count():
    model = VGG19CPM()
    widths = conv_widths(model)
    assert widths == [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256),
                      (256, 256), (256, 256), (256, 256), (256, 512),
                      (512, 512), (512, 512), (512, 512), (512, 512),
                      (512, 512), (512, 128)]
    # 3x3 conv i -> o has 9io + o parameters:
    # 1792 + 36928 + 73856 + 147584 + 295168 + 3 * 590080 + 1180160
    # + 5 * 2359808 (conv4_2..4_4, conv5_1, conv5_2) + 589952 = 15,894,720
    assert sum(p.numel() for p in model.parameters()) == 15_894_720


def test_width_multiplier_scales_hidden_widths_only():
    model = VGG19CPM(width_multiplier=0.25)
    assert conv_widths(model) == [
        (3, 16), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64), (64, 64),
        (64, 64), (64, 128), (128, 128), (128, 128), (128, 128), (128, 128),
        (128, 128), (128, 128)]
    small = VGG19CPM(width_multiplier=0.125, out_channels=16)
    with torch.no_grad():
        assert small(torch.zeros(2, 3, 32, 32)).shape == (2, 16, 4, 4)


def test_norm_cfg_puts_a_norm_after_every_conv_and_drops_their_biases():
    plain = VGG19CPM(width_multiplier=0.25, out_channels=32)
    model = VGG19CPM(width_multiplier=0.25, out_channels=32,
                     norm_cfg=dict(type='BN'))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(convs) == len(norms) == 15
    assert all(conv.bias is None for conv in convs)
    # Each conv loses its bias (o) and its norm adds a weight and a bias (2o).
    outputs = sum(conv.out_channels for conv in convs)
    assert (sum(p.numel() for p in model.parameters())
            == sum(p.numel() for p in plain.parameters()) + outputs)
    layers = list(model.features)[:3]
    assert [type(layer) for layer in layers] == [nn.Conv2d, nn.BatchNorm2d,
                                                 nn.ReLU]
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 32, 4, 4)
    group = VGG19CPM(width_multiplier=0.25, norm_cfg=dict(type='GN',
                                                           num_groups=8))
    assert sum(isinstance(m, nn.GroupNorm) for m in group.modules()) == 15


def test_built_from_registry():
    model = MODELS.build(dict(type='VGG19CPM', width_multiplier=0.125,
                              out_channels=8))
    assert isinstance(model, VGG19CPM) and model.out_channels == 8


def test_pretrained_loads_conv1_1_to_conv4_4_in_order(tmp_path):
    path = tmp_path / 'vgg19.pth'
    write_torchvision_vgg19(path, width_multiplier=0.125)
    model = VGG19CPM(width_multiplier=0.125, out_channels=16,
                     pretrained=str(path))
    vgg_convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert len(vgg_convs) == 12
    for number, conv in enumerate(vgg_convs):
        assert torch.all(conv.weight == number + 1.0)
        assert torch.all(conv.bias == -number - 1.0)
    # conv5_1 comes after pool4 in VGG-19 but not here: it is not loaded
    conv5_1 = model.cpm_features[0]
    assert not torch.all(conv5_1.weight == 13.0)


def test_pretrained_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        VGG19CPM(pretrained=str(tmp_path / 'missing.pth'))
    path = tmp_path / 'vgg19_wide.pth'
    write_torchvision_vgg19(path, width_multiplier=0.25)
    with pytest.raises(ValueError,
                       match=r"'features.0.weight' has shape \(16, 3, 3, 3\)"):
        VGG19CPM(width_multiplier=0.125, pretrained=str(path))
    few = tmp_path / 'few.pth'
    torch.save({'features.0.weight': torch.zeros(8, 3, 3, 3)}, few)
    with pytest.raises(ValueError, match='at least 12 convolution'):
        VGG19CPM(width_multiplier=0.125, pretrained=str(few))


def test_bad_width_multiplier():
    with pytest.raises(ValueError, match='width_multiplier must be positive'):
        VGG19CPM(width_multiplier=0)
