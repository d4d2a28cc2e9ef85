"""KeypointConfidenceMap: NSRM eq. 6 values, stride, decode, validation."""
import numpy as np
import pytest
import torch

from handkit.codecs.keypoint_confidence_map import KeypointConfidenceMap
from handkit.registry import CODECS


def unit_stride_codec(sigma=1.0):
    return KeypointConfidenceMap(input_size=(8, 8), heatmap_size=(8, 8),
                                 sigma=sigma)


def test_eq6_values_at_chosen_pixels():
    codec = unit_stride_codec()
    heatmaps = codec.encode(np.array([[3.0, 4.0]]))['heatmaps']
    assert heatmaps.shape == (1, 8, 8) and heatmaps.dtype == np.float32
    # heatmaps[k, y, x]; the keypoint sits at x = 3, y = 4
    assert heatmaps[0, 4, 3] == pytest.approx(1.0)
    assert heatmaps[0, 4, 5] == pytest.approx(np.exp(-2.0), rel=1e-6)
    assert heatmaps[0, 5, 4] == pytest.approx(np.exp(-1.0), rel=1e-6)
    assert heatmaps[0, 0, 0] == pytest.approx(np.exp(-12.5), rel=1e-6)
    wide = unit_stride_codec(sigma=2.0).encode(np.array([[3.0, 4.0]]))
    assert wide['heatmaps'][0, 4, 5] == pytest.approx(np.exp(-0.5), rel=1e-6)


def test_eq6_sub_pixel_centre_matches_formula_on_whole_grid():
    codec = unit_stride_codec(sigma=1.5)
    heatmaps = codec.encode(np.array([[2.3, 5.6]]))['heatmaps']
    y, x = np.mgrid[0:8, 0:8]
    expected = np.exp(-((x - 2.3)**2 + (y - 5.6)**2) / (2 * 1.5**2))
    np.testing.assert_allclose(heatmaps[0], expected, rtol=1e-6, atol=0)


def test_stride_368_to_46_and_per_axis_stride():
    codec = KeypointConfidenceMap()  # 368 -> 46: stride 8
    np.testing.assert_array_equal(codec.stride, [8.0, 8.0])
    heatmaps = codec.encode(np.array([[80.0, 120.0]]))['heatmaps']
    assert heatmaps.shape == (1, 46, 46)
    assert np.unravel_index(heatmaps[0].argmax(), (46, 46)) == (15, 10)
    assert heatmaps[0, 15, 11] == pytest.approx(np.exp(-0.5), rel=1e-6)
    # 12 input px = 1.5 map px: the map peaks between pixels 10 and 11
    half = codec.encode(np.array([[84.0, 120.0]]))['heatmaps']
    assert half[0, 15, 10] == pytest.approx(half[0, 15, 11])
    assert half[0, 15, 10] == pytest.approx(np.exp(-0.125), rel=1e-6)

    anisotropic = KeypointConfidenceMap(input_size=(368, 184),
                                        heatmap_size=(46, 46))
    np.testing.assert_array_equal(anisotropic.stride, [8.0, 4.0])
    maps = anisotropic.encode(np.array([[80.0, 60.0]]))['heatmaps']
    assert maps[0, 15, 10] == pytest.approx(1.0)


def test_invisible_keypoint_has_zero_map_and_weight():
    codec = unit_stride_codec()
    keypoints = np.array([[3.0, 4.0], [5.0, 5.0], [1.0, 1.0]])
    encoded = codec.encode(keypoints, np.array([1, 0, 2]))
    np.testing.assert_array_equal(encoded['keypoint_weights'], [1, 0, 1])
    assert encoded['keypoint_weights'].dtype == np.float32
    assert not encoded['heatmaps'][1].any()
    assert encoded['heatmaps'][2, 1, 1] == pytest.approx(1.0)
    all_visible = codec.encode(keypoints, None)
    np.testing.assert_array_equal(all_visible['keypoint_weights'], [1, 1, 1])


def test_keypoints_outside_the_map():
    codec = unit_stride_codec()
    heatmaps = codec.encode(np.array([[-3.0, 2.0], [1000.0, -1000.0]]))[
        'heatmaps']
    assert np.isfinite(heatmaps).all()
    assert heatmaps[0, 2, 0] == pytest.approx(np.exp(-4.5), rel=1e-6)
    assert heatmaps[0].max() == heatmaps[0, 2, 0]
    assert heatmaps[1].max() == 0.0  # underflows: eq. 6 is ~1e-200000 there


def test_decode_integer_map_positions_exactly():
    codec = KeypointConfidenceMap()
    map_positions = np.array([[10, 15], [0, 0], [45, 45], [3, 40], [45, 0]],
                             dtype=np.float32)
    keypoints = map_positions * 8
    decoded, scores = codec.decode(codec.encode(keypoints)['heatmaps'])
    assert decoded.dtype == np.float32 and decoded.shape == (5, 2)
    np.testing.assert_array_equal(decoded, keypoints)
    np.testing.assert_allclose(scores, 1.0)


def test_decode_quarter_pixel_shift_toward_higher_neighbour():
    codec = KeypointConfidenceMap()
    # map x 10.3 -> argmax 10, right neighbour higher -> 10.25 (82 px);
    # map y 9.8 -> argmax 10, upper neighbour (9) higher -> 9.75 (78 px)
    decoded, scores = codec.decode(
        codec.encode(np.array([[10.3 * 8, 9.8 * 8]]))['heatmaps'])
    np.testing.assert_allclose(decoded, [[82.0, 78.0]], atol=1e-4)
    assert scores[0] == pytest.approx(np.exp(-(0.3**2 + 0.2**2) / 2), 1e-6)


def test_decode_no_shift_on_the_border():
    codec = KeypointConfidenceMap()
    # map x -0.4 peaks at the border pixel 0: no shift on x; y 5.3 -> 5.25
    decoded, _ = codec.decode(
        codec.encode(np.array([[-0.4 * 8, 5.3 * 8]]))['heatmaps'])
    np.testing.assert_allclose(decoded, [[0.0, 42.0]], atol=1e-4)


def test_decode_round_trip_sub_pixel_within_a_quarter_map_pixel():
    codec = KeypointConfidenceMap()
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 45 * 8, size=(21, 2))
    decoded, _ = codec.decode(codec.encode(keypoints)['heatmaps'])
    # the refined argmax is off by at most 0.25 map px = 2 input px per axis
    error = np.abs(decoded - keypoints)
    assert error.max() <= 0.25 * 8 + 1e-3
    # and it beats the plain argmax (off by up to 0.5 map px) on average
    plain_error = np.abs(np.round(keypoints / 8) * 8 - keypoints)
    assert error.mean() < plain_error.mean()


def test_upsample_decode_halves_the_quarter_pixel_error():
    # 16 x 16 maps of a 128 input (stride 8), sigma 2 map px, as the
    # quickstart: bicubic upsampling to the input, then argmax.
    quarter = KeypointConfidenceMap((128, 128), (16, 16), sigma=2.0)
    upsample = KeypointConfidenceMap((128, 128), (16, 16), sigma=2.0,
                                     subpixel='upsample')
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(0, 120, size=(200, 21, 2))
    heatmaps = np.stack([quarter.encode(k)['heatmaps'] for k in keypoints])
    fine, scores = upsample.decode(heatmaps)
    coarse, _ = quarter.decode(heatmaps)
    fine_error = np.linalg.norm(fine - keypoints, axis=-1)
    coarse_error = np.linalg.norm(coarse - keypoints, axis=-1)
    assert fine.shape == (200, 21, 2) and fine.dtype == np.float32
    assert fine_error.mean() < 0.6 * coarse_error.mean()
    assert fine_error.mean() < 1.0 and fine_error.max() < 4.0
    # bicubic interpolation overshoots the peak a little
    assert scores.shape == (200, 21) and scores.max() <= 1.05
    # A keypoint on a map pixel comes back on it.
    exact, _ = upsample.decode(quarter.encode(np.array([[40.0, 64.0]]))[
        'heatmaps'])
    np.testing.assert_allclose(exact, [[40.0, 64.0]], atol=0.51)
    with pytest.raises(ValueError, match="subpixel must be one of"):
        KeypointConfidenceMap(subpixel='dark')


def test_batched_decode_shapes_and_torch_input():
    codec = KeypointConfidenceMap()
    rng = np.random.default_rng(1)
    keypoints = rng.integers(0, 46, size=(3, 21, 2)).astype(np.float32) * 8
    batch = np.stack([codec.encode(k)['heatmaps'] for k in keypoints])
    decoded, scores = codec.decode(batch)
    assert decoded.shape == (3, 21, 2) and scores.shape == (3, 21)
    np.testing.assert_array_equal(decoded, keypoints)
    batch[1, 4] *= 0.5
    decoded_t, scores_t = codec.decode(torch.from_numpy(batch))
    np.testing.assert_array_equal(decoded_t, keypoints)
    assert scores_t[1, 4] == pytest.approx(0.5)
    assert scores_t[0, 4] == pytest.approx(1.0)
    # mixed-precision network outputs decode too
    decoded_bf16, _ = codec.decode(
        torch.from_numpy(batch).to(torch.bfloat16).requires_grad_())
    np.testing.assert_array_equal(decoded_bf16, keypoints)


def test_decode_of_an_invisible_keypoint_scores_zero():
    codec = unit_stride_codec()
    heatmaps = codec.encode(np.array([[3.0, 4.0], [5.0, 5.0]]),
                            np.array([1.0, 0.0]))['heatmaps']
    _, scores = codec.decode(heatmaps)
    np.testing.assert_allclose(scores, [1.0, 0.0])


def test_registered_and_built_from_config():
    codec = CODECS.build(dict(type='KeypointConfidenceMap', sigma=2.0))
    assert isinstance(codec, KeypointConfidenceMap) and codec.sigma == 2.0


@pytest.mark.parametrize('keypoints, visible, message', [
    (np.zeros((21, 3)), None, r'keypoints must have shape \(K, 2\), '
     r'got \(21, 3\)'),
    (np.zeros(42), None, r'keypoints must have shape \(K, 2\), got \(42,\)'),
    (np.zeros((21, 2)), np.ones(20), r'keypoints_visible must have shape '
     r'\(21,\), got \(20,\)'),
    (np.array([[1.0, 2.0], [np.nan, 0.0], [3.0, np.inf]]), None,
     r'keypoints hold NaN or inf at indices \[1, 2\]'),
    (np.zeros((2, 2)), np.array([1.0, np.nan]),
     r'keypoints_visible hold NaN or inf at indices \[1\]'),
])
def test_encode_rejects_bad_keypoints(keypoints, visible, message):
    with pytest.raises(ValueError, match=message):
        KeypointConfidenceMap().encode(keypoints, visible)


def test_decode_rejects_bad_heatmaps():
    codec = KeypointConfidenceMap()
    with pytest.raises(ValueError, match=r'heatmaps must have shape '
                       r'\(K, 46, 46\) or \(N, K, 46, 46\), got \(46, 46\)'):
        codec.decode(np.zeros((46, 46)))
    with pytest.raises(ValueError, match=r'got \(21, 64, 64\)'):
        codec.decode(np.zeros((21, 64, 64)))
    bad = np.zeros((21, 46, 46))
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match='heatmaps hold NaN or inf'):
        codec.decode(bad)


@pytest.mark.parametrize('kwargs, message', [
    (dict(input_size=(368, )), r'input_size must be \(width, height\) of two '
     r'positive integers, got \(368,\)'),
    (dict(heatmap_size=(46, 0)), r'heatmap_size must be .*got \(46, 0\)'),
    (dict(input_size=(368.5, 368)),
     r'input_size must be .*got \(368.5, 368\)'),
    (dict(sigma=0), r'sigma must be a finite number > 0, got 0'),
    (dict(sigma='2'), r"sigma must be a finite number > 0, got '2'"),
])
def test_constructor_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KeypointConfidenceMap(**kwargs)
