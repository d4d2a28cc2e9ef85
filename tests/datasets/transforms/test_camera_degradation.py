"""CameraDegradation: identity when off, each part against OpenCV / numpy
computed by hand with the same random draws, one-line argument errors."""
import cv2
import numpy as np
import pytest

from handkit.datasets.transforms.photometric import CameraDegradation
from handkit.registry import TRANSFORMS


def _image():
    return np.random.default_rng(0).integers(0, 256, (16, 24, 3), np.uint8)


def _degrade(image, seed=0, **kwargs):
    np.random.seed(seed)
    return CameraDegradation(**kwargs)({'img': image.copy()})['img']


def _draw_after_parts(seed, low, high):
    """The strength the transform draws: np.random after its 3 part draws."""
    np.random.seed(seed)
    np.random.rand(3)
    return np.random.uniform(low, high)


def test_prob_zero_and_all_parts_off_are_identity():
    image = _image()
    np.testing.assert_array_equal(_degrade(image, prob=0.0), image)
    np.testing.assert_array_equal(
        _degrade(image, prob=1.0, blur_sigma=None, noise_std=None,
                 jpeg_quality=None), image)


def test_blur_is_opencv_gaussian_blur_with_the_drawn_sigma():
    image = _image()
    sigma = _draw_after_parts(3, 0.5, 2.0)
    size = 2 * int(np.ceil(3 * sigma)) + 1
    expected = cv2.GaussianBlur(image, (size, size), sigma)
    result = _degrade(image, seed=3, prob=1.0, blur_sigma=(0.5, 2.0),
                      noise_std=None, jpeg_quality=None)
    np.testing.assert_array_equal(result, expected)


def test_noise_has_the_drawn_standard_deviation():
    image = np.full((128, 128, 3), 128, np.uint8)
    std = _draw_after_parts(4, 4.0, 12.0)
    result = _degrade(image, seed=4, prob=1.0, blur_sigma=None,
                      noise_std=(4.0, 12.0), jpeg_quality=None)
    difference = result.astype(np.float64) - 128
    assert abs(difference.mean()) < 0.15
    assert difference.std() == pytest.approx(std, rel=0.03)


def test_jpeg_is_an_opencv_round_trip_at_the_drawn_quality():
    image = _image()
    quality = int(round(_draw_after_parts(5, 20, 60)))
    _, data = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    expected = cv2.imdecode(data, cv2.IMREAD_COLOR)
    result = _degrade(image, seed=5, prob=1.0, blur_sigma=None,
                      noise_std=None, jpeg_quality=(20, 60))
    np.testing.assert_array_equal(result, expected)
    assert not np.array_equal(result, image)


def test_output_is_uint8_same_shape_seed_deterministic_and_registered():
    image = _image()
    transform = TRANSFORMS.build(dict(type='CameraDegradation', prob=1.0))
    np.random.seed(7)
    first = transform({'img': image.copy()})['img']
    np.random.seed(7)
    again = transform({'img': image.copy()})['img']
    assert first.dtype == np.uint8 and first.shape == image.shape
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize('kwargs, name', [
    (dict(blur_sigma=(2.0, 1.0)), 'blur_sigma'),
    (dict(noise_std=(0.0, 99.0)), 'noise_std'),
    (dict(jpeg_quality=50), 'jpeg_quality'),
    (dict(prob=1.5), 'prob'),
])
def test_bad_arguments_name_themselves_in_one_line(kwargs, name):
    with pytest.raises(ValueError, match=f'CameraDegradation: {name}') as err:
        CameraDegradation(**kwargs)
    assert '\n' not in str(err.value)


def test_refuses_a_non_bgr_image():
    with pytest.raises(ValueError, match='uint8 \\(H, W, 3\\)'):
        CameraDegradation()({'img': np.zeros((4, 4), np.uint8)})
