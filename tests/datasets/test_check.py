"""find_bad_samples: one line per bad sample, the over-limit image included
(docs/reliability.md)."""
import struct
import zlib

import cv2
import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from handkit.datasets.check import find_bad_samples
from handkit.datasets.transforms import loading


class _Listed(BaseDataset):
    """A dataset whose samples are the given data infos."""

    def __init__(self, infos):
        self._infos = infos
        super().__init__(serialize_data=False, test_mode=True)

    def load_data_list(self):
        return [dict(info) for info in self._infos]


def _png_chunk(kind, payload):
    return (struct.pack('>I', len(payload)) + kind + payload +
            struct.pack('>I', zlib.crc32(kind + payload) & 0xffffffff))


def _bomb_png(width, height):
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', ihdr) +
            _png_chunk(b'IDAT', zlib.compress(b'\0' * 64)) +
            _png_chunk(b'IEND', b''))


@pytest.fixture()
def images(tmp_path):
    good = tmp_path / 'good.png'
    cv2.imwrite(str(good), np.zeros((64, 64, 3), np.uint8))
    bomb = tmp_path / 'bomb.png'
    bomb.write_bytes(_bomb_png(20000, 20000))
    return good, bomb


def test_over_limit_image_is_one_line_naming_the_file(images, monkeypatch):
    monkeypatch.delenv('HANDKIT_MAX_IMAGE_PIXELS', raising=False)
    good, bomb = images
    real = cv2.imdecode

    def imdecode(buf, flags):
        if buf.tobytes() == bomb.read_bytes():
            pytest.fail('cv2.imdecode was called on the over-limit image')
        return real(buf, flags)
    monkeypatch.setattr(loading.cv2, 'imdecode', imdecode)
    dataset = _Listed([dict(img_path=str(good), img_shape=(64, 64),
                            bbox=[1, 1, 30, 30]),
                       dict(img_path=str(bomb)),
                       dict(img_path=str(good))])
    assert list(find_bad_samples(dataset)) == [
        f'image {bomb} is 20000 x 20000 pixels (400 megapixels), over '
        "handkit's limit of 100 megapixels (HANDKIT_MAX_IMAGE_PIXELS)"]


def test_limit_from_the_environment(images, monkeypatch):
    good, _ = images
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', '1000')
    dataset = _Listed([dict(img_path=str(good))])
    assert list(find_bad_samples(dataset)) == [
        f'image {good} is 64 x 64 pixels (0.0041 megapixels), over '
        "handkit's limit of 0.001 megapixels (HANDKIT_MAX_IMAGE_PIXELS)"]
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', '4096')
    assert list(find_bad_samples(dataset)) == []
