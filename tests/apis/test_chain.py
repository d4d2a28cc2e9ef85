"""detect_hand (HandSegNet -> the hand box) and inverse_kinematics (DetNet's
3D joints -> IKNet's rotations), with tiny randomly initialised models."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from handkit.apis import (detect_hand, inference, init_model,
                          inverse_kinematics)
from handkit.codecs.location_map import LocationMap
from handkit.datasets.synthetic.joint_rotations import sample_ik_hands
from handkit.geometry import get_warp_matrix
from handkit.hand import reference_rest_pose
from handkit.models.ik import mirror_quaternions, quaternion_to_matrix

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tests' / 'deploy'))
from tiny_models import IMAGE, tiny_model  # noqa: E402  238 x 358 (w x h)

IKNET_CONFIG = str(ROOT / 'configs' / 'zhou' / 'iknet_synthetic.py')
TINY_IKNET = {'model.width': 16}
# The whole 238 x 358 image padded to a 358 square, resized to 128 x 128:
# image px = (input px - 63.5) x 358 / 128 + the image centre.
IMAGE_PX_PER_INPUT_PX = 358 / 128
IMAGE_CENTRE = np.array([118.5, 178.5])


@pytest.fixture(scope='module')
def seg_model():
    return tiny_model('handsegnet')  # 128 x 128 input


@pytest.fixture(scope='module')
def iknet():
    torch.manual_seed(0)
    return init_model(IKNET_CONFIG, cfg_options=TINY_IKNET)


def with_probability(monkeypatch, seg_model, probability):
    """Make the seg model's hand probability ``probability`` (H, W)."""
    head = seg_model.heads[0]
    maps = torch.as_tensor(probability, dtype=torch.float32)[None, None]
    monkeypatch.setattr(head, 'predict_tensors',
                        lambda outputs: {'hand_maps': maps})


def blob_probability():
    """A hand at input rows 40-70, columns 50-60 (0.9), and a weaker
    object (0.6) 30 px away that crop_from_hand_mask must leave out."""
    probability = np.full((128, 128), 0.1, np.float32)
    probability[40:71, 50:61] = 0.9
    probability[100:111, 100:106] = 0.6
    return probability


def test_detect_hand_maps_the_mask_crop_to_image_pixels(
        monkeypatch, seg_model):
    with_probability(monkeypatch, seg_model, blob_probability())
    hand = detect_hand(seg_model, str(IMAGE))
    # input px: box x 50..60, y 40..70 -> centre (55, 55), side 1.25 x 30
    centre = (np.array([55.0, 55.0]) - 63.5) * IMAGE_PX_PER_INPUT_PX \
        + IMAGE_CENTRE  # (94.7266, 154.7266)
    side = 37.5 * IMAGE_PX_PER_INPUT_PX  # 104.8828
    assert hand['found'] is True
    np.testing.assert_allclose(hand['crop_center'], centre, atol=1e-3)
    assert hand['crop_size'] == pytest.approx(side, abs=1e-3)
    # the square of side 104.8828 / 1.25 centred on the crop
    np.testing.assert_allclose(
        hand['bbox'], [94.7266 - 41.9531, 154.7266 - 41.9531,
                       94.7266 + 41.9531, 154.7266 + 41.9531], atol=1e-3)
    assert hand['bbox'].dtype == np.float32
    assert hand['hand_probability'].shape == (128, 128)
    assert hand['hand_probability'].dtype == np.float32
    np.testing.assert_array_equal(hand['hand_probability'],
                                  blob_probability())
    np.testing.assert_allclose(
        hand['warp_mat'], get_warp_matrix(IMAGE_CENTRE, 358.0, 0.0,
                                          (128, 128)), atol=1e-6)


def test_the_box_makes_inference_crop_zimmermann_and_broxs_crop(
        monkeypatch, seg_model):
    """HandSegNet's box into PoseNet + PosePrior: the crop inference()
    takes is the crop crop_from_hand_mask chose."""
    with_probability(monkeypatch, seg_model, blob_probability())
    hand = detect_hand(seg_model, str(IMAGE))
    pose_model = tiny_model('zimmermann_brox')  # 128 x 128 input
    result = inference(pose_model, str(IMAGE), bbox=hand['bbox'],
                       hand_side='left')
    np.testing.assert_allclose(
        result['warp_mat'], get_warp_matrix(hand['crop_center'],
                                            hand['crop_size'], 0.0,
                                            (128, 128)), atol=1e-5)
    assert result['keypoints_3d'].shape == (21, 3)


def test_no_hand_gives_the_whole_image_square(monkeypatch, seg_model):
    with_probability(monkeypatch, seg_model,
                     np.full((128, 128), 0.2, np.float32))
    hand = detect_hand(seg_model, str(IMAGE))
    assert hand['found'] is False
    np.testing.assert_allclose(hand['crop_center'], IMAGE_CENTRE, atol=1e-4)
    assert hand['crop_size'] == pytest.approx(358.0, abs=1e-3)
    np.testing.assert_allclose(
        hand['bbox'], [118.5 - 143.2, 178.5 - 143.2, 118.5 + 143.2,
                       178.5 + 143.2], atol=1e-3)


def test_detect_hand_errors_are_one_line(seg_model):
    with pytest.raises(ValueError, match=r"detect_hand: the model predicts "
                       r"no hand mask \(its outputs are \['delta_maps', "
                       r"'heatmaps', 'input_size', 'keypoints'"):
        detect_hand(tiny_model('detnet'), str(IMAGE))
    wide = init_model(
        seg_model.cfg, cfg_options={
            'test_dataloader.dataset.pipeline.warp.input_size': (128, 96)})
    with pytest.raises(ValueError, match=r"detect_hand: the model's input "
                       r'size \(128, 96\) is not square'):
        detect_hand(wide, str(IMAGE))
    with pytest.raises(ValueError, match=r'BGR uint8 \(H, W, 3\)'):
        detect_hand(seg_model, np.zeros((10, 10), np.uint8))


def test_init_model_loads_train_iknets_checkpoint(iknet, tmp_path):
    path = tmp_path / 'iknet.pth'  # a state dict (a Runner checkpoint:
    # tests/tools/test_side_models_train.py)
    torch.save(dict(state_dict=iknet.state_dict(),
                    meta=dict(rotation_error_deg=12.5)), path)
    loaded = init_model(IKNET_CONFIG, str(path), cfg_options=TINY_IKNET)
    assert not loaded.training
    for key, value in iknet.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_inverse_kinematics_of_a_detnet_result(iknet):
    result = inference(tiny_model('detnet'), str(IMAGE))
    rotations = inverse_kinematics(iknet, result)
    quaternions = rotations['quaternions']
    assert quaternions.shape == (21, 4) and quaternions.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(quaternions, axis=1), 1.0,
                               atol=1e-5)
    assert (quaternions[:, 0] >= 0).all()
    posed = rotations['ik_keypoints_3d']
    assert posed.shape == (21, 3) and posed.dtype == np.float32
    np.testing.assert_allclose(posed[0], 0.0, atol=1e-5)  # wrist-rooted
    # in the result's mm: the joints' wrist -> middle-MCP bone
    codec = LocationMap()
    assert float(codec.reference_length(posed)) == pytest.approx(
        float(codec.reference_length(result['keypoints_3d'])), rel=1e-4)
    # DetNet's read-out is in IKNet's units already: the same rotations
    from_read_out = inverse_kinematics(
        iknet, {'keypoints_3d': result['keypoints_3d_normalized']})
    np.testing.assert_allclose(from_read_out['quaternions'], quaternions,
                               atol=1e-5)
    # the default rest pose: the reference right hand, in IKNet's units
    np.testing.assert_allclose(rotations['rest_pose_normalized'],
                               codec.normalize(reference_rest_pose()),
                               atol=1e-6)


def test_the_path_gives_iknets_own_quaternions(iknet):
    """The synthetic forward kinematics' joints (mm, camera frame) through
    inverse_kinematics give what IKNet gives on the units it trains in (the
    paper config's left hands: nothing mirrored)."""
    assert iknet.hand_side == 'left'
    hands = sample_ik_hands(np.random.default_rng(3), 4, left_ratio=1.0)
    codec = LocationMap()
    direct = iknet.predict(
        torch.as_tensor(codec.normalize(hands['keypoints_3d']),
                        dtype=torch.float32),
        torch.as_tensor(codec.normalize(hands['rest_keypoints_3d']),
                        dtype=torch.float32)).numpy()
    for index in range(4):
        through_api = inverse_kinematics(
            iknet, {'keypoints_3d': hands['keypoints_3d'][index]}, 'left',
            rest_pose=hands['rest_keypoints_3d'][index])
        np.testing.assert_allclose(through_api['quaternions'],
                                   direct[index], atol=1e-5)


def test_true_rotations_give_back_the_joints(monkeypatch, iknet):
    """Units of ik_keypoints_3d: the rest pose turned by the hand's true
    rotations is the hand, wrist-relative, in the result's mm. The left-hand
    model sees a right hand mirrored, so a perfect one answers the mirrored
    rotations, and the right hand's come back."""
    hands = sample_ik_hands(np.random.default_rng(11), 2, left_ratio=0.5)
    assert hands['is_left'].tolist() == [True, False]
    for index in range(2):
        truth = torch.as_tensor(hands['quaternions'][index:index + 1],
                                dtype=torch.float32)
        seen = truth if hands['is_left'][index] else mirror_quaternions(truth)
        monkeypatch.setattr(iknet, 'predict', lambda *inputs: seen)
        side = 'left' if hands['is_left'][index] else 'right'
        rotations = inverse_kinematics(
            iknet, {'keypoints_3d': hands['keypoints_3d'][index]}, side,
            rest_pose=hands['rest_keypoints_3d'][index])
        joints = hands['keypoints_3d'][index]
        np.testing.assert_allclose(rotations['ik_keypoints_3d'],
                                   joints - joints[0], atol=1e-3)
        np.testing.assert_allclose(rotations['quaternions'], truth[0],
                                   atol=1e-6)


def test_the_left_hand_iknet_mirrors_right_hands_in_and_out(iknet):
    """Zhou et al.'s released IKNet is a left-hand model (minimal-hand
    config.py:4): a right hand's answer is the mirror image of the answer
    for the mirrored (left) hand."""
    hands = sample_ik_hands(np.random.default_rng(5), 1, left_ratio=0.0)
    joints = hands['keypoints_3d'][0]
    right = inverse_kinematics(iknet, {'keypoints_3d': joints}, 'right')
    left = inverse_kinematics(iknet, {'keypoints_3d': joints * [-1, 1, 1]},
                              'left')
    np.testing.assert_allclose(right['quaternions'],
                               left['quaternions'] * [1, 1, -1, -1],
                               atol=1e-6)
    for key in ('ik_keypoints_3d', 'rest_pose_normalized'):
        np.testing.assert_allclose(right[key], left[key] * [-1, 1, 1],
                                   atol=1e-5)
    np.testing.assert_allclose(right['rest_pose_normalized'],
                               LocationMap().normalize(reference_rest_pose()),
                               atol=1e-6)


def test_mirrored_quaternions_are_the_mirrored_rotations():
    """mirror_quaternions(q) is M R(q) M, M = diag(-1, 1, 1)."""
    generator = torch.Generator().manual_seed(0)
    quaternions = torch.randn(16, 4, generator=generator)
    quaternions = quaternions / quaternions.norm(dim=-1, keepdim=True)
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
    torch.testing.assert_close(
        quaternion_to_matrix(mirror_quaternions(quaternions)),
        mirror @ quaternion_to_matrix(quaternions) @ mirror)


def test_the_left_rest_pose_is_the_mirrored_reference_hand(iknet):
    right, left = reference_rest_pose(), reference_rest_pose(is_left=True)
    assert right.shape == (21, 3)
    np.testing.assert_allclose(left, right * [-1, 1, 1])
    # the reference middle MCP (hand_model.REFERENCE_BASES) and wrist
    np.testing.assert_allclose(right[9], [0.0, 88.0, 0.0])
    np.testing.assert_allclose(right[0], 0.0)
    result = {'keypoints_3d': right}
    rotations = inverse_kinematics(iknet, result, 'left')
    np.testing.assert_allclose(rotations['rest_pose_normalized'],
                               LocationMap().normalize(left), atol=1e-6)


def test_inverse_kinematics_errors_are_one_line(iknet):
    joints = reference_rest_pose()
    with pytest.raises(ValueError, match=r'iknet_model must be an IKNet '
                       r'\(init_model on configs/zhou/iknet_synthetic.py\), '
                       r'got CascadeEstimator'):
        inverse_kinematics(tiny_model('detnet'), {'keypoints_3d': joints})
    with pytest.raises(ValueError, match=r"the result has no 'keypoints_3d' "
                       r"\(its keys are \['keypoints', 'scores'\]\)"):
        inverse_kinematics(iknet, {'keypoints': np.zeros((21, 2)),
                                   'scores': np.zeros(21)})
    with pytest.raises(ValueError, match=r"result\['keypoints_3d'\]: "
                       r'keypoints_3d must have shape \(21, 3\), got '
                       r'\(5, 3\)'):
        inverse_kinematics(iknet, {'keypoints_3d': np.zeros((5, 3))})
    with pytest.raises(ValueError, match=r'rest_pose: keypoints_3d must have '
                       r'shape \(21, 3\), got \(21, 2\)'):
        inverse_kinematics(iknet, {'keypoints_3d': joints},
                           rest_pose=np.zeros((21, 2)))
    with pytest.raises(ValueError, match=r'the reference bone \(0, 9\) has '
                       r'length 0: the 3D label cannot be normalised'):
        inverse_kinematics(iknet, {'keypoints_3d': np.zeros((21, 3))})
    with pytest.raises(ValueError, match=r"hand_side must be one of "
                       r"\('left', 'right'\), got 'up'"):
        inverse_kinematics(iknet, {'keypoints_3d': joints}, 'up')
