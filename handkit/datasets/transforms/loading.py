"""Loading transforms: read the RGB image of a sample from disk.

First step of the pipeline (docs/architecture.md, section 2.1): turns
``img_path`` into ``img`` (H, W, 3) uint8 BGR plus its shape, and a
``mask_path`` (a dataset's hand mask PNG) into ``hand_mask`` (H, W) bool.
"""
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from handkit.registry import TRANSFORMS

_JPEG_SOI = b'\xff\xd8'  # start of image
_JPEG_SOS = b'\xff\xda'  # start of scan (entropy-coded data follows)
_JPEG_EOI = b'\xff\xd9'  # end of image


def _is_truncated_jpeg(data):
    """True when ``data`` is a JPEG whose last scan has no end-of-image marker.

    libjpeg decodes a truncated JPEG with only a warning and fills the missing
    rows with grey, so ``cv2.imdecode`` alone does not catch it. Inside scan
    data 0xFF is byte-stuffed, so an 0xFFD9 after the last scan can only be
    the real end marker (an EXIF thumbnail's markers all come before it).
    """
    if not data.startswith(_JPEG_SOI):
        return False
    return data.rfind(_JPEG_EOI) < data.rfind(_JPEG_SOS)


def check_image_shape(path: str, shape: Sequence[int],
                      expected: Optional[Sequence[int]]) -> None:
    """Raise ValueError when an image's (h, w) is not the annotated one.

    Args:
        path: the image file, named in the error.
        shape: (h, w) of the decoded image.
        expected: (h, w) the annotation states (its ``width`` / ``height``),
            or None when it states none.
    """
    if expected is None:
        return
    height, width = (int(side) for side in shape[:2])
    want_height, want_width = (int(side) for side in expected[:2])
    if (height, width) != (want_height, want_width):
        raise ValueError(
            f'image {path} is {width} x {height} pixels (width x height) but '
            f'its annotation says {want_width} x {want_height}: the '
            'keypoints would not match the image')


def _read_image(path: str, flags: int) -> np.ndarray:
    """Decode one image file; a missing, empty or truncated file raises."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image file not found: {path}')
    with open(path, 'rb') as file:
        data = file.read()
    # cv2.imdecode asserts on an empty buffer instead of returning None.
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8),
                       flags) if data else None
    if img is None or _is_truncated_jpeg(data):
        raise ValueError(f'cannot decode image: {path}')
    return img


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``results['img_path']`` as an OpenCV BGR image.

    The file's bytes are decoded with ``cv2.imdecode`` (the decoder behind
    ``cv2.imread``); reading the bytes first lets a truncated JPEG, which
    OpenCV would return half grey, be refused.

    Args:
        color_type: 'color' for a (H, W, 3) BGR image; 'grayscale' for the
            grey image replicated in three channels, so that every later
            transform still sees (H, W, 3).
        to_float32: convert ``img`` to float32 (values stay in [0, 255]).

    Sets ``img``, ``img_shape`` (h, w) and ``ori_shape`` (h, w). When the
    adapter gave an ``img_shape`` (the annotation's height and width), the
    decoded image must have that size. When it gave a ``mask_path`` (e.g.
    ``OneHand10KDataset(with_masks=True)``), that file is read as a grey
    image too and ``hand_mask`` (H, W) bool = its pixels of at least the
    adapter's ``mask_min_label`` (default 1: non-zero; RHD's hand-part
    masks give 2, as label 1 is the rest of the person); it must have the
    image's size.

    Raises:
        FileNotFoundError: ``img_path`` does not exist.
        ValueError: the file exists but is not a decodable (complete) image,
            or its size differs from the annotated ``img_shape`` (the error
            names the file and both sizes).
    """

    _FLAGS = {'color': cv2.IMREAD_COLOR, 'grayscale': cv2.IMREAD_GRAYSCALE}

    def __init__(self, color_type: str = 'color',
                 to_float32: bool = False) -> None:
        super().__init__()
        if color_type not in self._FLAGS:
            raise ValueError(f'LoadImage: color_type must be one of '
                             f'{sorted(self._FLAGS)}, got {color_type!r}')
        self.color_type = color_type
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        img = _read_image(path, self._FLAGS[self.color_type])
        check_image_shape(path, img.shape, results.get('img_shape'))
        if results.get('mask_path') is not None:
            mask = _read_image(results['mask_path'], cv2.IMREAD_GRAYSCALE)
            if mask.shape[:2] != img.shape[:2]:
                raise ValueError(
                    f"mask {results['mask_path']} is {mask.shape[1]} x "
                    f'{mask.shape[0]} pixels but its image {path} is '
                    f'{img.shape[1]} x {img.shape[0]}')
            results['hand_mask'] = mask >= results.get('mask_min_label', 1)
        if self.color_type == 'grayscale':
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(color_type={self.color_type!r}, '
                f'to_float32={self.to_float32})')
