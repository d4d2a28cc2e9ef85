"""Tests of the 3D heads: LatentHeatmapHead (Bekiri and Babahenini eq. 1-2),
BoneTreeHead (eq. 3-4) and LocalRegressionHead (Li and Wang)."""
import numpy as np
import pytest
import torch

from handkit.codecs.bone_tree import BoneTree, bones_to_joints
from handkit.models.backbones.resnet34_unet import ResNet34UNet
from handkit.models.estimators.cascade import CascadeEstimator
from handkit.models.heads.bone_tree_head import BoneTreeHead, _max_pool_to
from handkit.models.heads.latent_heatmap_head import (LatentHeatmapHead,
                                                      resample_heatmaps)
from handkit.models.heads.local_regression_head import LocalRegressionHead
from handkit.registry import MODELS


# Final maps 8x8 for a 16x16 input: stride 2.
DECODER_16 = dict(type='IntegralCoordinates', input_size=(16, 16),
                  heatmap_size=(8, 8))


def one_hot_feats():
    """Final maps 8x8 for a 16x16 input (stride 2): joint 0 at (x=5, y=3)."""
    maps = torch.zeros(1, 2, 8, 8)
    maps[0, 0, 3, 5] = 1e4
    maps[0, 1, 0, 7] = 1e4
    return {'maps': maps.requires_grad_(),
            'intermediate': [torch.zeros(1, 2, 4, 4)]}


# -- LatentHeatmapHead ---------------------------------------------------
def test_lhr_one_hot_map_gives_input_pixels():
    head = LatentHeatmapHead(num_keypoints=2, decoder=DECODER_16)
    out = head(one_hot_feats())
    np.testing.assert_allclose(out['coords'][0].detach().numpy(),
                               [[10, 6], [14, 0]], atol=1e-3)
    preds = head.predict(out)
    assert preds['keypoints'].shape == (1, 2, 2)
    np.testing.assert_allclose(preds['scores'], [[1, 1]], atol=1e-5)


def test_lhr_is_differentiable_in_beta_and_maps():
    head = LatentHeatmapHead(num_keypoints=2, decoder=DECODER_16,
                             beta_init=1.0)
    maps = torch.randn(2, 2, 8, 8, requires_grad=True)  # a bare tensor
    head(maps)['coords'].sum().backward()
    assert head.beta.shape == (2, )
    assert head.beta.grad.abs().sum() > 0
    assert maps.grad.abs().sum() > 0


def test_lhr_loss_hand_computed():
    head = LatentHeatmapHead(
        num_keypoints=2, decoder=DECODER_16,
        losses=dict(coord=dict(type='CoordL1Loss', loss_weight=2.0),
                    heatmap=dict(type='HeatmapMSELoss', loss_weight=0.5)))
    out = head(one_hot_feats())  # coords (10, 6) and (14, 0)
    heatmaps = torch.zeros(1, 2, 8, 8)
    heatmaps[0, 0, 2, 4] = 9.0  # area-resampled to 4x4: 1.0 at (x=2, y=1)
    batch = {'targets': {
        'keypoint_coords': torch.tensor([[[11.0, 8.0], [0.0, 0.0]]]),
        'coord_weights': torch.tensor([[1.0, 0.0]]),
        'heatmaps': heatmaps}}
    losses = head.loss(out, batch)
    # (|10-11| + |6-8|) / (1 * 2) = 1.5, times loss_weight 2
    assert losses['loss_coord'].item() == pytest.approx(3.0, abs=1e-3)
    # intermediate map is 0; target has one 1.0 of joint 0 (weight 1):
    # HeatmapMSELoss = 1 / (B * 4 * 4), times 0.5
    assert losses['loss_heatmap'].item() == pytest.approx(0.5 / 16)
    # a term of weight 0 is off, and its target is not read
    head.loss_module.weights['heatmap'] = 0.0
    del batch['targets']['heatmaps']
    assert set(head.loss(out, batch)) == {'loss_coord'}


def test_resample_heatmaps_keeps_the_map_coordinate_convention():
    target = torch.zeros(1, 1, 16, 16)
    target[0, 0, 6, 4] = 1.0  # input px (4, 6) -> 8x8 map coordinate (2, 3)
    small = resample_heatmaps(target, (8, 8))
    assert small.shape == (1, 1, 8, 8)
    assert small[0, 0, 3, 2].item() == pytest.approx(1 / 9)
    assert small.sum().item() == pytest.approx(1 / 9)
    assert torch.equal(resample_heatmaps(target, (16, 16)), target)
    with pytest.raises(ValueError, match='not an integer multiple'):
        resample_heatmaps(target, (6, 6))


def test_lhr_missing_target_and_bad_maps_raise():
    head = LatentHeatmapHead(num_keypoints=2, decoder=DECODER_16)
    out = head(one_hot_feats())
    with pytest.raises(ValueError,
                       match=r"needs batch\['targets'\]\['heatmaps'\]"):
        head.loss(out, {'targets': {
            'keypoint_coords': torch.zeros(1, 2, 2),
            'coord_weights': torch.ones(1, 2)}})
    with pytest.raises(ValueError, match=r'final maps must be \(B, 2, h, w\)'):
        head({'maps': torch.zeros(1, 3, 8, 8)})
    with pytest.raises(ValueError, match=r"a dict with 'maps'.*got a dict of "
                       r"\['heatmaps'\]"):
        head({'heatmaps': torch.zeros(1, 2, 8, 8)})
    # the decoder states the maps' size: other maps would decode to the
    # wrong pixels
    with pytest.raises(ValueError, match=r'final maps are \(4, 4\) \(w, h\) '
                       r'but the decoder .* has heatmap_size \(8.0, 8.0\)'):
        head({'maps': torch.zeros(1, 2, 4, 4)})
    with pytest.raises(ValueError, match='the decoder must be an '
                       'IntegralCoordinates codec'):
        LatentHeatmapHead(decoder=dict(type='KeypointConfidenceMap'))
    with pytest.raises(ValueError, match="LatentHeatmapHead: unknown loss "
                       "'bones' in losses"):
        LatentHeatmapHead(losses=dict(bones=dict(type='BoneL2Loss')))


# -- BoneTreeHead --------------------------------------------------------
def small_unet_feats():
    """What the estimator's head_features of configs/_base_/models/
    resunet34.py select for the two heads."""
    backbone = ResNet34UNet(width_multiplier=0.125)
    out = backbone(torch.randn(2, 3, 128, 128))
    return ({'maps': out['heatmaps'],
             'intermediate': out['intermediate_heatmaps']},
            {'maps': out['decoder_features'][-1],
             'encoder': out['features'][-1]})


def test_bone_tree_head_shapes_and_tree_sum():
    lhr_feats, feats = small_unet_feats()
    lhr = LatentHeatmapHead()
    prior = lhr.prior_maps(lhr(lhr_feats))
    assert prior.shape == (2, 21, 128, 128)
    head = BoneTreeHead(in_channels=8, feature_channels=64, prior_channels=21,
                        conv_channels=(8, 8, 8, 8), hidden=(32, ))
    out = head(feats, prior)
    assert out['bones'].shape == (2, 20, 3)
    assert out['keypoints_3d'].shape == (2, 21, 3)
    torch.testing.assert_close(out['keypoints_3d'],
                               bones_to_joints(out['bones']))
    assert torch.all(out['keypoints_3d'][:, 0] == 0)  # root-relative wrist
    preds = head.predict(out)
    assert isinstance(preds['keypoints_3d'], np.ndarray)
    assert preds['keypoints_3d'].shape == (2, 21, 3)


def test_bone_tree_head_loss_is_eq4_against_encoded_bones():
    head = BoneTreeHead(in_channels=8, feature_channels=64,
                        conv_channels=(8, 8, 8, 8), loss_weight=3.0)
    joints = np.random.default_rng(0).normal(0, 40, (21, 3))
    bones = torch.from_numpy(BoneTree().encode(joints)['bones'])[None]
    outputs = {'bones': bones + torch.tensor([1.0, 0.0, 0.0])}
    losses = head.loss(outputs, {'targets': {'bones': bones}})
    # every bone off by 1 in x: 3 * 0.5 * 20 * 1
    assert losses['loss_bones'].item() == pytest.approx(30.0)


def test_bone_tree_head_checks_prior_and_sizes():
    lhr_feats, feats = small_unet_feats()
    head = BoneTreeHead(in_channels=8, feature_channels=64,
                        conv_channels=(8, 8, 8, 8))
    assert head(feats)['bones'].shape == (2, 20, 3)  # no prior
    with pytest.raises(ValueError, match='prior_channels=0 got a prior'):
        head(feats, lhr_feats['maps'])
    with pytest.raises(ValueError, match="needs feats 'maps' and 'encoder', "
                       "got \\['intermediate', 'maps'\\]"):
        head(lhr_feats)
    shallow = BoneTreeHead(in_channels=8, feature_channels=64,
                           conv_channels=(8, 8))
    with pytest.raises(ValueError, match=r'3D features are \(16, 16\)'):
        shallow(feats)
    with pytest.raises(ValueError, match='num_bones must be 20'):
        BoneTreeHead(num_bones=21)


def test_resunet_cascade_trains_and_predicts():
    model = CascadeEstimator(
        backbone=dict(type='ResNet34UNet', width_multiplier=0.125),
        head_features=dict(
            keypoints2d=dict(maps='heatmaps',
                             intermediate='intermediate_heatmaps'),
            bones=dict(maps=('decoder_features', -1),
                       encoder=('features', -1))),
        heads=dict(keypoints2d=dict(type='LatentHeatmapHead'),
                   bones=dict(type='BoneTreeHead', in_channels=8,
                              feature_channels=64, conv_channels=(8, 8, 8, 8),
                              hidden=(16, ))))
    assert model.heads[1].prior_channels == 21
    batch = {'targets': {
        'keypoint_coords': torch.rand(2, 21, 2) * 127,
        'coord_weights': torch.ones(2, 21),
        'heatmaps': torch.rand(2, 21, 128, 128),
        'bones': torch.randn(2, 20, 3)}, 'metas': [{}, {}]}
    losses = model(torch.randn(2, 3, 128, 128), batch, mode='loss')
    assert set(losses) == {'loss_coord', 'loss_heatmap', 'loss_bones'}
    results = model(torch.randn(2, 3, 128, 128), batch, mode='predict')
    assert results[0]['pred_keypoints'].shape == (21, 2)


# -- LocalRegressionHead -------------------------------------------------
def test_local_regression_head_shapes_and_registry():
    head = MODELS.build(dict(type='LocalRegressionHead', in_channels=4,
                             num_joints=14, feature_size=(8, 8),
                             patch_grid=(2, 2), patch_dim=5, hidden=16))
    out = head(torch.randn(3, 4, 8, 8))
    assert out['local_features'].shape == (3, 4, 5)
    assert out['joints_cube'].shape == (3, 14, 3)


def test_each_patch_has_its_own_fc():
    head = LocalRegressionHead(in_channels=2, num_joints=3,
                               feature_size=(4, 6), patch_grid=(2, 3),
                               patch_dim=4, hidden=8)
    feats = torch.randn(1, 2, 4, 6)
    changed = feats.clone()
    changed[0, :, 2:4, 2:4] += 5.0  # patch row 1, column 1 -> p = 4
    before = head(feats)['local_features'][0]
    after = head(changed)['local_features'][0]
    differs = (before != after).any(dim=1)
    assert differs.tolist() == [False, False, False, False, True, False]
    # one FC per patch: patch 0 alone, by hand
    patch0 = feats[0, :, :2, :2].reshape(-1)
    expected = torch.relu(patch0 @ head.patch_weight[0] + head.patch_bias[0])
    torch.testing.assert_close(before[0], expected)


def test_local_regression_loss_and_predict_to_mm():
    head = LocalRegressionHead(in_channels=2, num_joints=2,
                               feature_size=(4, 4), patch_grid=(2, 2),
                               patch_dim=3, hidden=8, loss_weight=0.5)
    joints_cube = torch.tensor([[[0.5, -1.0, 0.0], [0.0, 0.0, 1.0]]])
    target = torch.zeros(1, 2, 3)
    losses = head.loss({'joints_cube': joints_cube},
                       {'targets': {'joints_cube': target}})
    # worst smooth L1 is |-1| -> 0.5, times 3J = 6, times 0.5
    assert losses['loss_joints'].item() == pytest.approx(1.5)
    preds = head.predict({'joints_cube': joints_cube}, {'metas': [
        {'cube_center': np.array([10.0, 20.0, 500.0]), 'cube_size': 300.0}]})
    np.testing.assert_allclose(preds['keypoints_3d'][0],
                               [[85, -130, 500], [10, 20, 650]], atol=1e-4)
    with pytest.raises(ValueError, match=r"metas\[0\] has no 'cube_size'"):
        head.predict({'joints_cube': joints_cube},
                     {'metas': [{'cube_center': np.zeros(3)}]})
    with pytest.raises(ValueError, match=r'features must be \(B, 2, 4, 4\)'):
        head(torch.randn(1, 2, 8, 8))


def test_lhr_prior_fusion_starts_as_identity_and_learns():
    head = LatentHeatmapHead(num_keypoints=2, decoder=DECODER_16,
                             prior_channels=3, fusion_channels=4)
    feats = one_hot_feats()
    plain = LatentHeatmapHead(num_keypoints=2, decoder=DECODER_16)(feats)
    prior = torch.randn(1, 3, 4, 4, requires_grad=True)
    fused = head(feats, prior)
    # zero-initialised last conv: the untrained fusion changes nothing
    torch.testing.assert_close(fused['heatmaps'], plain['heatmaps'])
    smooth = torch.randn(1, 2, 8, 8)  # non-saturated softmax
    head(smooth, prior)['coords'].sum().backward()
    assert head.prior_fusion[-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='prior_channels=3 got no prior'):
        head(feats)
    with pytest.raises(ValueError, match=r'the prior must be \(B, 3, h, w\)'):
        head(feats, torch.zeros(1, 2, 4, 4))


def test_bone_tree_pooling_is_adaptive_max_pooling():
    maps = torch.randn(2, 3, 8, 12)
    for size in ((4, 6), (2, 3), (3, 5)):  # (3, 5): not a divisor
        torch.testing.assert_close(
            _max_pool_to(maps, size),
            torch.nn.functional.adaptive_max_pool2d(maps, size))
