"""Tests of CascadeEstimator (NSRM / CPM cascades) and HandDataPreprocessor."""
import numpy as np
import pytest
import torch

from handkit.datasets.collate import hand_collate
from handkit.models.data_preprocessors.hand_data_preprocessor import \
    HandDataPreprocessor
from handkit.models.estimators.cascade import CascadeEstimator
from handkit.models.losses.heatmap_mse import HeatmapMSELoss
from handkit.registry import MODELS

SMALL_DECODER = dict(type='KeypointConfidenceMap', input_size=(64, 64),
                     heatmap_size=(8, 8), sigma=1.0)


def nsrm_config(**kwargs):
    """Full-size NSRM, G1G6: structure head (3 stages) -> KCM head (3)."""
    return dict(type='CascadeEstimator', backbone=dict(type='VGG19CPM'),
                heads=[dict(type='StructureMaskHead', groups='G1G6',
                            num_stages=3),
                       dict(type='KeypointMapHead', num_stages=3)],
                **kwargs)


def small_nsrm(**kwargs):
    """Reduced-width NSRM for 64 x 64 inputs (8 x 8 maps)."""
    return MODELS.build(dict(
        type='CascadeEstimator',
        backbone=dict(type='VGG19CPM', width_multiplier=0.125,
                      out_channels=16),
        heads=[dict(type='StructureMaskHead', in_channels=16, groups='G1G6',
                    num_stages=2, stage_channels=8, loss_weight=0.1,
                    loss_weight_g6=0.02),
               dict(type='KeypointMapHead', in_channels=16, num_stages=2,
                    stage_channels=8, decoder=SMALL_DECODER)],
        data_preprocessor=dict(type='HandDataPreprocessor'), **kwargs))


def fake_batch(batch_size=2):
    generator = torch.Generator().manual_seed(0)
    targets = {
        'heatmaps': torch.rand(batch_size, 21, 8, 8, generator=generator),
        'keypoint_weights': torch.ones(batch_size, 21),
        'limb_masks': torch.rand(batch_size, 7, 8, 8, generator=generator),
    }
    metas = [{'img_path': f'img_{i}.jpg', 'img_id': i,
              'keypoints': np.full((21, 2), float(i), np.float32),
              'keypoints_visible': np.ones(21, np.float32),
              'bbox': np.array([0, 0, 10, 10], np.float32)}
             for i in range(batch_size)]
    return {'targets': targets, 'metas': metas}


def test_nsrm_parameter_count_and_full_size_shapes():
    torch.manual_seed(0)
    model = MODELS.build(nsrm_config())
    assert sum(p.numel() for p in model.parameters()) == 36_613_396
    structure_head, kcm_head = model.heads
    assert kcm_head.prior_channels == 7  # filled in from the structure head
    with torch.no_grad():
        structure, kcm = model(torch.randn(1, 3, 368, 368), mode='tensor')
    assert [tuple(s.shape) for s in structure] == [(1, 7, 46, 46)] * 3
    assert [tuple(k.shape) for k in kcm] == [(1, 21, 46, 46)] * 3


def test_cpm_parameter_count():
    model = MODELS.build(dict(
        type='CascadeEstimator', backbone=dict(type='VGG19CPM'),
        heads=[dict(type='KeypointMapHead', num_stages=6)]))
    # conv k x k, i -> o: k*k*i*o + o parameters.
    # backbone (see test_vgg19_cpm): 15,894,720
    # stage 1 (1x1): 128*512 + 512 + 512*21 + 21 = 76,821
    # stages 2-6 (7x7 on 128 + 21 = 149 channels):
    #   49*149*128 + 128 = 934,656; 4 * (49*128*128 + 128) = 3,211,776;
    #   128*128 + 128 = 16,512; 128*21 + 21 = 2,709 -> 4,165,653 per stage
    # total: 15,894,720 + 76,821 + 5 * 4,165,653 = 36,799,806
    assert sum(p.numel() for p in model.parameters()) == 36_799_806


def test_explicit_prior_channels_is_kept_and_heads_required():
    model = CascadeEstimator(
        backbone=dict(type='VGG19CPM', width_multiplier=0.125,
                      out_channels=16),
        heads=[dict(type='StructureMaskHead', in_channels=16, num_stages=1,
                    stage_channels=8),
               dict(type='KeypointMapHead', in_channels=16, num_stages=1,
                    stage_channels=8, prior_channels=0,
                    decoder=SMALL_DECODER)])
    assert model.heads[1].prior_channels == 0
    with pytest.raises(ValueError, match='prior_channels=0 got a prior'):
        model(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match='at least one head'):
        CascadeEstimator(backbone=dict(type='VGG19CPM'), heads=[])


def test_heads_as_named_dict_keep_their_order():
    model = CascadeEstimator(
        backbone=dict(type='VGG19CPM', width_multiplier=0.125,
                      out_channels=16),
        heads=dict(
            structure=dict(type='StructureMaskHead', in_channels=16,
                           groups='G6', num_stages=1, stage_channels=8),
            keypoints=dict(type='KeypointMapHead', in_channels=16,
                           num_stages=1, stage_channels=8,
                           decoder=SMALL_DECODER)))
    assert model.head_names == ['structure', 'keypoints']
    assert [type(head).__name__ for head in model.heads] == [
        'StructureMaskHead', 'KeypointMapHead']
    assert model.heads[1].prior_channels == 6


def test_loss_mode_merges_head_losses():
    torch.manual_seed(0)
    model = small_nsrm()
    inputs, batch = torch.randn(2, 3, 64, 64), fake_batch()
    losses = model(inputs, batch, mode='loss')
    assert sorted(losses) == ['loss_kcm', 'loss_structure_g1',
                              'loss_structure_g6']
    with torch.no_grad():
        _, kcm = model(inputs, mode='tensor')
    expected_kcm = HeatmapMSELoss()(kcm, batch['targets']['heatmaps'])
    assert losses['loss_kcm'].item() == pytest.approx(expected_kcm.item(),
                                                      rel=1e-5)
    losses['loss_kcm'].backward()
    assert model.backbone.features[0].weight.grad is not None
    with pytest.raises(ValueError, match='needs data_samples'):
        model(inputs, None, mode='loss')
    with pytest.raises(ValueError, match="got 'train'"):
        model(inputs, batch, mode='train')


def test_duplicate_loss_names_are_refused():
    model = CascadeEstimator(
        backbone=dict(type='VGG19CPM', width_multiplier=0.125,
                      out_channels=16),
        heads=[dict(type='KeypointMapHead', in_channels=16, num_stages=1,
                    stage_channels=8, decoder=SMALL_DECODER)] * 2)
    with pytest.raises(ValueError,
                       match="heads '0' and '1' both return loss 'loss_kcm'"):
        model(torch.zeros(2, 3, 64, 64), fake_batch(), mode='loss')


def test_predict_maps_keypoints_back_through_warp_mat():
    torch.manual_seed(0)
    model = small_nsrm()
    model.eval()
    inputs, batch = torch.randn(2, 3, 64, 64), fake_batch()
    # sample 0: original -> input is x' = 2x + 10, y' = 2y - 4
    batch['metas'][0]['warp_mat'] = np.array([[2, 0, 10], [0, 2, -4]],
                                             np.float32)
    with torch.no_grad():
        _, kcm = model(inputs, mode='tensor')
        results = model(inputs, batch, mode='predict')
    input_keypoints, scores = model.heads[1].decoder.decode(kcm[-1].numpy())
    assert len(results) == 2
    first, second = results
    assert first['pred_keypoints'].dtype == np.float32
    assert first['pred_keypoints'].shape == (21, 2)
    np.testing.assert_allclose(
        first['pred_keypoints'],
        (input_keypoints[0] - np.array([10.0, -4.0])) / 2, atol=1e-5)
    # no warp_mat: input pixels
    np.testing.assert_allclose(second['pred_keypoints'], input_keypoints[1])
    np.testing.assert_allclose(first['pred_scores'], scores[0])
    assert second['img_path'] == 'img_1.jpg' and second['img_id'] == 1
    np.testing.assert_array_equal(second['gt_keypoints'], np.ones((21, 2)))
    # the warp is carried along, to draw the maps on the original image
    np.testing.assert_array_equal(first['warp_mat'], [[2, 0, 10], [0, 2, -4]])
    assert set(first) == {'pred_keypoints', 'pred_scores', 'gt_keypoints',
                          'gt_keypoints_visible', 'bbox', 'img_path',
                          'img_id', 'warp_mat'}


def test_predict_output_maps_and_raw_inference():
    torch.manual_seed(0)
    model = small_nsrm(test_cfg=dict(output_maps=True))
    model.eval()
    with torch.no_grad():
        results = model(torch.randn(2, 3, 64, 64), None, mode='predict')
    assert set(results[0]) == {'pred_keypoints', 'pred_scores',
                               'structure_maps', 'heatmaps'}
    assert results[1]['structure_maps'].shape == (7, 8, 8)
    assert results[1]['heatmaps'].shape == (21, 8, 8)
    assert isinstance(results[1]['heatmaps'], np.ndarray)
    assert 0.0 < results[0]['structure_maps'].min() <= \
        results[0]['structure_maps'].max() < 1.0
    # the argument overrides test_cfg, for one call only
    with torch.no_grad():
        plain = model(torch.randn(2, 3, 64, 64), None, mode='predict',
                      output_maps=False)
    assert set(plain[0]) == {'pred_keypoints', 'pred_scores'}
    assert model.test_cfg == {'output_maps': True}


def test_predict_errors():
    model = small_nsrm()
    batch = fake_batch(batch_size=1)
    with pytest.raises(ValueError, match='got 1 metas for a batch of 2'):
        model(torch.zeros(2, 3, 64, 64), batch, mode='predict')
    batch['metas'][0]['warp_mat'] = np.eye(3)
    with pytest.raises(ValueError, match=r'metas\[0\] warp_mat must be'):
        model(torch.zeros(1, 3, 64, 64), batch, mode='predict')


def packed_samples():
    """Two samples as PackHandInputs writes them (uint8 BGR images)."""
    image = torch.empty(3, 64, 64, dtype=torch.uint8)
    image[0], image[1], image[2] = 10, 20, 30   # B, G, R
    batch = fake_batch()
    return [{'inputs': image.clone(), 'data_samples': {
        'targets': {name: value[i] for name, value in
                    batch['targets'].items()},
        'meta': batch['metas'][i]}} for i in range(2)]


def test_hand_collate_stacks_inputs_and_targets_and_lists_metas():
    samples = packed_samples()
    for index, sample in enumerate(samples):
        sample['data_samples']['meta']['ori_shape'] = (480 + index, 640)
    batch = hand_collate(samples)
    assert batch['inputs'].shape == (2, 3, 64, 64)
    assert batch['inputs'].dtype == torch.uint8
    targets = batch['data_samples']['targets']
    assert targets['heatmaps'].shape == (2, 21, 8, 8)
    torch.testing.assert_close(
        targets['limb_masks'][1],
        samples[1]['data_samples']['targets']['limb_masks'])
    # metas stay per sample, tuples untouched (pseudo_collate transposes)
    assert [meta['ori_shape'] for meta in batch['data_samples']['metas']] \
        == [(480, 640), (481, 640)]
    del samples[1]['data_samples']['targets']['heatmaps']
    with pytest.raises(ValueError, match=r"sample 1 has targets "
                       r"\['keypoint_weights', 'limb_masks'\], sample 0 has"):
        hand_collate(samples)
    samples[1]['inputs'] = torch.zeros(3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match='must share a shape'):
        hand_collate(samples)
    with pytest.raises(ValueError, match='got no samples'):
        hand_collate([])


def test_runner_builds_a_loader_with_hand_collate():
    from mmengine.runner import Runner
    from mmengine.registry import init_default_scope
    init_default_scope('handkit')
    loader = Runner.build_dataloader(dict(
        batch_size=2, collate_fn=dict(type='handkit.hand_collate'),
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=packed_samples()))
    batch = next(iter(loader))
    assert batch['inputs'].shape == (2, 3, 64, 64)
    assert len(batch['data_samples']['metas']) == 2


def test_data_preprocessor_normalises_rgb_and_moves_targets():
    data = hand_collate(packed_samples())
    out = HandDataPreprocessor()(data)
    inputs = out['inputs']
    assert inputs.shape == (2, 3, 64, 64) and inputs.dtype == torch.float32
    # RGB order after the flip: R=30, G=20, B=10
    expected = [(30 - 123.675) / 58.395, (20 - 116.28) / 57.12,
                (10 - 103.53) / 57.375]
    torch.testing.assert_close(inputs[1, :, 5, 7], torch.tensor(expected))
    samples = out['data_samples']
    assert samples['targets']['heatmaps'].shape == (2, 21, 8, 8)
    assert samples['targets']['limb_masks'].shape == (2, 7, 8, 8)
    assert [meta['img_id'] for meta in samples['metas']] == [0, 1]
    keep_bgr = HandDataPreprocessor(mean=(0, 0, 0), std=(1, 1, 1),
                                    bgr_to_rgb=False)(data)
    torch.testing.assert_close(keep_bgr['inputs'][0, :, 0, 0],
                               torch.tensor([10.0, 20.0, 30.0]))


def test_data_preprocessor_stacked_inference_input():
    images = torch.zeros(1, 3, 16, 16, dtype=torch.uint8)
    out = HandDataPreprocessor(mean=(1, 2, 3), std=(2, 2, 2))(
        {'inputs': images, 'data_samples': None})
    torch.testing.assert_close(out['inputs'][0, :, 0, 0],
                               torch.tensor([-0.5, -1.0, -1.5]))
    assert out['data_samples'] == {'targets': {}, 'metas': []}


def test_data_preprocessor_errors():
    with pytest.raises(ValueError,
                       match='mean and std need one value per channel'):
        HandDataPreprocessor(mean=(1, 2))
    data = hand_collate(packed_samples())
    with pytest.raises(ValueError, match='got 2 metas for 1 inputs'):
        HandDataPreprocessor()(dict(data, inputs=data['inputs'][:1]))
    with pytest.raises(ValueError, match="collate_fn=dict\\(type="
                       "'handkit.hand_collate'\\)"):
        HandDataPreprocessor()({'inputs': data['inputs'], 'data_samples': [
            sample['data_samples'] for sample in packed_samples()]})
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\).*\(1, 1, 8, 8\)'):
        HandDataPreprocessor()({'inputs': torch.zeros(1, 1, 8, 8),
                                'data_samples': None})


def test_val_step_runs_preprocessor_and_predict():
    torch.manual_seed(0)
    model = small_nsrm()
    data = hand_collate(packed_samples())
    data['data_samples']['metas'][0]['warp_mat'] = np.array(
        [[0.5, 0, 0], [0, 0.5, 0]], np.float32)
    data['data_samples']['metas'][1]['warp_mat'] = np.array(
        [[1, 0, 3], [0, 1, -2]], np.float32)
    # the data loader's collate_fn, as the Runner uses it
    results = model.val_step(data)
    np.testing.assert_array_equal(results[1]['warp_mat'],
                                  [[1, 0, 3], [0, 1, -2]])
    batch = model.data_preprocessor(hand_collate(packed_samples()))
    with torch.no_grad():
        _, kcm = model(batch['inputs'], mode='tensor')
    input_keypoints, _ = model.heads[1].decoder.decode(kcm[-1].numpy())
    np.testing.assert_allclose(results[0]['pred_keypoints'],
                               input_keypoints[0] * 2, atol=1e-5)
    np.testing.assert_allclose(results[1]['pred_keypoints'],
                               input_keypoints[1] - np.array([3.0, -2.0]),
                               atol=1e-5)


def test_predict_passes_3d_outputs_as_pred_keys_and_gt_keypoints_3d():
    model = MODELS.build(dict(
        type='CascadeEstimator',
        backbone=dict(type='ResidualHourglass', channels=8, order=1),
        heads=dict(joints=dict(type='LocalRegressionHead', in_channels=8,
                               num_joints=21, feature_size=(8, 8),
                               patch_grid=(2, 2), patch_dim=4, hidden=8)),
        data_preprocessor=dict(type='HandDataPreprocessor', mean=None,
                               std=None, bgr_to_rgb=False)))
    model.eval()
    gt = np.arange(63, dtype=np.float32).reshape(21, 3)
    metas = [{'cube_center': np.array([0, 0, 500.0]), 'cube_size': 300.0,
              'keypoints_3d': gt, 'img_id': 7}]
    with torch.no_grad():
        inputs = torch.randn(1, 1, 32, 32)
        cube = model(inputs, mode='tensor')[0]['joints_cube']
        result, = model(inputs, {'metas': metas}, mode='predict')
    assert set(result) == {'pred_joints_cube', 'pred_keypoints_3d',
                           'gt_keypoints_3d', 'img_id'}
    np.testing.assert_allclose(result['pred_keypoints_3d'],
                               cube[0].numpy() * 150 + [0, 0, 500],
                               atol=1e-4)
    np.testing.assert_array_equal(result['gt_keypoints_3d'], gt)


def test_head_features_and_dropped_heads():
    model = MODELS.build(dict(
        type='CascadeEstimator',
        backbone=dict(type='ResNet34UNet', width_multiplier=0.125),
        head_features=dict(structure=('decoder_features', -2),
                           keypoints2d=dict(maps='heatmaps')),
        heads=dict(
            structure=dict(type='StructureMaskHead', in_channels=8,
                           groups='G1', num_stages=1, stage_channels=4),
            keypoints2d=dict(type='LatentHeatmapHead', fusion_channels=4,
                             decoder=dict(type='IntegralCoordinates',
                                          input_size=(64, 64),
                                          heatmap_size=(64, 64))),
            unused=None)))
    assert model.head_names == ['structure', 'keypoints2d']
    assert model.heads[1].prior_channels == 1
    structure, lhr = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert structure[-1].shape == (1, 1, 16, 16)  # decoder_features[-2]
    assert lhr['coords'].shape == (1, 21, 2)
    with pytest.raises(ValueError, match=r"head_features names heads "
                       r"\['nope'\]"):
        MODELS.build(dict(type='CascadeEstimator',
                          backbone=dict(type='VGG19CPM'),
                          heads=dict(k=dict(type='KeypointMapHead')),
                          head_features=dict(nope='x')))


def test_heads_must_follow_the_base_head_contract():
    @MODELS.register_module(force=True)
    class PlainModuleHead(torch.nn.Module):
        def forward(self, feats, prior=None):
            return feats

    with pytest.raises(TypeError, match="head '0' is a PlainModuleHead, not "
                       'a BaseHead subclass'):
        CascadeEstimator(backbone=dict(type='VGG19CPM', width_multiplier=0.125,
                                       out_channels=16),
                         heads=[dict(type='PlainModuleHead')])


def test_duplicate_prediction_keys_are_refused():
    model = CascadeEstimator(
        backbone=dict(type='VGG19CPM', width_multiplier=0.125,
                      out_channels=16),
        heads=dict(first=dict(type='KeypointMapHead', in_channels=16,
                              num_stages=1, stage_channels=8,
                              decoder=SMALL_DECODER),
                   second=dict(type='KeypointMapHead', in_channels=16,
                               num_stages=1, stage_channels=8,
                               decoder=SMALL_DECODER)))
    # the second head receives the first one's last stage (21 channels)
    assert model.heads[1].prior_channels == 21
    model.eval()
    with torch.no_grad(), pytest.raises(
            ValueError, match="heads 'first' and 'second' both predict "
            "'keypoints'"):
        model(torch.zeros(2, 3, 64, 64), fake_batch(), mode='predict')


def test_head_features_dict_selector_gives_the_head_a_dict():
    from handkit.models.estimators.cascade import _select_feature
    feats = {'features': [torch.zeros(1), torch.ones(1)],
             'heatmaps': torch.full((1, ), 2.0)}
    chosen = _select_feature(
        feats, dict(maps='heatmaps', encoder=('features', -1)), 'bones')
    assert set(chosen) == {'maps', 'encoder'}
    assert chosen['maps'].item() == 2.0 and chosen['encoder'].item() == 1.0


def test_a_mirrored_samples_vertices_come_back_mirrored():
    """TopdownAffine(mirror_side=...) mirrors a hand into the model's side;
    its predicted mesh, like its joints, is mirrored back (camera x)."""
    model = small_nsrm()
    vertices = np.random.default_rng(0).normal(0, 50, (1, 7, 3))
    joints = np.random.default_rng(1).normal(0, 50, (1, 21, 3))
    meta = dict(hand_mirrored=True, warp_mat=np.eye(2, 3, dtype=np.float32))
    [result] = model._format_predictions(
        {'keypoints': np.zeros((1, 21, 2)), 'scores': np.ones((1, 21)),
         'vertices': vertices, 'keypoints_3d': joints},
        dict(metas=[meta]), 1, False)
    np.testing.assert_allclose(result['pred_vertices'],
                               vertices[0] * [-1, 1, 1])
    np.testing.assert_allclose(result['pred_keypoints_3d'],
                               joints[0] * [-1, 1, 1])
