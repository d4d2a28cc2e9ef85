"""Tests of ResNet34UNet (Bekiri and Babahenini, Section II-A): shapes and
weights."""
import pytest
import torch

from handkit.models.backbones.resnet34_unet import ResNet34UNet


def torchvision_resnet34_shapes():
    """Keys and shapes of torchvision's ``resnet34().state_dict()``."""
    shapes = {'conv1.weight': (64, 3, 7, 7)}

    def bn(prefix, channels):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}.{name}'] = (channels, )
        shapes[f'{prefix}.num_batches_tracked'] = ()

    bn('bn1', 64)
    in_width = 64
    for layer, (blocks, width) in enumerate(
            zip((3, 4, 6, 3), (64, 128, 256, 512)), start=1):
        for block in range(blocks):
            prefix = f'layer{layer}.{block}'
            shapes[f'{prefix}.conv1.weight'] = (width, in_width, 3, 3)
            bn(f'{prefix}.bn1', width)
            shapes[f'{prefix}.conv2.weight'] = (width, width, 3, 3)
            bn(f'{prefix}.bn2', width)
            if block == 0 and layer > 1:
                shapes[f'{prefix}.downsample.0.weight'] = (width, in_width,
                                                           1, 1)
                bn(f'{prefix}.downsample.1', width)
            in_width = width
    shapes['fc.weight'] = (1000, 512)
    shapes['fc.bias'] = (1000, )
    return shapes


def test_output_shapes_small_model():
    model = ResNet34UNet(num_keypoints=21, width_multiplier=0.125,
                         decoder_channels=(32, 16, 8, 8))
    out = model(torch.randn(2, 3, 128, 128))
    assert out['heatmaps'].shape == (2, 21, 128, 128)
    assert [tuple(m.shape) for m in out['intermediate_heatmaps']] == [
        (2, 21, 8, 8), (2, 21, 16, 16), (2, 21, 32, 32), (2, 21, 64, 64)]
    assert [tuple(f.shape) for f in out['features']] == [
        (2, 8, 32, 32), (2, 16, 16, 16), (2, 32, 8, 8), (2, 64, 4, 4)]
    assert [tuple(f.shape) for f in out['decoder_features']] == [
        (2, 4, 8, 8), (2, 2, 16, 16), (2, 1, 32, 32), (2, 1, 64, 64)]


def test_loads_torchvision_state_dict_by_key(tmp_path, write_random_state):
    shapes = torchvision_resnet34_shapes()
    path = tmp_path / 'resnet34.pth'
    state = write_random_state(shapes, path)
    model = ResNet34UNet(pretrained=str(path))
    assert sorted(model.encoder_state_keys()) == sorted(
        k for k in shapes if not k.startswith('fc.'))
    own = model.state_dict()
    for key in ('conv1.weight', 'layer3.5.bn2.running_var',
                'layer4.0.downsample.0.weight'):
        assert torch.equal(own[key], state[key])


def test_pretrained_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='pretrained weights not found'):
        ResNet34UNet(pretrained=str(tmp_path / 'missing.pth'))
    small = ResNet34UNet(width_multiplier=0.25)
    path = tmp_path / 'small.pth'
    torch.save(small.state_dict(), path)
    with pytest.raises(ValueError,
                       match=r'conv1.weight has shape \(16, 3, 7, 7\)'):
        ResNet34UNet(pretrained=str(path))
    partial = {k: v for k, v in small.state_dict().items()
               if not k.startswith('layer4.')}
    torch.save(partial, path)
    with pytest.raises(ValueError, match='lacks .* resnet34 keys'):
        ResNet34UNet(width_multiplier=0.25, pretrained=str(path))


def test_input_size_checked():
    model = ResNet34UNet(width_multiplier=0.125)
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.randn(1, 3, 100, 128))
