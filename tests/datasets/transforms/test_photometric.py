"""PhotometricJitter: identity when off, hand-computed colour changes."""
import numpy as np
import pytest

from handkit.datasets.transforms.photometric import PhotometricJitter
from handkit.registry import TRANSFORMS

OFF = dict(brightness=0, contrast=0, saturation=0, hue=0)
RED = (0, 0, 255)  # BGR


def _image():
    return np.random.default_rng(0).integers(0, 256, (12, 16, 3), np.uint8)


def _jitter(image, seed=0, **kwargs):
    np.random.seed(seed)
    return PhotometricJitter(**kwargs)({'img': image.copy()})['img']


def _draw_after_prob(seed, low, high):
    """The factor the transform draws: np.random after its prob draw."""
    np.random.seed(seed)
    np.random.rand()
    return np.random.uniform(low, high)


def test_all_parts_off_is_identity():
    image = _image()
    np.testing.assert_array_equal(_jitter(image, **OFF), image)


def test_prob_zero_is_identity():
    image = _image()
    np.testing.assert_array_equal(_jitter(image, prob=0.0), image)


def test_output_is_uint8_same_shape_and_seed_deterministic():
    image = _image()
    first, again = _jitter(image, seed=5), _jitter(image, seed=5)
    assert first.dtype == np.uint8 and first.shape == image.shape
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, _jitter(image, seed=6))


def test_brightness_scales_every_channel():
    image = _image()
    factor = _draw_after_prob(2, 0.7, 1.3)
    expected = np.clip(np.rint(image.astype(np.float32) * np.float32(factor)),
                       0, 255)
    result = _jitter(image, seed=2, **{**OFF, 'brightness': 0.3})
    np.testing.assert_array_equal(result, expected)


def test_contrast_blends_with_mean_grey():
    image = np.array([[[10, 10, 10], [110, 110, 110]]], np.uint8)
    factor = _draw_after_prob(6, 0.5, 1.5)
    # Mean grey 60; each pixel moves to 60 +- 50 * factor.
    expected = np.rint([60 - 50 * factor, 60 + 50 * factor])
    result = _jitter(image, seed=6, **{**OFF, 'contrast': 0.5})
    np.testing.assert_allclose(result[0, :, 0], expected, atol=1)
    assert (result == result[..., :1]).all()  # grey stays grey


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_hue_rotates_pure_red_along_the_circle(seed):
    # Hue 0 shifted by d degrees, |d| <= 60, gives R 255 and G = 255 d / 60
    # (d > 0) or B = 255 |d| / 60 (d < 0).
    degrees = 360 * _draw_after_prob(seed, -1 / 6, 1 / 6)
    result = _jitter(np.full((2, 2, 3), RED, np.uint8), seed=seed,
                     **{**OFF, 'hue': 1 / 6})
    expected = [255 * max(-degrees, 0) / 60, 255 * max(degrees, 0) / 60, 255]
    np.testing.assert_allclose(result[0, 0], expected, atol=1)


@pytest.mark.parametrize('seed', [0, 2, 6])
def test_saturation_fades_red_and_keeps_grey(seed):
    factor = _draw_after_prob(seed, 0.5, 1.5)
    image = np.array([[RED, (90, 90, 90)]], np.uint8)
    result = _jitter(image, seed=seed, **{**OFF, 'saturation': 0.5})
    washed = 255 * (1 - min(factor, 1.0))
    np.testing.assert_allclose(result[0, 0], [washed, washed, 255], atol=1)
    np.testing.assert_array_equal(result[0, 1], (90, 90, 90))


def test_bad_strength_and_image_are_refused():
    with pytest.raises(ValueError, match=r'brightness must be in \[0, 1.0\]'):
        PhotometricJitter(brightness=1.5)
    with pytest.raises(ValueError, match=r'hue must be in \[0, 0.5\]'):
        PhotometricJitter(hue=0.7)
    with pytest.raises(ValueError, match='img must be uint8 .*float32'):
        PhotometricJitter()({'img': np.zeros((4, 4, 3), np.float32)})


def test_registered_and_repr():
    transform = TRANSFORMS.build(dict(type='PhotometricJitter', hue=0.1))
    assert repr(transform) == ('PhotometricJitter(brightness=0.2, '
                               'contrast=0.2, saturation=0.2, hue=0.1, '
                               'prob=1.0)')
