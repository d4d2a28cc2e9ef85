"""DetNet (Zhou et al., CVPR 2020, Section 4.1): the dilated ResNet-50
trunk, the cascade of heatmap, delta-map and location-map heads at the
paper's 128 x 128 input, their losses on hand-computed cases and their
errors."""
import numpy as np
import pytest
import torch

from handkit.models.backbones import DilatedResNet
from handkit.models.heads import (DeltaMapHead, DetNetHeatmapHead,
                                  LocationMapHead)
from handkit.models.losses import MaskedMapL2Loss
from handkit.registry import MODELS


def torchvision_resnet50_shapes():
    """Keys and shapes of torchvision's ``resnet50().state_dict()`` up to
    layer3 (what DilatedResNet loads), plus a layer4 and fc key."""
    shapes = {'conv1.weight': (64, 3, 7, 7)}

    def bn(prefix, channels):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}.{name}'] = (channels, )
        shapes[f'{prefix}.num_batches_tracked'] = ()

    bn('bn1', 64)
    in_width = 64
    for layer, (blocks, width) in enumerate(
            zip((3, 4, 6), (256, 512, 1024)), start=1):
        mid = width // 4
        for block in range(blocks):
            prefix = f'layer{layer}.{block}'
            shapes[f'{prefix}.conv1.weight'] = (mid, in_width, 1, 1)
            bn(f'{prefix}.bn1', mid)
            shapes[f'{prefix}.conv2.weight'] = (mid, mid, 3, 3)
            bn(f'{prefix}.bn2', mid)
            shapes[f'{prefix}.conv3.weight'] = (width, mid, 1, 1)
            bn(f'{prefix}.bn3', width)
            if block == 0:
                shapes[f'{prefix}.downsample.0.weight'] = (width, in_width,
                                                           1, 1)
                bn(f'{prefix}.downsample.1', width)
            in_width = width
    shapes['layer4.0.conv1.weight'] = (512, 1024, 1, 1)
    shapes['fc.weight'] = (1000, 2048)
    return shapes


def test_trunk_gives_the_32x32x256_feature_volume_at_128_input():
    trunk = DilatedResNet().eval()
    with torch.no_grad():
        features = trunk(torch.randn(1, 3, 128, 128))
    assert features.shape == (1, 256, 32, 32)
    # stages 2 and 3 are dilated, not strided
    assert trunk.layer2[0].conv2.dilation == (2, 2)
    assert trunk.layer3[5].conv2.dilation == (4, 4)
    assert trunk.layer3[0].conv2.stride == (1, 1)
    small = DilatedResNet(stage_blocks=(1, 1, 1), width_multiplier=0.125,
                          out_channels=32)
    assert small(torch.randn(2, 3, 128, 128)).shape == (2, 32, 32, 32)


def test_trunk_loads_torchvision_resnet50_by_key(tmp_path,
                                                 write_random_state):
    shapes = torchvision_resnet50_shapes()
    path = tmp_path / 'resnet50.pth'
    state = write_random_state(shapes, path)
    trunk = DilatedResNet(pretrained=str(path))
    assert sorted(trunk.encoder_state_keys()) == sorted(
        key for key in shapes if key.startswith(('conv1', 'bn1', 'layer1',
                                                 'layer2', 'layer3')))
    own = trunk.state_dict()
    for key in ('conv1.weight', 'layer3.5.bn3.running_var',
                'layer2.0.downsample.0.weight'):
        assert torch.equal(own[key], state[key])
    with pytest.raises(ValueError, match=r'conv1.weight has shape '
                       r'\(64, 3, 7, 7\), the model expects \(8, 3, 7, 7\)'):
        DilatedResNet(width_multiplier=0.125, pretrained=str(path))
    with pytest.raises(FileNotFoundError, match='pretrained weights not '
                       'found'):
        DilatedResNet(pretrained=str(tmp_path / 'missing.pth'))


def test_trunk_arguments_are_checked():
    with pytest.raises(ValueError, match='stage_blocks needs 3 entries'):
        DilatedResNet(stage_blocks=(3, 4, 6, 3))
    with pytest.raises(ValueError, match='multiples of 4'):
        DilatedResNet(width_multiplier=0.125)(torch.randn(1, 3, 126, 128))


def detnet(features=256, hidden=256):
    return MODELS.build(dict(
        type='CascadeEstimator',
        data_preprocessor=dict(type='HandDataPreprocessor'),
        backbone=dict(type='DilatedResNet', out_channels=features,
                      **({} if features == 256 else dict(
                          stage_blocks=(1, 1, 1), width_multiplier=0.125))),
        heads=dict(
            heatmaps=dict(type='DetNetHeatmapHead', in_channels=features,
                          hidden_channels=hidden),
            deltas=dict(type='DeltaMapHead', in_channels=features,
                        hidden_channels=hidden),
            locations=dict(type='LocationMapHead', in_channels=features,
                           hidden_channels=hidden))))


def test_cascade_shapes_at_the_paper_input_size():
    model = detnet().eval()
    with torch.no_grad():
        heatmaps, deltas, locations = model(torch.randn(1, 3, 128, 128))
    assert heatmaps['heatmaps'].shape == (1, 21, 32, 32)
    assert deltas['delta_maps'].shape == (1, 21, 3, 32, 32)
    assert locations['location_maps'].shape == (1, 21, 3, 32, 32)
    # the location head receives H and D: 21 + 63 prior channels
    assert model.heads[2].prior_channels == 84
    assert torch.equal(locations['heatmaps_in'], heatmaps['heatmaps'])


def test_predictions_read_the_location_maps_at_the_heatmap_peaks():
    head = LocationMapHead(in_channels=8, hidden_channels=8,
                           prior_channels=21, reference_bone_mm=80.0)
    heatmaps = torch.zeros(2, 21, 32, 32)
    heatmaps[:, :, 3, 4] = 1.0
    heatmaps[1, 5, 20, 10] = 2.0
    location_maps = torch.zeros(2, 21, 3, 32, 32)
    location_maps[:, :, :, 3, 4] = torch.tensor([0.5, -1.0, 0.25])
    location_maps[1, 5, :, 20, 10] = torch.tensor([1.0, 2.0, 3.0])
    prediction = head.predict(dict(location_maps=location_maps,
                                   heatmaps_in=heatmaps))
    np.testing.assert_allclose(prediction['keypoints_3d_normalized'][0, 0],
                               [0.5, -1.0, 0.25])
    np.testing.assert_allclose(prediction['keypoints_3d_normalized'][1, 5],
                               [1.0, 2.0, 3.0])
    # mm: the read-out times the reference bone (80 mm)
    np.testing.assert_allclose(prediction['keypoints_3d'][1, 5],
                               [80.0, 160.0, 240.0])


def test_estimator_predicts_2d_and_3d_per_sample():
    model = detnet(features=16, hidden=16).eval()
    with torch.no_grad():
        predictions = model(torch.randn(2, 3, 128, 128), mode='predict')
    assert predictions[0]['pred_keypoints'].shape == (21, 2)
    assert predictions[0]['pred_keypoints_3d'].shape == (21, 3)
    assert predictions[0]['pred_keypoints_3d_normalized'].shape == (21, 3)
    # maps only when asked for
    assert 'location_maps' not in predictions[0]
    with torch.no_grad():
        with_maps = model(torch.randn(1, 3, 128, 128), mode='predict',
                          output_maps=True)
    assert with_maps[0]['delta_maps'].shape == (21, 3, 32, 32)


def test_location_head_also_follows_the_heatmap_head_directly():
    model = MODELS.build(dict(
        type='CascadeEstimator',
        backbone=dict(type='DilatedResNet', out_channels=16,
                      stage_blocks=(1, 1, 1), width_multiplier=0.125),
        heads=dict(heatmaps=dict(type='DetNetHeatmapHead', in_channels=16,
                                 hidden_channels=8),
                   locations=dict(type='LocationMapHead', in_channels=16,
                                  hidden_channels=8))))
    assert model.heads[1].prior_channels == 21
    outputs = model(torch.randn(1, 3, 64, 64))
    assert outputs[1]['location_maps'].shape == (1, 21, 3, 16, 16)


def test_untrained_heads_start_near_zero():
    heatmaps = DetNetHeatmapHead(in_channels=16, hidden_channels=16)(
        torch.randn(2, 16, 32, 32))['heatmaps']
    assert heatmaps.abs().max() < 0.05


def test_map_losses_hand_computed():
    loss = MaskedMapL2Loss()
    pred = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # (1, 1, 2, 2)
    # L_heat: squares summed over the map: 1 + 4 + 9 + 16
    assert loss(pred, torch.zeros(1, 1, 2, 2)).item() == pytest.approx(30.0)
    # the mask multiplies the difference before squaring: (1 * 1)^2 +
    # (3 * 0.5)^2
    mask = torch.tensor([[[[1.0, 0.0], [0.5, 0.0]]]])
    assert loss(pred, torch.zeros(1, 1, 2, 2), mask).item() == pytest.approx(
        3.25)
    # L_loc: (B, K, 3) targets broadcast over the grid; sample 0 pixel 0
    # (mask 1): 1 + 4 + 4, pixel 1 (mask 0.5): 0.25 * 9; sample 1 zero;
    # averaged over the batch of 2
    maps = torch.zeros(2, 1, 3, 1, 2)
    target = torch.tensor([[[1.0, 2.0, 2.0]], [[0.0, 0.0, 0.0]]])
    mask = torch.tensor([[[[1.0, 0.5]]], [[[1.0, 1.0]]]])
    assert loss(maps, target, mask).item() == pytest.approx(11.25 / 2)
    # joint weights drop a joint
    weights = torch.tensor([[0.0], [1.0]])
    assert loss(maps, target, mask, weights).item() == 0.0


def test_map_loss_errors_name_the_shapes():
    loss = MaskedMapL2Loss()
    with pytest.raises(ValueError, match=r'target must be \(1, 21, 3, 8, 8\) '
                       r'or \(1, 21, 3\)'):
        loss(torch.zeros(1, 21, 3, 8, 8), torch.zeros(1, 21, 2))
    with pytest.raises(ValueError, match=r'mask must be \(1, 21, 8, 8\)'):
        loss(torch.zeros(1, 21, 3, 8, 8), torch.zeros(1, 21, 3),
             torch.zeros(1, 21, 4, 4))


def test_head_losses_need_their_targets():
    head = LocationMapHead(in_channels=8, hidden_channels=8,
                           prior_channels=84)
    outputs = head(torch.randn(1, 8, 8, 8), torch.randn(1, 84, 8, 8))
    batch = dict(targets=dict(heatmaps=torch.zeros(1, 21, 8, 8),
                              keypoint_weights=torch.ones(1, 21)))
    with pytest.raises(ValueError, match=r"LocationMapHead.loss needs "
                       r"batch\['targets'\]\['locations'\] \(L_loc\)"):
        head.loss(outputs, batch)
    batch['targets']['locations'] = torch.zeros(1, 21, 3)
    assert set(head.loss(outputs, batch)) == {'loss_location'}
    delta = DeltaMapHead(in_channels=8, hidden_channels=8)
    with pytest.raises(ValueError, match=r"batch\['targets'\]\['deltas'\]"):
        delta.loss(delta(torch.randn(1, 8, 8, 8), torch.randn(1, 21, 8, 8)),
                   batch)
    with pytest.raises(ValueError, match='needs the 21 heatmaps'):
        DeltaMapHead(prior_channels=7)


def test_paper_detnet_has_their_coordinate_channels_and_size():
    # minimal-hand network.py:131-150: two channels, linspace(-1, 1) along
    # x (width) and y (height), concatenated to F before the detectors; the
    # official DetNet has 12,967,635 parameters
    from mmengine import Config
    from mmengine.registry import init_default_scope
    init_default_scope('handkit')
    for name in ('detnet_rhd.py', 'detnet_stb.py'):
        cfg = Config.fromfile(f'configs/zhou/{name}')
        model = MODELS.build(cfg.model)
        assert sum(p.numel() for p in model.parameters()) == 12_967_635
    head = DetNetHeatmapHead(in_channels=4, hidden_channels=8)
    assert head.layers[0].in_channels == 6
    from handkit.models.heads.detnet_detector import coordinate_channels
    coords = coordinate_channels(torch.zeros(2, 4, 3, 5))
    assert coords.shape == (2, 2, 3, 5)
    np.testing.assert_allclose(coords[1, 0, 2], np.linspace(-1, 1, 5))
    np.testing.assert_allclose(coords[0, 1, :, 4], np.linspace(-1, 1, 3))
    # handkit's former heads read F alone
    plain = DetNetHeatmapHead(in_channels=4, hidden_channels=8,
                              coord_channels=False)
    assert plain.layers[0].in_channels == 4


def test_paper_detnet_is_a_left_hand_model_with_right_hands_mirrored():
    # minimal-hand: the model is for left hands, right hands are flipped at
    # the input (README.md; config.py:4); handkit: TopdownAffine mirrors
    # the crop and the 3D labels of a right hand, the estimator mirrors the
    # 3D prediction back
    from mmengine import Config
    from mmengine.registry import init_default_scope
    from handkit.registry import TRANSFORMS
    init_default_scope('handkit')
    cfg = Config.fromfile('configs/zhou/detnet_rhd.py')
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        assert loader.dataset.pipeline.warp.mirror_side == 'right'
    warp = TRANSFORMS.build(cfg.test_dataloader.dataset.pipeline.warp)
    image = np.zeros((60, 80, 3), np.uint8)
    image[10:20, 5:15] = 255  # a bright square left of the centre
    points = np.array([[10.0, 15.0], [50.0, 30.0]])
    xyz = np.array([[-30.0, 5.0, 500.0], [20.0, -5.0, 520.0]])

    def sample(side):
        return dict(img=image.copy(), keypoints=points.copy(),
                    keypoints_3d=xyz.copy(), hand_side=side,
                    bbox_center=np.array([40.0, 30.0], np.float32),
                    bbox_size=60.0)

    left, right = warp(sample('left')), warp(sample('right'))
    assert 'hand_mirrored' not in left
    assert right['hand_mirrored'] and right['hand_side'] == 'left'
    np.testing.assert_array_equal(right['img'], left['img'][:, ::-1])
    np.testing.assert_allclose(right['keypoints_3d'][:, 0], -xyz[:, 0])
    np.testing.assert_allclose(
        right['transformed_keypoints'][:, 0],
        127 - left['transformed_keypoints'][:, 0], atol=1e-4)
    # the prediction comes back in the image's frame
    model = MODELS.build(cfg.model)
    meta = dict(hand_mirrored=True, keypoints_3d=right['keypoints_3d'],
                warp_mat=right['warp_mat'])
    [result] = model._format_predictions(
        {'keypoints_3d': right['keypoints_3d'][None],
         'keypoints': right['transformed_keypoints'][None],
         'scores': np.ones((1, 2))}, dict(metas=[meta]), 1, False)
    np.testing.assert_allclose(result['pred_keypoints_3d'], xyz)
    np.testing.assert_allclose(result['gt_keypoints_3d'], xyz)
    np.testing.assert_allclose(result['pred_keypoints'], points, atol=1e-3)
