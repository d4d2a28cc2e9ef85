"""LoadImage: decoding, shapes, and the errors for missing or broken files."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from handkit.datasets.transforms.loading import LoadImage
from handkit.registry import TRANSFORMS

PANOPTIC_IMAGE = (Path(__file__).resolve().parents[2] / 'data' /
                  'panoptic_coco' / '005880453_01_r.jpg')


def _bgr_image(height=5, width=7):
    return np.arange(height * width * 3, dtype=np.uint8).reshape(
        height, width, 3)


def test_png_is_read_exactly_as_bgr_with_shapes(tmp_path):
    image = _bgr_image()
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), image)
    results = LoadImage()({'img_path': str(path)})
    np.testing.assert_array_equal(results['img'], image)
    assert results['img'].dtype == np.uint8
    assert results['img_shape'] == (5, 7)
    assert results['ori_shape'] == (5, 7)


def test_to_float32_keeps_values(tmp_path):
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), _bgr_image())
    img = LoadImage(to_float32=True)({'img_path': str(path)})['img']
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img, _bgr_image().astype(np.float32))


def test_grayscale_is_replicated_in_three_channels(tmp_path):
    image = _bgr_image()
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), image)
    img = LoadImage(color_type='grayscale')({'img_path': str(path)})['img']
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert img.shape == (5, 7, 3)
    for channel in range(3):
        np.testing.assert_array_equal(img[..., channel], grey)


def test_complete_jpeg_decodes(tmp_path):
    path = tmp_path / 'hand.jpg'
    cv2.imwrite(str(path), np.full((16, 24, 3), 128, np.uint8))
    img = LoadImage()({'img_path': str(path)})['img']
    assert img.shape == (16, 24, 3)
    assert np.abs(img.astype(int) - 128).max() <= 2


def test_real_panoptic_jpeg_decodes():
    results = LoadImage()({'img_path': str(PANOPTIC_IMAGE)})
    assert results['img'].shape == (720, 1280, 3)
    assert results['ori_shape'] == (720, 1280)


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / 'nowhere' / 'hand.jpg'
    with pytest.raises(FileNotFoundError, match=str(path)):
        LoadImage()({'img_path': str(path)})


def test_text_file_named_jpg_is_refused(tmp_path):
    path = tmp_path / 'notes.jpg'
    path.write_text('not an image')
    with pytest.raises(ValueError, match=f'cannot decode image: {path}'):
        LoadImage()({'img_path': str(path)})


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / 'empty.png'
    path.write_bytes(b'')
    with pytest.raises(ValueError, match=f'cannot decode image: {path}'):
        LoadImage()({'img_path': str(path)})


@pytest.mark.parametrize('suffix', ['.jpg', '.png'])
def test_truncated_file_is_refused(tmp_path, suffix):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(suffix, image)
    assert ok
    path = tmp_path / f'truncated{suffix}'
    path.write_bytes(encoded.tobytes()[:len(encoded) // 2])
    with pytest.raises(ValueError, match=f'cannot decode image: {path}'):
        LoadImage()({'img_path': str(path)})


def test_unknown_color_type_is_refused():
    with pytest.raises(ValueError, match="color_type must be one of .*'rgb'"):
        LoadImage(color_type='rgb')


def test_registered_and_repr():
    transform = TRANSFORMS.build(dict(type='LoadImage', to_float32=True))
    assert isinstance(transform, LoadImage)
    assert repr(transform) == "LoadImage(color_type='color', to_float32=True)"


@pytest.mark.parametrize('stated', [(1, 1), (8000, 8000), (7, 5)])
def test_size_other_than_the_annotated_one_names_file_and_sizes(tmp_path,
                                                                stated):
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), _bgr_image(height=5, width=7))
    with pytest.raises(ValueError) as error:
        LoadImage()({'img_path': str(path), 'img_shape': stated})
    assert str(error.value) == (
        f'image {path} is 7 x 5 pixels (width x height) but its annotation '
        f'says {stated[1]} x {stated[0]}: the keypoints would not match the '
        'image')
    # The annotated size that matches passes.
    assert LoadImage()({'img_path': str(path),
                        'img_shape': (5, 7)})['img_shape'] == (5, 7)
