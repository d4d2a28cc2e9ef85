"""Loading transforms: read the RGB image of a sample from disk.

First step of the pipeline (docs/architecture.md, section 2.1): turns
``img_path`` into ``img`` (H, W, 3) uint8 BGR plus its shape, and a
``mask_path`` (a dataset's hand mask PNG) into ``hand_mask`` (H, W) bool.

Every problem with an image's content (does not decode, truncated, over the
pixel limit, not the annotated size, mask of another size) raises
:class:`ImageFileError`, a ``ValueError`` whose message is one line naming
the file; a missing file raises ``FileNotFoundError``.

**Pixel limit.** A small file can declare a huge image (a 389 KB PNG of
20000 x 20000 pixels decodes to 1.2 GB, and OpenCV asserts past 2**30
pixels), so the width and height are read from the file's header (Pillow,
without decoding) and an image of more than :data:`MAX_IMAGE_PIXELS` pixels
is refused before any pixel is decoded. The limit is overridden by the
environment variable ``HANDKIT_MAX_IMAGE_PIXELS`` (read when a
:class:`LoadImage` is built, so the data-loader workers, which receive the
built transform, use the value of the process that built it) and by
``LoadImage(max_pixels=...)``. :func:`check_video_frame_size` applies the
same rule to a video's frame size.
"""
import io
import os
import os.path as osp
import threading
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from handkit.errors import HandkitUserError
from handkit.registry import TRANSFORMS

#: The most pixels (width x height) an image or a video frame may have:
#: 100 megapixels (e.g. 10000 x 10000; a 12000 x 8000 photo passes). Decoded
#: as BGR uint8 that is 300 MB, the most one sample may take before the
#: pipeline's copies. Overridden by the environment variable
#: ``HANDKIT_MAX_IMAGE_PIXELS`` (a positive whole number of pixels) and by
#: ``LoadImage(max_pixels=...)``.
MAX_IMAGE_PIXELS = 100_000_000

#: The environment variable that overrides :data:`MAX_IMAGE_PIXELS`.
MAX_PIXELS_ENV = 'HANDKIT_MAX_IMAGE_PIXELS'


class ImageFileError(HandkitUserError, ValueError):
    """An image file exists but its content cannot be used: it does not
    decode, is truncated, is over the pixel limit, or has another size than
    its annotation (or its image, for a mask). The message is one line that
    names the file."""

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


def _positive_pixels(value, source: str) -> int:
    """``value`` as a positive whole number of pixels, else ValueError."""
    try:
        if isinstance(value, str):
            number = int(value.strip())
        elif isinstance(value, bool):
            raise TypeError
        else:
            number = int(value)
            if number != value:
                raise ValueError
    except (TypeError, ValueError, OverflowError):
        number = 0
    if number <= 0:
        raise ValueError(f'{source} must be a positive whole number of '
                         f'pixels, got {value!r}')
    return number


def resolve_max_pixels(max_pixels: Optional[int] = None) -> int:
    """The pixel limit in force: ``max_pixels`` when given, else the
    environment variable ``HANDKIT_MAX_IMAGE_PIXELS`` when set (and not
    empty), else :data:`MAX_IMAGE_PIXELS`.

    Raises:
        ValueError: the value given or set is not a positive whole number.
    """
    if max_pixels is not None:
        return _positive_pixels(max_pixels, 'max_pixels')
    env = os.environ.get(MAX_PIXELS_ENV, '').strip()
    if env:
        return _positive_pixels(env, MAX_PIXELS_ENV)
    return MAX_IMAGE_PIXELS


def _megapixels(pixels: int) -> str:
    """``pixels`` in megapixels for a message: '400', '89.48', '0.0041'."""
    value = pixels / 1e6
    if value >= 1:
        text = f'{value:.2f}'.rstrip('0').rstrip('.')
    else:
        text = f'{value:.3g}'
    return text


def _check_pixels(what: str, width: int, height: int,
                  max_pixels: int) -> None:
    """Raise ImageFileError when ``width`` x ``height`` is over
    ``max_pixels``; ``what`` starts the message ('image <path> is')."""
    pixels = int(width) * int(height)
    if pixels > max_pixels:
        raise ImageFileError(
            f'{what} {int(width)} x {int(height)} pixels '
            f'({_megapixels(pixels)} megapixels), over handkit\'s limit of '
            f'{_megapixels(max_pixels)} megapixels ({MAX_PIXELS_ENV})')


def check_video_frame_size(path: str, width: int, height: int,
                           max_pixels: Optional[int] = None) -> None:
    """Refuse a video whose frames are over the pixel limit, before any
    frame is read.

    Args:
        path: the video file, named in the error.
        width: frame width (e.g. ``cv2.CAP_PROP_FRAME_WIDTH``).
        height: frame height (e.g. ``cv2.CAP_PROP_FRAME_HEIGHT``).
        max_pixels: the limit; None: ``HANDKIT_MAX_IMAGE_PIXELS`` or
            :data:`MAX_IMAGE_PIXELS` (see :func:`resolve_max_pixels`).

    Raises:
        ImageFileError: ``width * height`` is over the limit, in one line:
            ``video <path> frames are <w> x <h> pixels (<N> megapixels),
            over handkit's limit of <L> megapixels
            (HANDKIT_MAX_IMAGE_PIXELS)``.
    """
    _check_pixels(f'video {path} frames are', width, height,
                  resolve_max_pixels(max_pixels))


# Pillow has its own decompression-bomb guard, the module global
# ``PIL.Image.MAX_IMAGE_PIXELS``: past it ``Image.open`` warns, past twice it
# raises DecompressionBombError, both before handkit could name the size and
# its own limit. handkit reads only the header with Pillow (OpenCV decodes),
# so the guard is switched off just while a header is read and restored at
# once. Pillow offers no per-call switch, so this is the one place handkit
# touches Pillow's global state: the lock keeps handkit's own threads from
# restoring each other's value, and a Pillow call of another library in
# another thread of the same process during those microseconds would run
# without Pillow's guard. Data-loader workers are processes, each with its
# own Pillow; Pillow's behaviour outside this function is unchanged.
_PIL_GUARD_LOCK = threading.Lock()


def _header_size(data: bytes) -> Optional[Tuple[int, int]]:
    """(width, height) from the header of the image file ``data``, without
    decoding it; None when Pillow cannot identify it (OpenCV then tries)."""
    with _PIL_GUARD_LOCK:
        pillow_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Exception:  # unknown or broken to Pillow: OpenCV decides
            return None
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_limit
    return int(width), int(height)


def check_image_shape(path: str, shape: Sequence[int],
                      expected: Optional[Sequence[int]]) -> None:
    """Raise ImageFileError when an image's (h, w) is not the annotated one.

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
        raise ImageFileError(
            f'image {path} is {width} x {height} pixels (width x height) but '
            f'its annotation says {want_width} x {want_height}: the '
            'keypoints would not match the image')


def _read_image(path: str, flags: int,
                max_pixels: Optional[int] = None) -> np.ndarray:
    """Decode one image file; a missing, empty, truncated, undecodable or
    over-the-limit file raises (the limit is checked from the header, before
    decoding; ``max_pixels`` None: :func:`resolve_max_pixels`)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image file not found: {path}')
    with open(path, 'rb') as file:
        data = file.read()
    # cv2.imdecode asserts on an empty buffer instead of returning None.
    if not data:
        raise ImageFileError(f'cannot decode image: {path}')
    size = _header_size(data)
    if size is not None:
        _check_pixels(f'image {path} is', *size,
                      resolve_max_pixels(max_pixels))
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error:  # OpenCV asserts on some inputs (e.g. > 2**30 pixels)
        img = None
    if img is None or _is_truncated_jpeg(data):
        raise ImageFileError(f'cannot decode image: {path}')
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
        max_pixels: the most pixels (width x height) an image or mask may
            have, checked from the file's header before decoding. None: the
            environment variable ``HANDKIT_MAX_IMAGE_PIXELS`` when set, else
            :data:`MAX_IMAGE_PIXELS` (100 megapixels), read here, when the
            transform is built.

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
        ImageFileError: (a ValueError) the file exists but is not a
            decodable (complete) image, is over the pixel limit, or its size
            differs from the annotated ``img_shape`` (the error names the
            file and both sizes); or the mask's size differs from the
            image's.
        ValueError: (when built) ``color_type`` is unknown, or
            ``max_pixels`` / ``HANDKIT_MAX_IMAGE_PIXELS`` is not a positive
            whole number.
    """

    _FLAGS = {'color': cv2.IMREAD_COLOR, 'grayscale': cv2.IMREAD_GRAYSCALE}

    def __init__(self, color_type: str = 'color',
                 to_float32: bool = False,
                 max_pixels: Optional[int] = None) -> None:
        super().__init__()
        if color_type not in self._FLAGS:
            raise ValueError(f'LoadImage: color_type must be one of '
                             f'{sorted(self._FLAGS)}, got {color_type!r}')
        self.color_type = color_type
        self.to_float32 = to_float32
        self._max_pixels_arg = max_pixels
        self.max_pixels = resolve_max_pixels(max_pixels)

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        img = _read_image(path, self._FLAGS[self.color_type], self.max_pixels)
        check_image_shape(path, img.shape, results.get('img_shape'))
        if results.get('mask_path') is not None:
            mask = _read_image(results['mask_path'], cv2.IMREAD_GRAYSCALE,
                               self.max_pixels)
            if mask.shape[:2] != img.shape[:2]:
                raise ImageFileError(
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
        limit = ('' if self._max_pixels_arg is None else
                 f', max_pixels={self.max_pixels}')
        return (f'{type(self).__name__}(color_type={self.color_type!r}, '
                f'to_float32={self.to_float32}{limit})')
