"""Tests of the procedural hand model and its renderer."""
import numpy as np
import pytest

from handkit.datasets.synthetic.hand_model import (
    BONE_JITTER_RANGE, DEG, FINGER_RATIO_RANGE, LIMITS, REFERENCE_BASES,
    REFERENCE_BONE_LENGTHS, REFERENCE_JOINT_RADII, SIZE_RANGE,
    forward_kinematics, sample_hands)
from handkit.datasets.synthetic.renderer import (OCCLUSION_TOLERANCE_MM,
                                                 render_hand)
from handkit.geometry import project_points
from handkit.hand.kinematics import FINGER_FAN
from handkit.skeleton import LIMBS

SIZE = (96, 96)
SEEDS = range(12)


def _pixel_values(image, keypoints):
    pixel = np.round(keypoints).astype(int)
    return image[pixel[:, 1], pixel[:, 0]]


def _hands(num=400, image_size=SIZE, **kwargs):
    return sample_hands(np.random.default_rng(7), num, image_size, **kwargs)


def test_reference_hand_is_adult_sized():
    # Wrist to middle fingertip, fingers straight: 88 + 45 + 28 + 22 mm.
    length = (np.linalg.norm(REFERENCE_BASES[2])
              + REFERENCE_BONE_LENGTHS[2].sum())
    assert 180.0 <= length <= 190.0


def test_forward_kinematics_hand_computed():
    shape = dict(bases=REFERENCE_BASES[None].copy(),
                 bone_lengths=REFERENCE_BONE_LENGTHS[None].copy())
    flexion = np.zeros((1, 5, 3))
    flexion[0, 2, 1] = 90 * DEG  # middle PIP bent at a right angle
    pose = dict(flexion=flexion, abduction=np.zeros((1, 5)),
                thumb_cmc=np.zeros((1, 3)))
    joints, _ = forward_kinematics(shape, pose)
    middle = joints[0, 9:13]
    np.testing.assert_allclose(middle, [[0, 88, 0], [0, 133, 0],
                                        [0, 133, 28], [0, 133, 50]],
                               atol=1e-9)
    np.testing.assert_allclose(joints[0, 0], [0, 0, 0])


def test_fingers_fan_out_radially_with_positive_abduction():
    # The rest fan (FINGER_FAN, + radial) turns the index toward +x (the
    # radial side, where its MCP is) and the little finger toward -x; the
    # same positive abduction turns every finger toward +x.
    shape = dict(bases=REFERENCE_BASES[None].copy(),
                 bone_lengths=REFERENCE_BONE_LENGTHS[None].copy())
    rest = dict(flexion=np.zeros((1, 5, 3)), abduction=np.zeros((1, 5)),
                thumb_cmc=np.zeros((1, 3)))
    joints, _ = forward_kinematics(shape, rest)
    tips, mcps = joints[0, [8, 12, 16, 20]], joints[0, [5, 9, 13, 17]]
    lean = (tips - mcps)[:, 0] / np.linalg.norm(tips - mcps, axis=1)
    np.testing.assert_allclose(lean, np.sin(FINGER_FAN[1:]),
                               atol=1e-12)
    assert lean[0] > 0 > lean[3]
    spread = dict(rest, abduction=np.full((1, 5), 10 * DEG))
    turned, _ = forward_kinematics(shape, spread)
    assert (turned[0, [8, 12, 16, 20], 0] > tips[:, 0]).all()


def test_bone_lengths_within_anatomical_ranges():
    hands = _hands(2000)
    joints = hands['keypoints_3d']
    lengths = np.linalg.norm(joints[:, LIMBS[:, 1]] - joints[:, LIMBS[:, 0]],
                             axis=-1).reshape(-1, 5, 4)[:, :, 1:]
    low = (REFERENCE_BONE_LENGTHS * SIZE_RANGE[0] * FINGER_RATIO_RANGE[0]
           * BONE_JITTER_RANGE[0])
    high = (REFERENCE_BONE_LENGTHS * SIZE_RANGE[1] * FINGER_RATIO_RANGE[1]
            * BONE_JITTER_RANGE[1])
    assert (lengths >= low - 1e-6).all() and (lengths <= high + 1e-6).all()
    np.testing.assert_allclose(lengths, hands['shape']['bone_lengths'],
                               rtol=1e-9)
    # The middle finger chain of a typical hand: 95 mm at scale 1.
    assert 75 < np.median(lengths[:, 2].sum(1)) < 115


def test_joint_angles_within_limits():
    hands = _hands(2000)
    joints = hands['keypoints_3d']
    fingers = joints[:, 1:].reshape(-1, 5, 4, 3)[:, 1:]   # index..little
    segments = np.diff(fingers, axis=2)
    segments /= np.linalg.norm(segments, axis=-1, keepdims=True)
    bend = np.degrees(np.arccos(np.clip(
        (segments[:, :, :-1] * segments[:, :, 1:]).sum(-1), -1, 1)))
    pip, dip = bend[..., 0], bend[..., 1]
    flexion = np.degrees(hands['pose']['flexion'][:, 1:])
    np.testing.assert_allclose(pip, flexion[..., 1], atol=1e-5)
    np.testing.assert_allclose(dip, flexion[..., 2], atol=1e-5)
    assert pip.min() >= LIMITS['pip_flexion'][0] - 1e-6
    assert pip.max() <= LIMITS['pip_flexion'][1] + 1e-6
    assert dip.max() <= LIMITS['dip_flexion'][1] + 1e-6
    mcp = flexion[..., 0]
    assert mcp.min() >= -20 - 1e-9 and mcp.max() <= 90 + 1e-9
    abduction = np.degrees(hands['pose']['abduction'])
    assert np.abs(abduction).max() <= 20 + 1e-9
    thumb = np.degrees(hands['pose']['thumb_cmc'])
    for column, name in enumerate(('thumb_radial_abduction',
                                   'thumb_palmar_abduction',
                                   'thumb_opposition')):
        low, high = LIMITS[name]
        assert low - 1e-9 <= thumb[:, column].min()
        assert thumb[:, column].max() <= high + 1e-9
    # A share of fists: all four fingers' PIPs strongly flexed.
    assert 0.1 < (pip > 80).all(1).mean() < 0.5


def test_hand_fills_the_requested_fraction_of_the_image():
    hands = _hands(500, image_size=(128, 96))
    pixels = project_points(hands['keypoints_3d'], hands['cam_K'])
    fill = (pixels.max(1) - pixels.min(1)).max(1) / 96
    # The target is met unless the near limit (nearest joint 60 mm from the
    # camera) keeps a hand that points at the camera from coming closer.
    assert (np.abs(fill - hands['fill']) < 0.01).mean() > 0.95
    assert fill.min() > 0.39 and fill.max() < 0.92
    assert (hands['keypoints_3d'][..., 2] >= 60 - 1e-6).all()
    # Uniformly random rotations: the palm normal covers the sphere.
    normal_z = hands['palm_normal'][:, 2]
    assert normal_z.min() < -0.9 and normal_z.max() > 0.9


@pytest.mark.parametrize('seed', SEEDS)
def test_keypoints_are_the_projected_joints(seed):
    sample = render_hand(seed, SIZE)
    uvw = sample['keypoints_3d'].astype(np.float64) @ sample['cam_K'].T
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], sample['keypoints'],
                               atol=1e-3)
    assert sample['image'].shape == (96, 96, 3)
    assert sample['image'].dtype == np.uint8
    assert sample['depth'].dtype == np.float32


@pytest.mark.parametrize('occlusion', [0.0, 0.8])
def test_depth_and_occlusion_flags_agree(occlusion):
    checked = 0
    for seed in SEEDS:
        sample = render_hand(seed, SIZE, occlusion=occlusion)
        inside = sample['keypoints_visible'] > 0
        z = sample['keypoints_3d'][:, 2]
        radius = sample['joint_radii']
        rendered = _pixel_values(sample['depth'], sample['keypoints'][inside])
        hidden = (rendered > 0) & (
            rendered < z[inside] - radius[inside] - OCCLUSION_TOLERANCE_MM)
        np.testing.assert_array_equal(sample['occluded'][inside], hidden)
        seen = ~sample['occluded'][inside]
        # A visible joint's pixel shows its own surface: between the joint
        # and one radius (+ 1 mm) toward the camera.
        surface = rendered[seen]
        assert (surface > 0).all()
        assert (np.abs(surface - z[inside][seen])
                <= radius[inside][seen] + 1.0).all()
        checked += seen.sum()
    assert checked > 50


def test_occluders_hide_keypoints():
    plain = np.mean([render_hand(s, SIZE)['occluded'].mean() for s in SEEDS])
    covered = np.mean([render_hand(s, SIZE, occlusion=1.0)['occluded'].mean()
                       for s in SEEDS])
    assert covered > plain + 0.05


def test_same_seed_same_output_and_different_seeds_differ():
    first, again = render_hand(3, SIZE, occlusion=0.5), render_hand(
        np.random.default_rng(3), SIZE, occlusion=0.5)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    other = render_hand(4, SIZE, occlusion=0.5)
    assert not np.array_equal(first['image'], other['image'])
    assert not np.allclose(first['keypoints'], other['keypoints'])
    # The geometry does not depend on the modality.
    depth = render_hand(3, SIZE, modality='depth', occlusion=0.5)
    np.testing.assert_array_equal(depth['keypoints'], first['keypoints'])
    np.testing.assert_array_equal(depth['depth'], first['depth'])
    np.testing.assert_array_equal(depth['image'][..., 0],
                                  depth['image'][..., 2])


def test_mask_and_depth_background():
    sample = render_hand(5, SIZE)
    depth, mask = sample['depth'], sample['mask']
    assert mask.dtype == bool and mask.sum() > 100
    assert (depth[mask] > 0).all()
    assert (depth == 0).sum() > 0
    # Hand surfaces lie within the hand's depth range (+- its thickness: the
    # palm's far side beside the wrist can lie behind the wrist joint).
    z = sample['keypoints_3d'][:, 2]
    assert depth[mask].min() > z.min() - 30
    assert depth[mask].max() < z.max() + 30


def test_keypoints_outside_the_image_are_not_visible():
    outside_seen = 0
    for seed in SEEDS:
        sample = render_hand(seed, SIZE, fill_range=(1.4, 1.8))
        pixel = np.round(sample['keypoints'])
        inside = ((pixel >= 0) & (pixel <= 95)).all(1)
        np.testing.assert_array_equal(sample['keypoints_visible'],
                                      inside.astype(np.float32))
        assert not sample['occluded'][~inside].any()
        outside_seen += (~inside).sum()
    assert outside_seen > 0


@pytest.mark.parametrize('kwargs, match', [
    (dict(modality='foo'), 'modality'),
    (dict(image_size=0), 'image_size'),
    (dict(image_size=(64, )), 'image_size'),
    (dict(occlusion=1.5), 'occlusion'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_hand(0, **kwargs)


def test_radii_thin_toward_the_tip():
    radii = REFERENCE_JOINT_RADII[1:].reshape(5, 4)
    assert (np.diff(radii, axis=1) < 0).all()
    hands = _hands(10)
    np.testing.assert_array_equal(hands['bone_radii'],
                                  hands['joint_radii'][:, LIMBS])


def test_left_ratio_mirrors_the_same_hands():
    right, left = _hands(left_ratio=0.0), _hands(left_ratio=1.0)
    assert not right['is_left'].any() and left['is_left'].all()
    # the same draws: the same pose and shape, only the side differs
    np.testing.assert_array_equal(right['pose']['flexion'],
                                  left['pose']['flexion'])
    mixed = _hands(num=2000)
    assert 0.45 < mixed['is_left'].mean() < 0.55  # default 0.5


def test_pose_mix_draws_only_the_given_styles():
    from handkit.datasets.synthetic.hand_model import POSE_MIX
    hands = _hands(pose_mix=dict(open=1))
    assert (hands['pose']['style'] == list(POSE_MIX).index('open')).all()
    # open hands: finger MCP flexion within (-20, 25) degrees
    mcp = hands['pose']['flexion'][:, 1:, 0] / DEG
    assert mcp.min() >= -20 and mcp.max() <= 25
    fists = _hands(pose_mix=dict(fist=1))
    assert (fists['pose']['flexion'][:, 1:, 0] / DEG).min() >= 65
    with pytest.raises(ValueError, match="pose_mix must give non-negative "
                       "weights to the styles"):
        _hands(pose_mix=dict(wave=1))


def test_max_view_angle_keeps_the_palm_or_the_back_facing_the_camera():
    hands = _hands(max_view_angle=20)
    # hand z (the palmar normal) within 20 degrees of the viewing axis,
    # toward the camera (palm) or away from it (back), about even odds
    normal_z = hands['hand_axes'][:, 2, 2]
    assert (np.abs(normal_z) >= np.cos(20 * DEG) - 1e-9).all()
    assert 0.35 < (normal_z < 0).mean() < 0.65
    every_view = _hands()
    assert (np.abs(every_view['hand_axes'][:, 2, 2])
            < np.cos(60 * DEG)).any()
    with pytest.raises(ValueError, match=r'max_view_angle must be None or in '
                       r'\[0, 90\] degrees, got 120'):
        _hands(max_view_angle=120)
