"""Cai et al. (ECCV 2018): the normalised 3D codec, the depth target, the
per-sample losses, the regression head and its training-only depth
regulariser, the weakly-labelled subset, handkit's depth anchor for runs
without 3D labels and the missing-depth errors."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.codecs.depth_lifted_keypoints import DepthLiftedKeypoints
from handkit.codecs.normalized_depth_map import NormalizedDepthMap
from handkit.codecs.normalized_pose3d import NormalizedPose3D
from handkit.codecs.root_relative_2d import RootRelative2D
from handkit.datasets.base import AnnotationError
from handkit.datasets.transforms.weak_labels import (SubsetLabels3D,
                                                     keeps_3d_label)
from handkit.engine.preflight import check_labels, preflight
from handkit.models.heads.depth_regularizer import DepthRegularizer
from handkit.models.heads.pose3d_regression_head import Pose3DRegressionHead
from handkit.models.losses.sample_weighted import (DepthL1Loss, JointL2Loss,
                                                   ScaleAlignedXYLoss,
                                                   ScaleShiftAlignedLoss,
                                                   UnitBoneLoss)
from handkit.registry import DATASETS, MODELS, TRANSFORMS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def load(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    init_default_scope('handkit')
    return cfg


def random_hand(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-80, 80, (21, 3)) + [0.0, 0.0, 600.0]


def test_normalized_pose3d_round_trip_and_unit():
    codec = NormalizedPose3D()
    hand = random_hand()
    encoded = codec.encode(hand)
    bone = np.linalg.norm(hand[10] - hand[9])
    np.testing.assert_allclose(encoded['joints_3d'][4],
                               (hand[4] - hand[0]) / bone, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(
        encoded['joints_3d'][10] - encoded['joints_3d'][9]), 1.0, rtol=1e-5)
    assert encoded['joints_3d'].dtype == np.float32
    np.testing.assert_array_equal(encoded['joints_3d_weight'], [1.0])
    np.testing.assert_allclose(codec.decode(encoded['joints_3d'], bone),
                               hand - hand[0], atol=1e-3)


def test_normalized_pose3d_rejects_a_degenerate_bone():
    hand = random_hand()
    hand[10] = hand[9]
    with pytest.raises(ValueError, match=r'reference bone \(9, 10\) has '
                       'length 0'):
        NormalizedPose3D().encode(hand)


def test_normalized_depth_map_by_hand():
    codec = NormalizedDepthMap(output_size=(2, 2), depth_range_mm=300.0)
    # Valid pixels 500, 530, 800 mm: median 530; (d - 530) / 150.
    depth = np.array([[500.0, 530.0], [800.0, 0.0]], np.float32)
    encoded = codec.encode(depth)
    np.testing.assert_allclose(encoded['depth_map'],
                               [[-0.2, 0.0], [1.0, 1.0]], atol=1e-6)
    np.testing.assert_array_equal(encoded['depth_weight'], [1.0])
    empty = codec.encode(np.zeros((4, 4), np.float32))
    np.testing.assert_array_equal(empty['depth_map'], np.ones((2, 2)))
    np.testing.assert_array_equal(empty['depth_weight'], [0.0])


def test_joint_l2_ignores_the_unlabelled_samples():
    pred = torch.zeros(3, 21, 3)
    target = torch.stack([torch.ones(21, 3), torch.full((21, 3), 2.0),
                          torch.full((21, 3), 3.0)])
    weights = torch.tensor([[1.0], [0.0], [1.0]])
    # (63 x 1 + 63 x 9) / 2 labelled samples; the 2s are not seen.
    assert float(JointL2Loss()(pred, target, weights)) == pytest.approx(315)
    pred.requires_grad_(True)
    loss = JointL2Loss()(pred, target, torch.zeros(3, 1))
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert float(pred.grad.abs().sum()) == 0.0


def test_depth_l1_by_hand():
    pred = torch.zeros(2, 2, 2)
    target = torch.tensor([[[1.0, -1.0], [0.5, 0.5]],
                           [[9.0, 9.0], [9.0, 9.0]]])
    # sample 0: mean |.| = 0.75; sample 1 has no depth (weight 0)
    assert float(DepthL1Loss()(pred, target, torch.tensor([1.0, 0.0]))
                 ) == pytest.approx(0.75)


def test_root_relative_2d_by_hand():
    keypoints = np.zeros((21, 2))
    keypoints[0] = [64.0, 96.0]
    keypoints[5] = [96.0, 32.0]
    visible = np.ones(21)
    visible[7] = 0
    encoded = RootRelative2D(input_size=(128, 128)).encode(keypoints,
                                                           visible)
    np.testing.assert_allclose(encoded['keypoints_2d_rel'][5], [0.25, -0.5])
    assert encoded['keypoints_2d_weight'][7] == 0.0
    visible[0] = 0  # no root: no offset is known
    assert RootRelative2D().encode(keypoints, visible)[
        'keypoints_2d_weight'].sum() == 0


def test_scale_aligned_xy_loss_by_hand():
    target = torch.zeros(1, 21, 2)
    target[0, 1] = torch.tensor([0.2, 0.0])
    target[0, 2] = torch.tensor([0.0, 0.4])
    weights = torch.ones(1, 21)
    pred = torch.zeros(1, 21, 3)
    pred[0, 1, :2] = torch.tensor([2.0, 0.0])  # 10 x the target, any z
    pred[0, 2] = torch.tensor([0.0, 4.0, 7.0])
    loss = ScaleAlignedXYLoss()
    assert float(loss(pred, target, weights)) == pytest.approx(0, abs=1e-9)
    # mirrored x-y: the best scale is negative, clamped to 0: sum |q|^2
    assert float(loss(-pred, target, weights)) == pytest.approx(0.2)
    # joint 2 unweighted: only joint 1 counts, which fits
    bent = pred.clone()
    bent[0, 2, :2] = torch.tensor([4.0, 0.0])
    weights[0, 2] = 0
    assert float(loss(bent, target, weights)) == pytest.approx(0, abs=1e-9)


def forward_without_3d_label(head):
    """A small head's outputs on one random sample, and that sample's
    targets without a 3D label (the depth map only)."""
    outputs = head(torch.randn(1, 8, 16, 16), torch.rand(1, 21, 16, 16))
    batch = dict(targets=dict(
        joints_3d=torch.zeros(1, 21, 3), joints_3d_weight=torch.zeros(1, 1),
        depth_map=torch.rand(1, 16, 16), depth_weight=torch.ones(1, 1)))
    return outputs, batch


def test_head_adds_the_xy_anchor_only_when_weighted():
    head = small_head(losses=weighted_losses(xy=10.0))
    outputs, batch = forward_without_3d_label(head)
    with pytest.raises(ValueError, match=r"needs batch\['targets'\]"
                       r"\['keypoints_2d_rel'\] \(the x-y anchor\)"):
        head.loss(outputs, batch)
    batch['targets'].update(keypoints_2d_rel=torch.rand(1, 21, 2),
                            keypoints_2d_weight=torch.ones(1, 21))
    assert set(head.loss(outputs, batch)) == {'loss_pose3d', 'loss_depth',
                                              'loss_xy'}
    assert 'loss_xy' not in small_head().loss(outputs, batch)


def weighted_losses(**weights):
    """Pose3DRegressionHead's ``losses``: ``pose3d`` and ``depth`` at 1
    and the anchors named in ``weights`` at their weight."""
    types = dict(pose3d='JointL2Loss', depth='DepthL1Loss',
                 xy='ScaleAlignedXYLoss', lift='ScaleShiftAlignedLoss',
                 unit='UnitBoneLoss')
    weights = dict(dict(pose3d=1.0, depth=1.0), **weights)
    return {name: dict(type=types[name], loss_weight=weight)
            for name, weight in weights.items()}


def small_head(**kwargs):
    torch.manual_seed(0)
    return Pose3DRegressionHead(**dict(dict(
        in_channels=8, map_size=(16, 16), prior_channels=21,
        conv_channels=8, fc_channels=32,
        depth_regularizer=dict(type='DepthRegularizer', hidden_channels=32,
                               base_channels=16, output_size=(16, 16))),
        **kwargs))


def test_depth_regularizer_gradient_reaches_joints_and_regression():
    head = small_head()
    feats, heatmaps = torch.randn(2, 8, 16, 16), torch.rand(2, 21, 16, 16)
    outputs = head(feats, heatmaps)
    outputs['joints_3d_normalized'].retain_grad()
    batch = dict(targets=dict(
        joints_3d=torch.zeros(2, 21, 3),
        joints_3d_weight=torch.zeros(2, 1),  # no 3D label at all
        depth_map=torch.rand(2, 16, 16), depth_weight=torch.ones(2, 1)))
    losses = head.loss(outputs, batch)
    assert float(losses['loss_pose3d'].detach()) == 0.0
    losses['loss_depth'].backward()
    assert float(outputs['joints_3d_normalized'].grad.abs().sum()) > 0
    assert float(head.fc[0].weight.grad.abs().sum()) > 0
    assert float(head.convs[0][0].weight.grad.abs().sum()) > 0


def test_frozen_regularizer_passes_gradient_but_does_not_train():
    regularizer = DepthRegularizer(hidden_channels=16, base_channels=16,
                                   output_size=(8, 8), frozen=True).train()
    assert not regularizer.training
    assert not any(p.requires_grad for p in regularizer.parameters())
    joints = torch.randn(2, 21, 3, requires_grad=True)
    regularizer(joints).sum().backward()
    assert float(joints.grad.abs().sum()) > 0


def test_regularizer_runs_in_the_loss_only():
    head = small_head()
    calls = []
    head.depth_regularizer.register_forward_hook(
        lambda *args: calls.append(1))
    outputs = head(torch.randn(1, 8, 16, 16), torch.rand(1, 21, 16, 16))
    predictions = head.predict(outputs)
    assert calls == []
    assert set(head.predict_tensors(outputs)) == {'joints_3d_normalized'}
    assert predictions['keypoints_3d'].shape == (1, 21, 3)
    np.testing.assert_allclose(
        predictions['keypoints_3d'],
        predictions['keypoints_3d_normalized'] * 43.5, rtol=1e-5)


def test_depth_regularizer_output_size_and_bad_sizes():
    regularizer = DepthRegularizer(hidden_channels=16, base_channels=32,
                                   output_size=(32, 32))
    assert tuple(regularizer(torch.zeros(3, 21, 3)).shape) == (3, 32, 32)
    with pytest.raises(ValueError, match='4 x a power of two'):
        DepthRegularizer(output_size=(24, 24))


def test_paper_model_shapes_at_256():
    cfg = load('cai/cai_stb.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        heatmaps, pose = model(torch.randn(1, 3, 256, 256), mode='tensor')
    assert len(heatmaps) == 6
    assert tuple(heatmaps[-1].shape) == (1, 21, 32, 32)
    assert tuple(pose['joints_3d_normalized'].shape) == (1, 21, 3)
    generated = model.heads[1].depth_regularizer(
        pose['joints_3d_normalized'])
    assert tuple(generated.shape) == (1, 64, 64)


def test_subset_labels_3d_fraction_and_determinism():
    kept = np.array([keeps_3d_label(0, index, 0.1)
                     for index in range(8000)])
    assert abs(kept.sum() - 800) < 3 * 27  # binomial sd sqrt(8000 .1 .9)
    again = np.array([keeps_3d_label(0, index, 0.1)
                      for index in range(8000)])
    np.testing.assert_array_equal(kept, again)
    other_seed = np.array([keeps_3d_label(1, index, 0.1)
                           for index in range(8000)])
    assert (kept != other_seed).any()
    assert not any(keeps_3d_label(0, index, 0.0) for index in range(100))
    assert all(keeps_3d_label(0, index, 1.0) for index in range(100))


def test_subset_labels_3d_sets_the_weight_and_names_what_is_missing():
    transform = TRANSFORMS.build(dict(type='SubsetLabels3D', fraction=0.5,
                                      seed=3))
    for index in range(20):
        results = transform(dict(sample_idx=index, targets=dict(
            joints_3d_weight=np.ones(1, np.float32))))
        assert results['targets']['joints_3d_weight'][0] == float(
            keeps_3d_label(3, index, 0.5))
    with pytest.raises(KeyError, match='run GenerateTargets with the '
                       'NormalizedPose3D codec first'):
        transform(dict(sample_idx=0, img_path='a.png'))
    with pytest.raises(ValueError, match=r'fraction must be in \[0, 1\]'):
        SubsetLabels3D(fraction=1.5)


def test_weak_configs_set_the_fraction_once():
    names = ('cai_synthetic', 'cai_weak10_synthetic', 'cai_depth2d_synthetic',
             'cai_depth2d_frozen_regularizer_synthetic')
    fractions = {name: load(f'cai/{name}.py').train_dataloader.dataset
                 .pipeline.labels_3d.fraction for name in names}
    assert fractions == dict(zip(names, (1.0, 0.1, 0.0, 0.0)))
    depth2d = load('cai/cai_depth2d_synthetic.py')
    weights = {name: loss.loss_weight for name, loss in
               depth2d.model.heads.pose3d.losses.items()}
    assert weights == dict(pose3d=1.0, depth=100.0, xy=0.0, lift=100.0,
                           unit=100.0)
    assert depth2d.train_dataloader.dataset.pipeline.targets.encoders[
        'lifted'] == dict(type='DepthLiftedKeypoints', depth_range_mm=300.0,
                          exclude_occluded=True)
    frozen = load('cai/cai_depth2d_frozen_regularizer_synthetic.py')
    assert frozen.model.heads.pose3d.depth_regularizer.frozen is True
    assert frozen.model.heads.pose3d.losses.xy.loss_weight == 100.0
    assert frozen.train_dataloader.dataset.pipeline.targets.encoders[
        'offsets'].type == 'RootRelative2D'
    # stage 1's last checkpoint, in its default work dir
    stage1 = load('cai/cai_depth_regularizer_pretrain_synthetic.py')
    assert frozen.load_from == (
        'work_dirs/cai_depth_regularizer_pretrain_synthetic/'
        f'iter_{stage1.train_cfg.max_iters}.pth')


def test_unit_bone_loss_by_hand():
    pred = torch.zeros(2, 21, 3)
    pred[0, 10] = torch.tensor([0.0, 3.0, 4.0])  # bone 9 -> 10 of 5
    pred[1, 10] = torch.tensor([1.0, 0.0, 0.0])  # of 1: no loss
    assert float(UnitBoneLoss()(pred, (9, 10))) == pytest.approx(8.0)
    head = small_head(losses=weighted_losses(unit=10.0))
    outputs = dict(joints_3d_normalized=pred)
    batch = dict(targets=dict(
        joints_3d=torch.zeros(2, 21, 3), joints_3d_weight=torch.zeros(2, 1),
        depth_map=torch.rand(2, 16, 16), depth_weight=torch.ones(2, 1)))
    assert float(head.loss(outputs, batch)['loss_unit']) == pytest.approx(
        80.0)


def test_a_dataset_without_depth_stops_with_one_line():
    cfg = load('cai/cai_synthetic.py')
    cfg.train_dataloader.dataset.update(num_samples=2, cache_dir=None,
                                        with_depth=False)
    with pytest.raises(AnnotationError) as error:
        preflight(cfg, ['train_dataloader'])
    message = str(error.value)
    assert '\n' not in message
    assert message.startswith(
        "train_dataloader: SyntheticHandDataset sample 0 "
        "(synthetic://train/000000) has no 'depth', which the target codec "
        'NormalizedDepthMap needs; use a dataset with depth images of the '
        'RGB hands')


def test_a_sample_without_depth_is_named():
    cfg = load('cai/cai_synthetic.py')
    targets = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline.targets)
    results = dict(img_path='hand.png',
                   transformed_keypoints=np.full((21, 2), 64.0),
                   keypoints_visible=np.ones(21),
                   keypoints_3d=random_hand())
    with pytest.raises(KeyError, match="results have no 'depth' "
                       r'\(needed by NormalizedDepthMap; sample hand.png\)'):
        targets(results)


def test_the_root_is_at_the_origin_by_construction():
    head = small_head()
    torch.nn.init.normal_(head.fc[-1].weight)  # outputs far from zero
    with torch.no_grad():
        joints = head(torch.randn(2, 8, 16, 16),
                      torch.rand(2, 21, 16, 16))['joints_3d_normalized']
    assert float(joints[:, 0].abs().max()) == 0.0
    assert float(joints[:, 1:].abs().min()) > 0.0


def test_a_palm_rooted_pose_has_the_palm_at_the_origin():
    """RHD and the synthetic hands have the wrist in joint 0: Zimmermann &
    Brox's RHD protocol takes the prediction's origin to be the palm, the
    midpoint of wrist and middle MCP (hand3d BinaryDbReader.py:140-144)."""
    hand = random_hand()
    bone = np.linalg.norm(hand[10] - hand[9])
    palm = 0.5 * (hand[0] + hand[9])
    encoded = NormalizedPose3D(palm_root=True).encode(hand)['joints_3d']
    np.testing.assert_allclose(encoded, (hand - palm) / bone, atol=1e-5)
    head = small_head(decoder=dict(type='NormalizedPose3D', palm_root=True))
    torch.nn.init.normal_(head.fc[-1].weight)
    with torch.no_grad():
        joints = head(torch.randn(2, 8, 16, 16),
                      torch.rand(2, 21, 16, 16))['joints_3d_normalized']
    origin = 0.5 * (joints[:, 0] + joints[:, 9])
    assert float(origin.abs().max()) < 1e-5
    assert float(joints[:, 0].abs().min()) > 0.0


def test_the_paper_configs_select_zimmermann_brox_presets():
    """Cai et al. report under Zimmermann & Brox's protocol (their RHD AUC
    0.887, STB 0.994): each config selects the preset of its data, with a
    palm-rooted read-out where joint 0 is the wrist."""
    expected = {'cai/cai_stb.py': ('zimmermann_brox_stb', False),
                'cai/cai_rhd_stb_weak.py': ('zimmermann_brox_stb', False),
                'cai/cai_rhd.py': ('zimmermann_brox_rhd', True),
                'cai/cai_synthetic.py': ('zimmermann_brox_rhd', True),
                'cai/cai_depth2d_synthetic.py': ('zimmermann_brox_rhd', True)}
    for name, (protocol, palm_root) in expected.items():
        cfg = load(name)
        assert [metric.get('protocol') for metric in cfg.test_evaluator
                ] == [None, protocol, None], name
        assert cfg.model.heads.pose3d.decoder.get('palm_root',
                                                  False) == palm_root, name
    assert load('cai/cai_rhd.py').test_dataloader.dataset.hands == (
        'mask_pixels')


def test_depth_lifted_keypoints_by_hand():
    cam_K = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    warp_mat = np.array([[2.0, 0, -10], [0, 2.0, -20]])  # image -> input
    image_px = np.array([[60, 50], [50, 40], [55, 45], [200, 40], [52, 42],
                         [58, 44]], np.float64)
    keypoints = image_px * 2 - [10, 20]  # their input pixels
    depth = np.zeros((128, 128), np.float32)
    # joint 2 on the background (0), joint 3 outside the crop
    for (col, row), value in zip(keypoints[[0, 1, 4, 5]].astype(int),
                                 (500.0, 400.0, 1000.0, 450.0)):
        depth[row, col] = value
    visible = np.ones(6)
    occluded = np.array([0, 0, 0, 0, 0, 1], bool)
    encoded = DepthLiftedKeypoints(depth_range_mm=300.0).encode(
        keypoints, visible, depth, cam_K, warp_mat)
    # median of the depths found (500, 400, 1000, 450) is 475: 1000 lies
    # beyond 150 mm of it
    np.testing.assert_array_equal(encoded['keypoints_lifted_weight'],
                                  [1, 1, 0, 0, 0, 1])
    # (60 - 50) 500 / 100 = 50, (50 - 40) 500 / 100 = 50
    np.testing.assert_allclose(encoded['keypoints_lifted'][0],
                               [50, 50, 500], atol=1e-4)
    np.testing.assert_allclose(encoded['keypoints_lifted'][1], [0, 0, 400],
                               atol=1e-4)
    np.testing.assert_allclose(encoded['keypoints_lifted'][5], [36, 18, 450],
                               atol=1e-4)
    assert encoded['keypoints_lifted'].dtype == np.float32
    hidden = DepthLiftedKeypoints(exclude_occluded=True)
    assert hidden.encode_inputs[-1] == 'occluded'
    np.testing.assert_array_equal(
        hidden.encode(keypoints, visible, depth, cam_K, warp_mat,
                      occluded)['keypoints_lifted_weight'],
        [1, 1, 0, 0, 0, 0])
    visible[1] = 0
    assert DepthLiftedKeypoints().encode(keypoints, visible, depth, cam_K,
                                         warp_mat)[
        'keypoints_lifted_weight'][1] == 0


def test_scale_shift_aligned_loss_by_hand():
    target = torch.tensor([[[0.0, 0, 0], [2, 0, 0], [0, 2, 0]]])
    pred = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0, 0, 1]]])
    weights = torch.ones(1, 3)
    loss = ScaleShiftAlignedLoss(min_joints=3)
    # centred: <P, Q> = 4/3, |P|^2 = 4/3, |Q|^2 = 16/3, cosine 1/2
    assert float(loss(pred, target, weights)) == pytest.approx(0.5)
    # any scale and shift of the target's shape fits exactly
    assert float(loss(target / 40 + 7, target, weights)) == pytest.approx(
        0, abs=1e-6)
    # the point reflection (a mirrored hand): cosine -1
    assert float(loss(-target, target, weights)) == pytest.approx(2.0)
    # a sample with fewer than min_joints weighted joints is left out
    batch_pred = torch.cat([pred, -target])
    batch_weights = torch.tensor([[1.0, 1, 1], [1, 1, 0]])
    assert float(loss(batch_pred, torch.cat([target, target]),
                      batch_weights)) == pytest.approx(0.5)
    # a shape whose least-squares scale would be negative still gets a
    # gradient (a fit clamped at scale 0 has none)
    bent = -target + torch.tensor([[[0.0, 0, 0], [0, 0.5, 0], [0, 0, 0]]])
    bent.requires_grad_()
    loss(bent, target, weights).backward()
    assert float(bent.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match='ScaleShiftAlignedLoss: pred and '
                       'target'):
        loss(pred, target[..., :2], weights)


def test_head_adds_the_depth_anchor_only_when_weighted():
    head = small_head(losses=weighted_losses(lift=100.0))
    outputs, batch = forward_without_3d_label(head)
    with pytest.raises(ValueError, match=r"needs batch\['targets'\]"
                       r"\['keypoints_lifted'\] \(the depth anchor\)"):
        head.loss(outputs, batch)
    lifted = torch.randn(1, 21, 3) * 30 + torch.tensor([0.0, 0, 500])
    batch['targets'].update(keypoints_lifted=lifted,
                            keypoints_lifted_weight=torch.ones(1, 21))
    losses = head.loss(outputs, batch)
    assert set(losses) == {'loss_pose3d', 'loss_depth', 'loss_lift'}
    expected = 100.0 * ScaleShiftAlignedLoss()(
        outputs['joints_3d_normalized'], lifted, torch.ones(1, 21))
    assert float(losses['loss_lift'].detach()) == pytest.approx(
        float(expected.detach()))
    assert 'loss_lift' not in small_head().loss(outputs, batch)


def test_head_loss_values_with_every_term_on_are_pinned():
    """The five terms of one seeded head and batch, weights all non-zero:
    the values measured with the former loss/weight argument pairs
    (loss_weight=1.5, depth 100, xy 10, lift 100, unit 7), so that moving
    them into ``losses`` changed no figure."""
    torch.manual_seed(0)
    head = Pose3DRegressionHead(
        in_channels=8, map_size=(16, 16), prior_channels=21,
        conv_channels=8, fc_channels=32,
        depth_regularizer=dict(type='DepthRegularizer', hidden_channels=32,
                               base_channels=16, output_size=(16, 16)),
        losses=dict(pose3d=dict(type='JointL2Loss', loss_weight=1.5),
                    depth=dict(type='DepthL1Loss', loss_weight=100.0),
                    xy=dict(type='ScaleAlignedXYLoss', loss_weight=10.0),
                    lift=dict(type='ScaleShiftAlignedLoss',
                              loss_weight=100.0),
                    unit=dict(type='UnitBoneLoss', loss_weight=7.0)))
    generator = torch.Generator().manual_seed(1)

    def rand(*shape, normal=True):
        return (torch.randn if normal else torch.rand)(*shape,
                                                       generator=generator)

    feats, maps = rand(2, 8, 16, 16), rand(2, 21, 16, 16, normal=False)
    batch = dict(targets=dict(
        joints_3d=rand(2, 21, 3), joints_3d_weight=torch.tensor([[1.0],
                                                                 [0.0]]),
        depth_map=rand(2, 16, 16, normal=False),
        depth_weight=torch.ones(2, 1), keypoints_2d_rel=rand(2, 21, 2),
        keypoints_2d_weight=torch.ones(2, 21),
        keypoints_lifted=rand(2, 21, 3) * 100,
        keypoints_lifted_weight=torch.ones(2, 21)))
    with torch.no_grad():
        values = {name: float(value) for name, value in
                  head.loss(head(feats, maps), batch).items()}
    assert values == pytest.approx(dict(
        loss_pose3d=71.60781860351562, loss_depth=72.50811004638672,
        loss_xy=385.0840759277344, loss_lift=106.81343078613281,
        loss_unit=6.972652912139893), rel=1e-5)
    assert head.loss_module.weights == dict(pose3d=1.5, depth=100.0,
                                            xy=10.0, lift=100.0, unit=7.0)


def test_head_losses_name_their_mistakes():
    with pytest.raises(ValueError, match="Pose3DRegressionHead: unknown "
                       "loss 'depht' in losses"):
        small_head(losses=dict(depht=dict(type='DepthL1Loss')))
    with pytest.raises(ValueError, match="a depth_regularizer needs a "
                       "'depth' entry in losses"):
        small_head(losses=dict(pose3d=dict(type='JointL2Loss')))
    # without a regulariser the depth entry is unused: the fully
    # supervised regression alone
    head = small_head(depth_regularizer=None)
    outputs, batch = forward_without_3d_label(head)
    assert set(head.loss(outputs, batch)) == {'loss_pose3d'}


def test_the_lifted_synthetic_labels_fit_the_true_joints():
    """The anchor's target is the true hand's shape: on rendered hands the
    true normalised joints fit their lifted 2D labels with a cosine above
    0.97 (the skin's offset and the pixel grid)."""
    cfg = load('cai/cai_depth2d_synthetic.py')
    cfg.train_dataloader.dataset.update(num_samples=6, cache_dir=None)
    samples = DATASETS.build(cfg.train_dataloader.dataset)
    targets = [samples[index]['data_samples']['targets']
               for index in range(6)]
    joints = torch.as_tensor(np.stack([t['joints_3d'] for t in targets]))
    lifted = torch.as_tensor(np.stack([t['keypoints_lifted']
                                       for t in targets]))
    weights = torch.as_tensor(np.stack([t['keypoints_lifted_weight']
                                        for t in targets]))
    assert float(weights.sum(1).min()) >= 4
    assert float(ScaleShiftAlignedLoss()(joints, lifted, weights)) < 0.03
    # and the 0 % config gives no sample its 3D label
    assert float(np.stack([t['joints_3d_weight'] for t in targets]).max()) \
        == 0.0


def test_excluding_occluded_joints_needs_occlusion_flags():
    cfg = load('cai/cai_depth2d_synthetic.py')
    transforms = [TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline
                                   .targets)]

    class NoFlags:
        def __len__(self):
            return 1

        def get_data_info(self, index):
            return dict(img_path='stb/B1Counting/SK_color_0.png',
                        keypoints_3d=random_hand(), cam_K=np.eye(3),
                        depth_path='stb/B1Counting/SK_depth_0.png')

    with pytest.raises(AnnotationError) as error:
        check_labels(cfg, 'train_dataloader', NoFlags(), transforms)
    assert str(error.value) == (
        "train_dataloader: NoFlags sample 0 (stb/B1Counting/SK_color_0.png) "
        "has no 'occluded', which the target codec DepthLiftedKeypoints "
        'needs; use a dataset with per-joint occlusion flags, e.g. '
        'SyntheticHandDataset, or exclude_occluded=False in '
        'DepthLiftedKeypoints')
