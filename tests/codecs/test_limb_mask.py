"""LimbMask: NSRM eq. 1-4 against hand-computed maps on small grids."""
import numpy as np
import pytest

from handkit.codecs.limb_mask import LimbMask
from handkit.registry import CODECS

E = np.exp


def small_codec(kind, size=8, input_size=None, **kwargs):
    """A G1 codec on a size x size map, stride 1 unless input_size is set."""
    return LimbMask(kind=kind, groups=kwargs.pop('groups', 'G1'),
                    input_size=input_size or (size, size),
                    heatmap_size=(size, size), **kwargs)


def one_limb(start, end, parent=0, child=1):
    """Keypoints where only limb parent -> child has both ends visible."""
    keypoints = np.zeros((21, 2), np.float32)
    visible = np.zeros(21, np.float32)
    keypoints[[parent, child]] = start, end
    visible[[parent, child]] = 1
    return keypoints, visible


def encode_one_limb(codec, start, end):
    return codec.encode(*one_limb(start, end))['limb_masks'][0]


def fan_hand(size=46):
    """A spread hand on a size x size map: wrist low, five straight fingers."""
    wrist = np.array([size / 2, size - 4.0])
    angles = np.deg2rad([-150, -115, -90, -65, -40])
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    radii = np.array([8.0, 13.0, 18.0, 23.0])  # base, two joints, tip
    fingers = wrist + radii[None, :, None] * directions[:, None, :]
    return np.concatenate([wrist[None], fingers.reshape(20, 2)])


# --------------------------------------------------------------- LDM (eq. 1-2)
def test_ldm_horizontal_limb_is_an_inclusive_rectangle_without_caps():
    mask = encode_one_limb(small_codec('ldm'), (1, 3), (5, 3))
    expected = np.zeros((8, 8), np.float32)
    expected[2:5, 1:6] = 1  # rows y = 2..4 (distance <= 1), x = 1..5
    np.testing.assert_array_equal(mask, expected)
    assert mask.dtype == np.float32


def test_ldm_diagonal_limb_exact_pattern():
    # A = (1, 1), B = (5, 5), width 1: inside iff |x - y| <= 1 (distance
    # |x - y| / sqrt 2) and 2 <= x + y <= 10 (projection in [0, |AB|^2])
    mask = encode_one_limb(small_codec('ldm'), (1, 1), (5, 5))
    expected = np.array([
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 0, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ], np.float32)
    np.testing.assert_array_equal(mask, expected)


def test_ldm_width_scales_the_rectangle():
    mask = encode_one_limb(small_codec('ldm', width=2.0), (1, 3), (5, 3))
    expected = np.zeros((8, 8), np.float32)
    expected[1:6, 1:6] = 1
    np.testing.assert_array_equal(mask, expected)


def test_ldm_zero_length_limb_is_a_disk():
    mask = encode_one_limb(small_codec('ldm'), (3, 3), (3, 3))
    expected = np.zeros((8, 8), np.float32)
    expected[3, 2:5] = expected[2:5, 3] = 1  # radius 1: the 4-neighbours
    np.testing.assert_array_equal(mask, expected)
    wide = encode_one_limb(small_codec('ldm', width=1.5), (3, 3), (3, 3))
    expected[2:5, 2:5] = 1  # radius 1.5 also holds the diagonals (1.41)
    np.testing.assert_array_equal(wide, expected)


# ----------------------------------------------------------------- LPM (eq. 3)
@pytest.mark.parametrize('distance, pixel, value', [
    ('squared', (3, 3), 1.0),            # on the segment
    ('squared', (3, 5), E(-4 / 2)),      # 2 px beside it
    ('squared', (7, 3), E(-4 / 2)),      # 2 px beyond end B on its line
    ('squared', (6, 4), E(-2 / 2)),      # beyond B: D^2 = 1 + 1 to B
    ('squared', (0, 0), E(-10 / 2)),     # beyond A: D^2 = 1 + 9 to A
    ('linear', (3, 3), 1.0),
    ('linear', (3, 5), E(-2 / 2)),
    ('linear', (6, 4), E(-np.sqrt(2) / 2)),
    ('linear', (0, 0), E(-np.sqrt(10) / 2)),
])
def test_lpm_horizontal_limb_values(distance, pixel, value):
    mask = encode_one_limb(small_codec('lpm', distance=distance), (1, 3),
                           (5, 3))
    x, y = pixel
    assert mask[y, x] == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize('distance, pixel, value', [
    ('squared', (3, 3), 1.0),
    ('squared', (4, 2), E(-2 / 2)),      # closest point (3, 3): D^2 = 2
    ('squared', (0, 2), E(-2 / 2)),      # projection 0: closest point A
    ('squared', (7, 6), E(-5 / 2)),      # beyond B = (5, 5): D^2 = 4 + 1
    ('linear', (4, 2), E(-np.sqrt(2) / 2)),
    ('linear', (7, 6), E(-np.sqrt(5) / 2)),
])
def test_lpm_diagonal_limb_values(distance, pixel, value):
    mask = encode_one_limb(small_codec('lpm', distance=distance), (1, 1),
                           (5, 5))
    x, y = pixel
    assert mask[y, x] == pytest.approx(value, rel=1e-6)


def test_lpm_sigma_and_whole_map_against_segment_distance():
    mask = encode_one_limb(small_codec('lpm', sigma=2.0), (1, 3), (5, 3))
    y, x = np.mgrid[0:8, 0:8]
    distance2 = (x - np.clip(x, 1, 5))**2 + (y - 3)**2
    np.testing.assert_allclose(mask, E(-distance2 / 8), rtol=1e-6)


def test_lpm_zero_length_limb_is_a_gaussian_blob():
    mask = encode_one_limb(small_codec('lpm'), (3, 3), (3, 3))
    assert np.isfinite(mask).all()
    y, x = np.mgrid[0:8, 0:8]
    np.testing.assert_allclose(mask, E(-((x - 3)**2 + (y - 3)**2) / 2),
                               rtol=1e-6)


# ------------------------------------------------------ visibility, geometry
@pytest.mark.parametrize('kind', ['lpm', 'ldm'])
def test_limb_with_an_invisible_end_point_has_a_zero_map(kind):
    codec = small_codec(kind)
    keypoints, visible = one_limb((1, 3), (5, 3))
    assert codec.encode(keypoints, visible)['limb_masks'].any()
    visible[1] = 0
    assert not codec.encode(keypoints, visible)['limb_masks'].any()


def test_groups_with_a_limb_that_has_no_mask_get_zero_weight():
    # G1G6 channels: hand, thumb, index, middle, ring, little, palm. The
    # index tip (keypoint 8) unlabelled: the index limb 7 -> 8 has no mask,
    # so the hand and index channels are weighted out of the loss.
    codec = LimbMask(kind='lpm', groups='G1G6', input_size=(32, 32),
                     heatmap_size=(32, 32))
    keypoints = np.random.default_rng(0).uniform(4, 28, (21, 2))
    encoded = codec.encode(keypoints, np.ones(21))
    np.testing.assert_array_equal(encoded['limb_mask_weights'], np.ones(7))
    visible = np.ones(21)
    visible[8] = 0
    weights = codec.encode(keypoints, visible)['limb_mask_weights']
    assert weights.dtype == np.float32
    np.testing.assert_array_equal(weights, [0, 1, 0, 1, 1, 1, 1])


def test_stride_two_converts_input_pixels_to_map_pixels():
    codec = small_codec('ldm', input_size=(16, 16))
    mask = encode_one_limb(codec, (2, 6), (10, 6))  # map (1, 3) -> (5, 3)
    expected = np.zeros((8, 8), np.float32)
    expected[2:5, 1:6] = 1
    np.testing.assert_array_equal(mask, expected)
    lpm = encode_one_limb(small_codec('lpm', input_size=(16, 16)), (2, 6),
                          (10, 6))
    assert lpm[5, 3] == pytest.approx(E(-2.0), rel=1e-6)  # sigma in map px


def test_stride_368_to_46():
    codec = LimbMask(kind='ldm')
    np.testing.assert_array_equal(codec.stride, [8.0, 8.0])
    mask = codec.encode(*one_limb((80, 120), (160, 120)))['limb_masks'][0]
    assert mask.shape == (46, 46)
    assert mask[14:17, 10:21].all() and mask.sum() == 3 * 11


def test_keypoints_outside_the_map():
    across = encode_one_limb(small_codec('ldm'), (-4, 3), (12, 3))
    expected = np.zeros((8, 8), np.float32)
    expected[2:5] = 1
    np.testing.assert_array_equal(across, expected)
    lpm = encode_one_limb(small_codec('lpm'), (-4, 3), (12, 3))
    assert lpm[3, 0] == pytest.approx(1.0)
    assert lpm[6, 5] == pytest.approx(E(-4.5), rel=1e-6)
    # a limb far away: exp(-169) at best, below float32 precision: exactly 0
    far = encode_one_limb(small_codec('lpm'), (20, 20), (30, 20))
    assert np.isfinite(far).all() and not far.any()
    assert not encode_one_limb(small_codec('ldm'), (20, 20), (30, 20)).any()


# -------------------------------------------------------- composition (eq. 4)
@pytest.mark.parametrize('groups, channels', [('G1', 1), ('G6', 6),
                                              ('G1G6', 7)])
def test_channel_counts(groups, channels):
    codec = LimbMask(groups=groups)
    masks = codec.encode(fan_hand() * 8)['limb_masks']
    assert masks.shape == (channels, 46, 46) and masks.dtype == np.float32
    assert codec.num_channels == channels


def test_composition_is_a_per_pixel_max_not_a_sum():
    # thumb limbs 1 (keypoint 1 -> 2) and 2 (2 -> 3); the wrist is invisible
    keypoints = np.zeros((21, 2), np.float32)
    keypoints[1:4] = (1, 1), (5, 1), (5, 5)
    visible = np.zeros(21, np.float32)
    visible[1:4] = 1
    codec = small_codec('lpm', groups='G1G6')
    masks = codec.encode(keypoints, visible)['limb_masks']
    # pixel (4, 3): D^2 = 4 to limb 1, D^2 = 1 to limb 2
    assert masks[0, 3, 4] == pytest.approx(E(-0.5), rel=1e-6)
    np.testing.assert_array_equal(masks[1], masks[0])  # thumb channel
    assert not masks[2:].any()  # other fingers and palm


@pytest.mark.parametrize('kind', ['lpm', 'ldm'])
def test_g1g6_stacks_g1_and_g6(kind):
    keypoints = fan_hand() * 8
    g1g6 = LimbMask(kind, 'G1G6').encode(keypoints)['limb_masks']
    np.testing.assert_array_equal(
        g1g6[0], LimbMask(kind, 'G1').encode(keypoints)['limb_masks'][0])
    np.testing.assert_array_equal(
        g1g6[1:], LimbMask(kind, 'G6').encode(keypoints)['limb_masks'])
    np.testing.assert_array_equal(g1g6[0], g1g6[1:].max(axis=0))


def test_thumb_tip_pixel_is_in_hand_and_thumb_channels_not_palm():
    hand = fan_hand()
    tip_x, tip_y = np.round(hand[4] - (hand[4] - hand[3]) * 0.2).astype(int)
    ldm = LimbMask('ldm', 'G1G6').encode(hand * 8)['limb_masks']
    np.testing.assert_array_equal(ldm[:, tip_y, tip_x], [1, 1, 0, 0, 0, 0, 0])
    lpm = LimbMask('lpm', 'G1G6').encode(hand * 8)['limb_masks']
    assert lpm[0, tip_y, tip_x] > 0.6 and lpm[1, tip_y, tip_x] > 0.6
    assert lpm[6, tip_y, tip_x] < 1e-6


def test_ldm_holds_only_zeros_and_ones():
    masks = LimbMask('ldm', 'G1G6').encode(fan_hand() * 8)['limb_masks']
    assert set(np.unique(masks).tolist()) == {0.0, 1.0}


def test_registered_and_built_from_config():
    codec = CODECS.build(dict(type='LimbMask', kind='ldm', groups='G1G6'))
    assert isinstance(codec, LimbMask) and codec.num_channels == 7


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize('kwargs, message', [
    (dict(kind='LPM'), r"kind must be one of \['lpm', 'ldm'\], got 'LPM'"),
    (dict(groups='G2'),
     r"groups must be one of \['G1', 'G6', 'G1G6'\], got 'G2'"),
    (dict(distance='cubic'),
     r"distance must be one of \['squared', 'linear'\], got 'cubic'"),
    (dict(width=-1), r'width must be a finite number > 0, got -1'),
    (dict(sigma=float('nan')), r'sigma must be a finite number > 0'),
    (dict(heatmap_size=(46.5, 46)), r'heatmap_size must be \(width, height\)'),
])
def test_constructor_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LimbMask(**kwargs)


@pytest.mark.parametrize('keypoints, visible, message', [
    (np.zeros((20, 2)), None,
     r'keypoints must have shape \(21, 2\), got \(20, 2\)'),
    (np.zeros((21, 3)), None,
     r'keypoints must have shape \(21, 2\), got \(21, 3\)'),
    (np.zeros((21, 2)), np.ones((21, 1)),
     r'keypoints_visible must have shape \(21,\), got \(21, 1\)'),
    (np.where(np.arange(42).reshape(21, 2) == 9, np.nan, 0.0), None,
     r'keypoints hold NaN or inf at indices \[4\]'),
])
def test_encode_rejects_bad_keypoints(keypoints, visible, message):
    with pytest.raises(ValueError, match=message):
        LimbMask().encode(keypoints, visible)
