"""Pieces that several dataset adapters share, so that no adapter imports
another: seeded splits, number files, NYU's depth encoding and the 3D
metainfo.

Everything here parses files or cuts index sets; nothing imports an adapter
(docs/architecture.md: adapters parse, the layers below them are shared).
"""
import re
from typing import List, Sequence

import cv2
import numpy as np

from handkit.datasets.base import AnnotationError

# 3D PCK thresholds (mm) of the RGB 3D benchmarks: AUC over 20-50 mm
# (Zimmermann and Brox; Bekiri and Babahenini, Fig. 5).
PCK_THRESHOLDS_MM = [20, 25, 30, 35, 40, 45, 50]

_NUMBER_SEPARATOR = re.compile(r'[,\s]+')


def seeded_split(count: int, seed: int,
                 sizes: Sequence[int]) -> List[np.ndarray]:
    """Cut a seeded permutation of ``range(count)`` into consecutive parts.

    ``np.random.default_rng(seed).permutation(count)`` is split into parts
    of ``sizes`` (which sum to ``count``), in permutation order: the one
    seeded division every adapter with a split of its own uses (Panoptic's
    80 / 10 / 10, GANerated's and SynthHands' held-out folders, FreiHAND's
    validation hold-out), so that a seed means the same thing everywhere.
    """
    sizes = [int(size) for size in sizes]
    if any(size < 0 for size in sizes) or sum(sizes) != count:
        raise ValueError(f'split sizes {sizes} must be >= 0 and sum to '
                         f'{count}')
    order = np.random.default_rng(seed).permutation(count)
    return np.split(order, np.cumsum(sizes)[:-1])


def seeded_group_split(groups: Sequence[str], split: str,
                       test_fraction: float, seed: int) -> List[str]:
    """Sorted list of the groups (e.g. folders) that fall in ``split``.

    A seeded permutation of the sorted unique groups (:func:`seeded_split`);
    the first ``round(test_fraction x G)`` (at least one when there are two
    or more groups) are 'test', the others 'train'.
    """
    unique = sorted(set(groups))
    if len(unique) < 2:
        num_test = 0
    else:
        num_test = min(max(1, int(round(test_fraction * len(unique)))),
                       len(unique) - 1)
    test, train = seeded_split(len(unique), seed,
                               (num_test, len(unique) - num_test))
    chosen = test if split == 'test' else train
    return sorted(unique[index] for index in chosen)


def read_number_file(path: str, count: int) -> np.ndarray:
    """(count,) float64 numbers of a comma / whitespace separated text file.

    Raises AnnotationError naming the file when a field is not a number or
    the file does not hold exactly ``count`` numbers.
    """
    with open(path, encoding='utf-8') as file:
        text = file.read().strip()
    fields = _NUMBER_SEPARATOR.split(text) if text else []
    try:
        numbers = np.array([float(field) for field in fields])
    except ValueError as error:
        raise AnnotationError(
            f'{path}: non-numeric field ({error})') from error
    if numbers.shape != (count, ):
        raise AnnotationError(f'{path}: expected {count} numbers, found '
                              f'{numbers.size}')
    if not np.isfinite(numbers).all():
        raise AnnotationError(f'{path}: holds NaN or inf')
    return numbers


def load_nyu_depth(path: str) -> np.ndarray:
    """Read one NYU depth PNG as float32 (H, W) depth in mm.

    NYU stores depth in an 8-bit 3-channel PNG: the top 8 bits in green, the
    low 8 bits in blue (OpenCV reads channels as B, G, R), so
    ``depth = G * 256 + B``; 0 means no measurement.
    """
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f'cannot read NYU depth image {path}')
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise ValueError(
            f'{path}: NYU depth must be an 8-bit 3-channel PNG (depth = '
            f'G * 256 + B), found {image.dtype} with {channels} channel(s)')
    blue, green = image[..., 0], image[..., 1]
    return green.astype(np.float32) * 256.0 + blue.astype(np.float32)
