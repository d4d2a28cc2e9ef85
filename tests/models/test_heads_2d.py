"""Tests of the CPM stages and the 2D heads: wiring, losses, predictions."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from handkit.codecs import HandMask
from handkit.models.heads.cpm_stages import stage_1x1, stage_7x7
from handkit.models.heads.keypoint_map_head import KeypointMapHead
from handkit.models.heads.structure_mask_head import StructureMaskHead

LOG2 = math.log(2.0)
SMALL_DECODER = dict(type='KeypointConfidenceMap', input_size=(64, 64),
                     heatmap_size=(8, 8), sigma=1.0)


def convs(module):
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def small_kcm_head(**kwargs):
    return KeypointMapHead(in_channels=16, stage_channels=8,
                           decoder=SMALL_DECODER, **kwargs)


def test_stage_1x1_layers():
    stage = stage_1x1(128, 21)
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in
            convs(stage)] == [(128, 512, (1, 1)), (512, 21, (1, 1))]
    assert isinstance(stage[-1], nn.Conv2d)  # raw maps: no final ReLU


def test_stage_7x7_layers_and_shape():
    stage = stage_7x7(10, 3, mid=4)
    layers = [(c.in_channels, c.out_channels, c.kernel_size, c.padding)
              for c in convs(stage)]
    assert layers == [(10, 4, (7, 7), (3, 3))] + [(4, 4, (7, 7), (3, 3))] * 4 \
        + [(4, 4, (1, 1), (0, 0)), (4, 3, (1, 1), (0, 0))]
    assert isinstance(stage[-1], nn.Conv2d)
    with torch.no_grad():
        assert stage(torch.zeros(2, 10, 9, 7)).shape == (2, 3, 9, 7)


def test_kcm_head_wiring_in_nsrm():
    # NSRM Figure 5: KCM stage 1 sees feats + last structure stage (G1G6: 7),
    # stages 2-3 also the previous KCM stage.
    head = KeypointMapHead(num_stages=3, prior_channels=7)
    assert head.out_channels == 21
    first_convs = [convs(stage)[0] for stage in head.stages]
    assert [c.in_channels for c in first_convs] == [128 + 7, 128 + 7 + 21,
                                                    128 + 7 + 21]
    assert first_convs[0].kernel_size == (7, 7)


def test_kcm_head_wiring_in_cpm():
    head = KeypointMapHead(num_stages=6)
    assert len(head.stages) == 6
    assert [(c.in_channels, c.out_channels, c.kernel_size)
            for c in convs(head.stages[0])] == [(128, 512, (1, 1)),
                                                (512, 21, (1, 1))]
    assert convs(head.stages[1])[0].in_channels == 128 + 21


def test_structure_head_channels_and_wiring():
    for groups, channels in (('G1', 1), ('G6', 6), ('G1G6', 7)):
        head = StructureMaskHead(groups=groups)
        assert head.out_channels == channels
        assert [c.in_channels for c in convs(head.stages[0])] == [128, 512]
        # stage t > 1: feats + previous structure stage only
        assert convs(head.stages[1])[0].in_channels == 128 + channels
    # behind another head: stage 1 is a 7x7 stage on feats + prior
    head = StructureMaskHead(groups='G1', prior_channels=21, num_stages=2)
    assert convs(head.stages[0])[0].in_channels == 128 + 21
    assert convs(head.stages[0])[0].kernel_size == (7, 7)
    with pytest.raises(ValueError, match="unknown limb groups 'G3'"):
        StructureMaskHead(groups='G3')


def test_cascade_forward_shapes_and_prior_use():
    torch.manual_seed(0)
    structure = StructureMaskHead(in_channels=16, groups='G1G6', num_stages=2,
                                  stage_channels=8)
    kcm = small_kcm_head(num_stages=3, prior_channels=7)
    feats = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        stages = structure(feats)
        prior = structure.prior_maps(stages)
        outputs = kcm(feats, prior)
        changed = kcm(feats, torch.zeros_like(prior) + 5.0)
    assert [tuple(p.shape) for p in stages] == [(2, 7, 8, 8)] * 2
    # the prior handed on is the structure head's last stage
    assert prior is stages[-1]
    assert [tuple(o.shape) for o in outputs] == [(2, 21, 8, 8)] * 3
    # the KCM head reads the prior: replacing it changes every stage
    for before, after in zip(outputs, changed):
        assert not torch.allclose(before, after)


def test_prior_mismatch_errors():
    feats = torch.zeros(1, 16, 8, 8)
    with pytest.raises(ValueError, match='prior_channels=7 got no prior'):
        small_kcm_head(num_stages=1, prior_channels=7)(feats)
    with pytest.raises(ValueError, match='prior_channels=0 got a prior'):
        StructureMaskHead(in_channels=16, stage_channels=8, num_stages=1)(
            feats, torch.zeros(1, 21, 8, 8))
    with pytest.raises(ValueError, match=r'the prior must be \(B, 7, h, w\)'):
        small_kcm_head(num_stages=1, prior_channels=7)(
            feats, torch.zeros(1, 21, 8, 8))


def test_kcm_loss_value_weight_and_invisible_keypoint():
    head = small_kcm_head(num_keypoints=2, num_stages=1, loss_weight=0.5)
    outputs = [torch.ones(1, 2, 2, 2)]
    batch = {'targets': {'heatmaps': torch.zeros(1, 2, 2, 2),
                         'keypoint_weights': torch.tensor([[1.0, 0.0]])}}
    # keypoint 0: 4 pixels of error 1; keypoint 1 invisible: 0; / (1*2*2)
    losses = head.loss(outputs, batch)
    assert list(losses) == ['loss_kcm']
    assert losses['loss_kcm'].item() == pytest.approx(0.5 * 4 / 4)
    head.loss_weight = 0.05  # what a decay hook does
    assert head.loss(outputs, batch)['loss_kcm'].item() == \
        pytest.approx(0.05)
    outputs[0][0, 1] = 50.0
    assert head.loss(outputs, batch)['loss_kcm'].item() == \
        pytest.approx(0.05)


def test_kcm_loss_missing_target():
    head = small_kcm_head(num_stages=1)
    with pytest.raises(ValueError, match=r"\['keypoint_weights'\]"):
        head.loss([torch.zeros(1, 21, 8, 8)],
                  {'targets': {'heatmaps': torch.zeros(1, 21, 8, 8)}})


def test_structure_loss_g1g6_uses_both_lambdas():
    head = StructureMaskHead(in_channels=16, groups='G1G6', num_stages=3,
                             stage_channels=8, loss_weight=0.1,
                             loss_weight_g6=0.02)
    # zero logits cost log 2 per pixel; 3 stages, 2x2 maps, B = 1
    outputs = [torch.zeros(1, 7, 2, 2)] * 3
    batch = {'targets': {'limb_masks': torch.rand(1, 7, 2, 2)}}
    losses = head.loss(outputs, batch)
    assert sorted(losses) == ['loss_structure_g1', 'loss_structure_g6']
    assert losses['loss_structure_g1'].item() == \
        pytest.approx(0.1 * 3 * 1 * LOG2, rel=1e-6)
    assert losses['loss_structure_g6'].item() == \
        pytest.approx(0.02 * 3 * 6 * LOG2, rel=1e-6)
    head.loss_weight, head.loss_weight_g6 = 0.01, 0.002
    losses = head.loss(outputs, batch)
    assert losses['loss_structure_g1'].item() == \
        pytest.approx(0.01 * 3 * LOG2, rel=1e-6)
    assert losses['loss_structure_g6'].item() == \
        pytest.approx(0.002 * 18 * LOG2, rel=1e-6)


def test_structure_loss_leaves_out_channels_of_limbs_without_a_mask():
    # OneHand10K rule: a limb with an invisible end point has no mask; its
    # channels (G1, and its finger in G6) get weight 0 instead of being
    # trained as "no limb" with full weight.
    head = StructureMaskHead(in_channels=16, groups='G1G6', num_stages=3,
                             stage_channels=8, loss_weight=0.1,
                             loss_weight_g6=0.02)
    outputs = [torch.zeros(2, 7, 2, 2)] * 3
    weights = torch.ones(2, 7)
    weights[1, [0, 2]] = 0  # sample 1: the index tip is invisible
    batch = {'targets': {'limb_masks': torch.zeros(2, 7, 2, 2),
                         'limb_mask_weights': weights}}
    losses = head.loss(outputs, batch)
    # zero logits cost log 2 per pixel; divisor B * h * w = 8 either way
    assert losses['loss_structure_g1'].item() == \
        pytest.approx(0.1 * 3 * 1 * 4 * LOG2 / 8, rel=1e-6)
    assert losses['loss_structure_g6'].item() == \
        pytest.approx(0.02 * 3 * 11 * 4 * LOG2 / 8, rel=1e-6)
    # A masked-out channel gets no gradient, whatever its logits.
    logits = torch.zeros(2, 7, 2, 2, requires_grad=True)
    sum(head.loss([logits], batch).values()).backward()
    assert (logits.grad[1, [0, 2]] == 0).all()
    assert (logits.grad[0] != 0).all()


def test_structure_loss_g1_and_g6_alone():
    g1 = StructureMaskHead(in_channels=16, groups='G1', num_stages=1,
                           stage_channels=8, loss_weight=0.5)
    losses = g1.loss([torch.zeros(1, 1, 2, 2)],
                     {'targets': {'limb_masks': torch.ones(1, 1, 2, 2)}})
    assert list(losses) == ['loss_structure_g1']
    assert losses['loss_structure_g1'].item() == pytest.approx(0.5 * LOG2)
    g6 = StructureMaskHead(in_channels=16, groups='G6', num_stages=1,
                           stage_channels=8, loss_weight=2.0)
    losses = g6.loss([torch.zeros(1, 6, 2, 2)],
                     {'targets': {'limb_masks': torch.ones(1, 6, 2, 2)}})
    assert list(losses) == ['loss_structure_g6']
    assert losses['loss_structure_g6'].item() == \
        pytest.approx(2.0 * 6 * LOG2, rel=1e-6)


def test_structure_head_learns_the_real_hand_mask():
    """NSRM's "Real Mask": HandMask publishes ``hand_masks`` and its
    weights, which a G1 head reads with ``mask_target='hand_masks'``."""
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    encoded = HandMask(input_size=(8, 8), heatmap_size=(2, 2)).encode(mask)
    targets = {name: torch.from_numpy(value)[None]
               for name, value in encoded.items()}
    assert set(targets) == {'hand_masks', 'hand_mask_weights'}
    head = StructureMaskHead(in_channels=16, groups='G1', num_stages=1,
                             stage_channels=8, mask_target='hand_masks')
    logits = torch.zeros(1, 1, 2, 2, requires_grad=True)
    losses = head.loss([logits], {'targets': targets})
    assert losses['loss_structure_g1'].item() == pytest.approx(LOG2)
    targets['hand_mask_weights'] = torch.zeros(1, 1)  # its weights apply
    assert head.loss([logits], {'targets': targets})[
        'loss_structure_g1'].item() == 0.0
    with pytest.raises(ValueError, match="mask_target must be one of "
                       r"\['limb_masks', 'hand_masks'\], got 'masks'"):
        StructureMaskHead(mask_target='masks')


def test_structure_loss_errors():
    head = StructureMaskHead(in_channels=16, groups='G1G6', num_stages=1,
                             stage_channels=8)
    with pytest.raises(ValueError, match='has 1 channels.*predicts 7'):
        head.loss([torch.zeros(1, 7, 2, 2)],
                  {'targets': {'limb_masks': torch.zeros(1, 1, 2, 2)}})
    with pytest.raises(ValueError, match=r"\['limb_masks'\]"):
        head.loss([torch.zeros(1, 7, 2, 2)], {'targets': {}})


def test_kcm_predict_decodes_last_stage_to_input_pixels():
    head = small_kcm_head(num_keypoints=2, num_stages=2)
    last = torch.zeros(2, 2, 8, 8)
    last[0, 0, 5, 3] = 0.9   # peak at map (x=3, y=5), symmetric neighbours
    last[0, 1, 0, 7] = 0.4   # corner: no refinement
    last[1, :, 2, 2] = 0.7
    last[1, :, 2, 3] = 0.3   # right neighbour higher: x + 0.25
    preds = head.predict([torch.zeros(2, 2, 8, 8), last], batch=None)
    assert preds['keypoints'].dtype == np.float32
    # stride 64 / 8 = 8 input pixels per map pixel
    np.testing.assert_allclose(
        preds['keypoints'],
        [[[24.0, 40.0], [56.0, 0.0]], [[18.0, 16.0], [18.0, 16.0]]])
    np.testing.assert_allclose(preds['scores'], [[0.9, 0.4], [0.7, 0.7]],
                               rtol=1e-6)
    np.testing.assert_array_equal(preds['heatmaps'], last.numpy())


def test_structure_predict_is_sigmoid_of_last_stage():
    head = StructureMaskHead(in_channels=16, groups='G1', num_stages=2,
                             stage_channels=8)
    last = torch.tensor([[[[0.0, math.log(3.0)]]]])
    preds = head.predict([torch.full_like(last, 9.0), last])
    assert list(preds) == ['structure_maps']
    np.testing.assert_allclose(preds['structure_maps'], [[[[0.5, 0.75]]]],
                               rtol=1e-6)
