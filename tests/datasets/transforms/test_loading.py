"""LoadImage: decoding, shapes, and the errors for missing or broken files."""
import resource
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from handkit.datasets.transforms import loading
from handkit.datasets.transforms.loading import (MAX_IMAGE_PIXELS,
                                                 ImageFileError, LoadImage,
                                                 check_video_frame_size)
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


# ---------------------------------------------------------------------------
# Decompression bombs: the pixel limit is checked from the header.


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack('>I', len(payload)) + kind + payload +
            struct.pack('>I', zlib.crc32(kind + payload) & 0xffffffff))


def _bomb_png(width: int, height: int) -> bytes:
    """A valid-looking RGB PNG declaring ``width`` x ``height``, a few
    hundred bytes on disk; the image itself is never allocated."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    # One scanline's worth of zeros is plenty for a header-only check.
    idat = zlib.compress(b'\0' * 1024, 9)
    return (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', ihdr) +
            _png_chunk(b'IDAT', idat) + _png_chunk(b'IEND', b''))


def _over_limit(path, width, height, megapixels, limit='100'):
    return (f'image {path} is {width} x {height} pixels ({megapixels} '
            f"megapixels), over handkit's limit of {limit} megapixels "
            '(HANDKIT_MAX_IMAGE_PIXELS)')


@pytest.fixture()
def no_imdecode(monkeypatch):
    """Fail the test if the loading module ever calls cv2.imdecode."""
    def imdecode(*args, **kwargs):
        pytest.fail('cv2.imdecode was called on an over-limit image')
    monkeypatch.setattr(loading.cv2, 'imdecode', imdecode)


def test_default_limit_is_100_megapixels(monkeypatch):
    monkeypatch.delenv('HANDKIT_MAX_IMAGE_PIXELS', raising=False)
    assert MAX_IMAGE_PIXELS == 100_000_000
    assert LoadImage().max_pixels == 100_000_000


@pytest.mark.parametrize('side,megapixels', [(20000, '400'),
                                             (40000, '1600')])
def test_png_bomb_is_refused_from_its_header(tmp_path, monkeypatch,
                                             no_imdecode, recwarn, side,
                                             megapixels):
    monkeypatch.delenv('HANDKIT_MAX_IMAGE_PIXELS', raising=False)
    path = tmp_path / 'bomb.png'
    path.write_bytes(_bomb_png(side, side))
    assert path.stat().st_size < 1000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with pytest.raises(ImageFileError) as error:
        LoadImage()({'img_path': str(path)})
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert str(error.value) == _over_limit(path, side, side, megapixels)
    assert isinstance(error.value, ValueError)
    assert after - before < 200 * 1024
    # Pillow's own decompression-bomb guard neither warned nor raised, and
    # is left as it was.
    assert not [w for w in recwarn
                if issubclass(w.category, Image.DecompressionBombWarning)]
    assert Image.MAX_IMAGE_PIXELS is not None


def test_png_bomb_as_a_mask_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv('HANDKIT_MAX_IMAGE_PIXELS', raising=False)
    image, mask = tmp_path / 'hand.png', tmp_path / 'mask.png'
    cv2.imwrite(str(image), _bgr_image())
    mask.write_bytes(_bomb_png(20000, 20000))
    real = cv2.imdecode

    def imdecode(buf, flags):
        if flags == cv2.IMREAD_GRAYSCALE:
            pytest.fail('cv2.imdecode was called on the over-limit mask')
        return real(buf, flags)
    monkeypatch.setattr(loading.cv2, 'imdecode', imdecode)
    with pytest.raises(ImageFileError) as error:
        LoadImage()({'img_path': str(image), 'mask_path': str(mask)})
    assert str(error.value) == _over_limit(mask, 20000, 20000, '400')


def test_under_the_limit_pillow_guard_does_not_warn(tmp_path, monkeypatch):
    """95 megapixels: past Pillow's own warning threshold (89.5), under
    handkit's limit; the header read must not warn, and decoding goes on
    (here the crafted pixel data does not decode)."""
    monkeypatch.delenv('HANDKIT_MAX_IMAGE_PIXELS', raising=False)
    path = tmp_path / 'big.png'
    path.write_bytes(_bomb_png(9500, 10000))
    monkeypatch.setattr(loading.cv2, 'imdecode', lambda buf, flags: None)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with pytest.raises(ImageFileError,
                           match=f'^cannot decode image: {path}$'):
            LoadImage()({'img_path': str(path)})


def test_opencv_assertion_past_its_own_limit_is_one_line(tmp_path,
                                                         monkeypatch):
    """The reported traceback: with handkit's limit raised past OpenCV's
    (2**30 pixels), OpenCV's assertion (cv2.error) is 'cannot decode'."""
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', '2000000000')
    path = tmp_path / 'bomb.png'
    path.write_bytes(_bomb_png(40000, 40000))
    with pytest.raises(ImageFileError) as error:
        LoadImage()({'img_path': str(path)})
    assert str(error.value) == f'cannot decode image: {path}'


def test_jpeg_declaring_a_huge_size_is_refused_from_its_header(
        tmp_path, no_imdecode):
    ok, encoded = cv2.imencode('.jpg', np.full((16, 24, 3), 128, np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    sof = data.find(b'\xff\xc0')  # baseline start of frame
    assert sof > 0
    # FFC0, length (2), precision (1), height (2), width (2)
    assert struct.unpack('>HH', data[sof + 5:sof + 9]) == (16, 24)
    data[sof + 5:sof + 9] = struct.pack('>HH', 30000, 30000)
    path = tmp_path / 'huge.jpg'
    path.write_bytes(bytes(data))
    with pytest.raises(ImageFileError) as error:
        LoadImage()({'img_path': str(path)})
    assert str(error.value) == _over_limit(path, 30000, 30000, '900')


def test_limit_from_environment_and_argument(tmp_path, monkeypatch):
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), _bgr_image(64, 64))
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', '1000')
    with pytest.raises(ImageFileError) as error:
        LoadImage()({'img_path': str(path)})
    assert str(error.value) == _over_limit(path, 64, 64, '0.0041', '0.001')
    # The argument wins over the environment.
    transform = LoadImage(max_pixels=10**4)
    assert transform({'img_path': str(path)})['img_shape'] == (64, 64)
    assert repr(transform) == ("LoadImage(color_type='color', "
                               'to_float32=False, max_pixels=10000)')
    # Exactly at the limit passes.
    assert LoadImage(max_pixels=64 * 64)({'img_path': str(path)})[
        'img_shape'] == (64, 64)
    with pytest.raises(ImageFileError):
        LoadImage(max_pixels=64 * 64 - 1)({'img_path': str(path)})


def test_environment_is_read_when_the_transform_is_built(tmp_path,
                                                         monkeypatch):
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), _bgr_image(64, 64))
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', '1000')
    strict = LoadImage()
    monkeypatch.delenv('HANDKIT_MAX_IMAGE_PIXELS')
    assert strict.max_pixels == 1000
    with pytest.raises(ImageFileError):
        strict({'img_path': str(path)})
    assert LoadImage()({'img_path': str(path)})['img_shape'] == (64, 64)


@pytest.mark.parametrize('value', ['abc', '0', '-5', '1e8', '2.5'])
def test_bad_environment_value_is_refused_when_built(monkeypatch, value):
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', value)
    with pytest.raises(ValueError, match='HANDKIT_MAX_IMAGE_PIXELS must be a '
                       'positive whole number of pixels'):
        LoadImage()


@pytest.mark.parametrize('value', [0, -1, 2.5, True, 'many'])
def test_bad_max_pixels_argument_is_refused(value):
    with pytest.raises(ValueError, match='max_pixels must be a positive'):
        LoadImage(max_pixels=value)


def test_format_pillow_cannot_identify_goes_on_to_opencv(tmp_path,
                                                         monkeypatch):
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), _bgr_image())
    monkeypatch.setattr(loading, '_header_size', lambda data: None)
    results = LoadImage(max_pixels=1)({'img_path': str(path)})
    np.testing.assert_array_equal(results['img'], _bgr_image())


def test_opencv_error_during_decode_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / 'hand.png'
    cv2.imwrite(str(path), _bgr_image())

    def imdecode(*args, **kwargs):
        raise cv2.error('OpenCV(4.x) loadsave.cpp:77: error: (-215:Assertion '
                        'failed) pixels <= CV_IO_MAX_IMAGE_PIXELS')
    monkeypatch.setattr(loading.cv2, 'imdecode', imdecode)
    with pytest.raises(ImageFileError) as error:
        LoadImage()({'img_path': str(path)})
    assert str(error.value) == f'cannot decode image: {path}'


def test_opencv_error_on_the_mask_is_one_line(tmp_path, monkeypatch):
    image, mask = tmp_path / 'hand.png', tmp_path / 'mask.png'
    cv2.imwrite(str(image), _bgr_image())
    cv2.imwrite(str(mask), np.ones((5, 7), np.uint8))
    real = cv2.imdecode

    def imdecode(buf, flags):
        if flags == cv2.IMREAD_GRAYSCALE:
            raise cv2.error('assertion failed')
        return real(buf, flags)
    monkeypatch.setattr(loading.cv2, 'imdecode', imdecode)
    with pytest.raises(ImageFileError) as error:
        LoadImage()({'img_path': str(image), 'mask_path': str(mask)})
    assert str(error.value) == f'cannot decode image: {mask}'


def test_every_content_problem_is_an_image_file_error(tmp_path):
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    image, mask = tmp_path / 'hand.png', tmp_path / 'mask.png'
    cv2.imwrite(str(image), _bgr_image(5, 7))
    cv2.imwrite(str(mask), np.ones((6, 7), np.uint8))
    for results in ({'img_path': str(text)}, {'img_path': str(empty)},
                    {'img_path': str(image), 'img_shape': (6, 7)},
                    {'img_path': str(image), 'mask_path': str(mask)}):
        with pytest.raises(ImageFileError):
            LoadImage()(results)
    with pytest.raises(ImageFileError, match=f'mask {mask} is 7 x 6 pixels '
                       f'but its image {image} is 7 x 5'):
        LoadImage()({'img_path': str(image), 'mask_path': str(mask)})
    # A missing file is not a content problem.
    with pytest.raises(FileNotFoundError):
        LoadImage()({'img_path': str(tmp_path / 'missing.png')})


def test_video_frame_size_check(monkeypatch):
    monkeypatch.delenv('HANDKIT_MAX_IMAGE_PIXELS', raising=False)
    with pytest.raises(ImageFileError) as error:
        check_video_frame_size('clip.mp4', 20000, 20000)
    assert str(error.value) == (
        'video clip.mp4 frames are 20000 x 20000 pixels (400 megapixels), '
        "over handkit's limit of 100 megapixels (HANDKIT_MAX_IMAGE_PIXELS)")
    check_video_frame_size('clip.mp4', 3840, 2160)  # 4K passes
    check_video_frame_size('clip.mp4', 10000, 10000)  # exactly the limit
    with pytest.raises(ImageFileError, match='640 x 480 pixels'):
        check_video_frame_size('clip.mp4', 640, 480, max_pixels=1000)
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', '1000')
    with pytest.raises(ImageFileError, match='over handkit\'s limit of 0.001 '
                       'megapixels'):
        check_video_frame_size('clip.mp4', 640, 480)
    check_video_frame_size('clip.mp4', 640, 480, max_pixels=640 * 480)
