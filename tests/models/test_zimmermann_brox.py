"""Zimmermann & Brox (ICCV 2017): HandSegNet, PoseNet and PosePrior at the
paper's sizes, each loss on a hand-computed case, the crop from a hand
mask, the hand side's path and the labels a config needs."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.codecs import CanonicalFrame, HandMask
from handkit.datasets.base import AnnotationError, pipeline_steps
from handkit.datasets.synthetic.hand_model import sample_hands
from handkit.datasets.transforms import PackHandInputs
from handkit.engine.preflight import check_labels
from handkit.models.heads.hand_seg_head import crop_from_hand_mask
from handkit.models.layers import upsample_on_grid
from handkit.models.losses import ScoreMapRMSLoss, SegmentationCrossEntropyLoss
from handkit.registry import MODELS, TRANSFORMS

CONFIGS = 'configs/zimmermann'


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('handkit')
    torch.manual_seed(0)


def test_handsegnet_shapes_at_320():
    backbone = MODELS.build(dict(type='ZimmermannVGG', arch='handsegnet'))
    head = MODELS.build(dict(type='HandSegHead'))
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 320, 320))
        logits = head(feats)
    assert tuple(feats.shape) == (1, 128, 40, 40)
    assert tuple(logits.shape) == (1, 2, 320, 320)
    decoded = head.predict(logits)
    assert decoded['hand_maps'].shape == (1, 1, 320, 320)
    assert decoded['hand_mask'].shape == (1, 320, 320)
    assert decoded['hand_crop_center'].shape == (1, 2)


def test_posenet_shapes_at_256_per_stage():
    backbone = MODELS.build(dict(type='ZimmermannVGG', arch='posenet'))
    head = MODELS.build(dict(type='PoseNetHead'))
    with torch.no_grad():
        maps = head(backbone(torch.randn(1, 3, 256, 256)))
    assert [tuple(stage.shape) for stage in maps] == [(1, 21, 32, 32)] * 3
    # 13 encoder convolutions (conv1_1 .. conv4_7), 2 + 2 x 7 in the head
    convs = [m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 15
    assert [m.kernel_size for m in head.stages[0]
            if isinstance(m, torch.nn.Conv2d)] == [(7, 7)] * 5 + [(1, 1)] * 2


def test_poseprior_shapes_at_the_paper_size():
    head = MODELS.build(dict(type='PosePriorHead')).eval()
    with torch.no_grad():
        outputs = head(None, torch.rand(2, 21, 32, 32))
    assert tuple(outputs['canonical_keypoints'].shape) == (2, 2, 21, 3)
    assert tuple(outputs['rotations'].shape) == (2, 2, 3, 3)
    # the two streams' flattened 4 x 4 x 128 / 4 x 4 x 256 features
    assert head.canonical.first_fc.in_features == 2048
    assert head.view.first_fc.in_features == 4096
    rotation = outputs['rotations'].double()
    np.testing.assert_allclose(
        (rotation @ rotation.transpose(-1, -2)).numpy(),
        np.broadcast_to(np.eye(3), (2, 2, 3, 3)), atol=1e-5)


def test_posenet_loss_by_hand():
    # zero maps against two targets: all ones (RMS 1) and one pixel of 2 in
    # 16 (RMS sqrt(4 / 16) = 0.5); weights 1 and 1: (1 + 0.5) / 2.001 a
    # stage, two stages
    target = torch.zeros(1, 2, 4, 4)
    target[0, 0] = 1.0
    target[0, 1, 1, 2] = 2.0
    zeros = torch.zeros(1, 2, 2, 2)
    score_map_rms_loss = ScoreMapRMSLoss()
    loss = score_map_rms_loss([zeros, zeros], target, torch.ones(1, 2))
    assert float(loss) == pytest.approx(2 * 1.5 / 2.001, rel=1e-6)
    # an invisible keypoint adds nothing, and the divisor counts visible
    loss = score_map_rms_loss([zeros], target, torch.tensor([[1.0, 0.0]]))
    assert float(loss) == pytest.approx(1 / 1.001, rel=1e-6)


def test_posenet_loss_equals_the_upsampled_rms():
    maps = [torch.randn(2, 21, 8, 8, requires_grad=True) for _ in range(3)]
    target = torch.rand(2, 21, 64, 64)
    weights = (torch.rand(2, 21) > 0.3).float()
    explicit = sum(
        (weights * ((upsample_on_grid(stage, (64, 64)) - target) ** 2).mean(
            (2, 3)).sqrt()).sum() / (weights.sum() + 0.001)
        for stage in maps)
    loss = ScoreMapRMSLoss()(maps, target, weights)
    assert loss.item() == pytest.approx(explicit.item(), rel=1e-5)
    loss.backward()
    assert all(torch.isfinite(stage.grad).all() for stage in maps)


def poseprior_batch(sides=('left', 'right')):
    """The CanonicalFrame targets and metas of synthetic hands."""
    joints = sample_hands(np.random.default_rng(0), len(sides),
                          (256, 256))['keypoints_3d']
    codec = CanonicalFrame()
    encoded = [codec.encode(hand, side) for hand, side in zip(joints, sides)]
    targets = {key: torch.from_numpy(np.stack([e[key] for e in encoded]))
               for key in encoded[0]}
    metas = [dict(hand_side=side, img_path=f'hand{index}.png')
             for index, side in enumerate(sides)]
    return dict(targets=targets, metas=metas)


def test_poseprior_losses_by_hand():
    head = MODELS.build(dict(type='PosePriorHead',
                             train_inputs='predictions'))
    batch = poseprior_batch()
    canonical = batch['targets']['canonical_keypoints']
    quarter_turn = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    batch['targets']['rotation'] = quarter_turn.expand(2, 3, 3)
    # each sample's own side: canonical + 0.1, identity rotation; the other
    # side's outputs are far off and must not count
    outputs = {'canonical_keypoints': torch.full((2, 2, 21, 3), 100.0),
               'rotations': torch.full((2, 2, 3, 3), 100.0)}
    for index, side in enumerate((0, 1)):
        outputs['canonical_keypoints'][index, side] = canonical[index] + 0.1
        outputs['rotations'][index, side] = torch.eye(3)
    losses = head.loss(outputs, batch)
    assert list(losses) == ['loss_canonical', 'loss_rotation']
    assert float(losses['loss_canonical']) == pytest.approx(0.01, rel=1e-5)
    # I - R has four entries of magnitude 1: mean square 4 / 9
    assert float(losses['loss_rotation']) == pytest.approx(4 / 9, rel=1e-6)
    # a weight of 3 on the rotation; 0 leaves the canonical term out
    head.loss_module.weights.update(canonical=0.0, rotation=3.0)
    losses = head.loss(outputs, batch)
    assert list(losses) == ['loss_rotation']
    assert float(losses['loss_rotation']) == pytest.approx(4 / 3, rel=1e-6)


def test_poseprior_trains_on_the_target_maps():
    head = MODELS.build(dict(type='PosePriorHead',
                             score_codec=dict(type='GaussianScoreMap'))
                        ).eval()
    batch = poseprior_batch()
    target_maps = torch.rand(2, 21, 256, 256)
    batch['targets']['scoremaps'] = target_maps
    prior_outputs = head(None, torch.zeros(2, 21, 32, 32))
    losses = head.loss(prior_outputs, batch)
    from_targets = head.run(target_maps[..., ::8, ::8])
    rows = torch.arange(2)
    expected = ((from_targets['canonical_keypoints'][rows, rows]
                 - batch['targets']['canonical_keypoints']) ** 2).mean()
    assert float(losses['loss_canonical']) == pytest.approx(float(expected),
                                                            rel=1e-6)


def test_poseprior_decodes_perfect_outputs_to_the_joints():
    head = MODELS.build(dict(type='PosePriorHead', reference_bone_mm=40.0))
    batch = poseprior_batch(('right', 'left', 'left'))
    targets = batch['targets']
    tensors = {
        'canonical_keypoints': targets['canonical_keypoints'][:, None]
        .repeat(1, 2, 1, 1).numpy(),
        'rotations': targets['rotation'][:, None].repeat(1, 2, 1, 1).numpy()}
    decoded = head.decode(tensors, batch)
    np.testing.assert_allclose(decoded['keypoints_3d_normalized'],
                               targets['keypoints_3d_normalized'], atol=1e-5)
    np.testing.assert_allclose(decoded['keypoints_3d'],
                               40.0 * targets['keypoints_3d_normalized'],
                               atol=1e-3)


def test_poseprior_names_a_sample_without_hand_side():
    head = MODELS.build(dict(type='PosePriorHead'))
    batch = poseprior_batch()
    del batch['metas'][1]['hand_side']
    tensors = {key: value.detach().numpy() for key, value in
               head(None, torch.zeros(2, 21, 32, 32)).items()}
    with pytest.raises(ValueError, match=r"meta 'hand_side' \('left' / "
                       r"'right'\); sample 1 \(hand1.png\) has none"):
        head.decode(tensors, batch)
    batch['metas'][1]['hand_side'] = 'both'
    with pytest.raises(ValueError, match="got 'both'"):
        head.decode(tensors, batch)


def test_inference_takes_the_hand_side():
    from handkit.apis import inference, init_model
    model = init_model(f'{CONFIGS}/posenet_poseprior_synthetic.py')
    image = np.full((96, 128, 3), 128, np.uint8)
    result = inference(model, image, hand_side='right')
    assert result['keypoints_3d'].shape == (21, 3)
    assert result['keypoints_3d_normalized'].shape == (21, 3)
    with pytest.raises(ValueError, match='or pass inference'):
        inference(model, image)


def test_pack_hand_inputs_carries_the_hand_side():
    packed = PackHandInputs()(dict(img=np.zeros((4, 4, 3), np.uint8),
                                   hand_side='left'))
    assert packed['data_samples']['meta']['hand_side'] == 'left'


def test_segmentation_cross_entropy_by_hand():
    logits = torch.zeros(1, 2, 1, 2)
    logits[0, 1] = np.log(3.0)  # hand probability 3 / 4 at both pixels
    target = torch.tensor([[[[1.0, 0.0]]]])
    expected = -(np.log(0.75) + np.log(0.25)) / 2
    segmentation_cross_entropy = SegmentationCrossEntropyLoss()
    assert float(segmentation_cross_entropy(logits, target)) == \
        pytest.approx(expected, rel=1e-6)
    assert float(segmentation_cross_entropy(torch.zeros(2, 2, 3, 3),
                                            torch.rand(2, 1, 3, 3))) == \
        pytest.approx(np.log(2.0), rel=1e-6)


def test_handsegnet_learns_the_hand_mask_codec_target():
    """HandMask at the input size publishes ``hand_masks``, which the head
    reads, through its configurable loss."""
    mask = np.zeros((32, 32), bool)
    mask[8:20, 4:16] = True
    codec = HandMask(input_size=(32, 32), heatmap_size=(32, 32))
    target = torch.from_numpy(codec.encode(mask)['hand_masks'])[None]
    head = MODELS.build(dict(type='HandSegHead', in_channels=8,
                             hidden_channels=8, stride=8, loss_weight=2.0))
    logits = head(torch.randn(1, 8, 4, 4))
    losses = head.loss(logits, {'targets': {'hand_masks': target}})
    assert float(losses['loss_segmentation']) == pytest.approx(
        2.0 * float(SegmentationCrossEntropyLoss()(logits, target)))
    with pytest.raises(ValueError, match=r"needs batch\['targets'\]"
                       r"\['hand_masks'\] \(the hand mask, HandMask codec\)"):
        head.loss(logits, {'targets': {'limb_masks': target}})


def test_crop_from_a_hand_made_mask():
    probability = np.zeros((2, 100, 100), np.float32)
    # sample 0: a hand of two parts 4 px apart (one object), its maximum in
    # the upper part; a second blob far away is left out
    probability[0, 20:40, 30:50] = 0.9
    probability[0, 44:60, 30:70] = 0.8
    probability[0, 25, 35] = 1.0
    probability[0, 85:95, 85:95] = 0.95
    centre, side = crop_from_hand_mask(probability)
    # box x 30..69, y 20..59: centre (49.5, 39.5), side 1.25 x 39
    np.testing.assert_allclose(centre[0], [49.5, 39.5])
    assert side[0] == pytest.approx(1.25 * 39)
    # sample 1: nothing above 0.5: their constant crop (row 9 below)
    np.testing.assert_allclose(centre[1], [160.0, 160.0])
    assert side[1] == pytest.approx(125.0)


def test_no_hand_found_takes_their_constant_crop_or_the_image():
    # hand3d utils/general.py:311-320: centre (160, 160), box 100 px, which
    # ColorHandPose3DNetwork.py:119-120 scales by 1.25; handkit's former
    # whole-image crop stays as fallback='image'
    probability = np.zeros((1, 100, 80), np.float32)
    centre, side = crop_from_hand_mask(probability)
    np.testing.assert_allclose(centre, [[160.0, 160.0]])
    np.testing.assert_allclose(side, [125.0])
    centre, side = crop_from_hand_mask(probability, fallback='image')
    np.testing.assert_allclose(centre, [[39.5, 49.5]])
    np.testing.assert_allclose(side, [100.0])
    head = MODELS.build(dict(type='HandSegHead'))
    decoded = head.decode({'hand_maps': probability[:, None]})
    np.testing.assert_allclose(decoded['hand_crop_center'], [[160, 160]])


def _paper_model(name):
    from mmengine import Config
    return MODELS.build(Config.fromfile(f'configs/zimmermann/{name}').model)


def _count(*modules):
    return sum(p.numel() for module in modules for p in module.parameters())


def _activations(*modules):
    return [layer for module in modules for layer in module.modules()
            if isinstance(layer, (torch.nn.ReLU, torch.nn.LeakyReLU))]


def test_paper_networks_use_their_leaky_relu_and_keep_their_size():
    # hand3d utils/general.py:28-33, 56-59, 133-136: every conv_relu and
    # fully_connected_relu is max(x, 0.01 x); weights unchanged in number
    segnet = _paper_model('handsegnet_rhd.py')
    cascade = _paper_model('posenet_poseprior_rhd.py')
    posenet = (cascade.backbone, cascade.heads[0])
    prior = (cascade.heads[1], )
    for modules, count in (((segnet.backbone, segnet.heads[0]), 13_601_986),
                           (posenet, 17_518_847), (prior, 3_875_682)):
        assert _count(*modules) == count
        activations = _activations(*modules)
        assert activations and all(
            isinstance(a, torch.nn.LeakyReLU) and a.negative_slope == 0.01
            for a in activations)
    # handkit's former plain ReLU is the option negative_slope=0
    plain = MODELS.build(dict(type='ZimmermannVGG', negative_slope=0.0))
    assert all(isinstance(a, torch.nn.ReLU) for a in _activations(plain))


def test_paper_pose_prior_trains_without_dropout():
    # their training_lifting.py:55 builds the network with evaluation=True,
    # so NetworkOps.dropout (utils/general.py:139-147) keeps every unit
    for name in ('posenet_poseprior_rhd.py', 'posenet_poseprior_stb.py'):
        prior = _paper_model(name).heads[1]
        assert [layer.p for layer in prior.modules()
                if isinstance(layer, torch.nn.Dropout)
                and layer.p > 0] == []
    option = MODELS.build(dict(type='PosePriorHead', canonical_dropout=0.2,
                               view_dropout=0.25))
    assert sorted({layer.p for layer in option.modules()
                   if isinstance(layer, torch.nn.Dropout)}) == [0.2, 0.25]


class LabelLess:
    """A one-sample dataset whose data_info lacks some labels."""

    def __init__(self, **info):
        self.info = dict(img_path='hand.png', **info)

    def __len__(self):
        return 1

    def get_data_info(self, index):
        return self.info


def test_a_dataset_without_hand_side_stops_a_poseprior_config():
    cfg = Config.fromfile(f'{CONFIGS}/posenet_poseprior_synthetic.py')
    with pytest.raises(AnnotationError, match=(
            "test_dataloader: LabelLess sample 0 \\(hand.png\\) has no "
            "'hand_side', which the head PosePriorHead needs")):
        check_labels(cfg, 'test_dataloader',
                     LabelLess(keypoints_3d=np.zeros((21, 3))), [])
    check_labels(cfg, 'test_dataloader', LabelLess(
        keypoints_3d=np.zeros((21, 3)), hand_side='left'), [])


def test_a_dataset_without_masks_stops_a_handsegnet_config():
    cfg = Config.fromfile(f'{CONFIGS}/handsegnet_synthetic.py')
    transforms = [TRANSFORMS.build(step) for step in pipeline_steps(
        cfg.train_dataloader.dataset.pipeline)]
    with pytest.raises(AnnotationError, match=(
            "has no 'hand_mask', which the target codec HandMask needs")):
        check_labels(cfg, 'train_dataloader', LabelLess(), transforms)
    # a mask file that LoadImage reads counts (RHD / OneHand10K)
    check_labels(cfg, 'train_dataloader', LabelLess(mask_path='m.png'),
                 transforms)
