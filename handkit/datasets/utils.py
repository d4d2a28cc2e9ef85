"""Pieces that several dataset adapters share, so that no adapter imports
another: seeded splits, number files, NYU's, STB's and RHD's depth encodings
(STB's SK depth registered to its colour camera, which ``STBDataset`` and
the ``LoadSTBDepth`` transform share) and the 3D metainfo.

Everything here parses files or cuts index sets; nothing imports an adapter
(docs/architecture.md: adapters parse, the layers below them are shared).
"""
import os.path as osp
import re
from typing import List, Optional, Sequence

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


# STB's RealSense F200 (SK) cameras, from the release README.
STB_SK_COLOR_CAMERA = dict(fx=607.92271, fy=607.88192, cx=314.78337,
                           cy=236.42484)
STB_SK_DEPTH_CAMERA = dict(fx=475.62768, fy=474.77709, cx=336.41179,
                           cy=238.77962)
# SK colour -> SK depth extrinsics of the README: depth = R colour + T.
STB_SK_ROTATION_VECTOR = np.array([0.00531, -0.01196, 0.00301])
STB_SK_TRANSLATION_MM = np.array([-24.0381, -0.4563, -1.2326])


def sk_depth_to_color(joints_depth: np.ndarray) -> np.ndarray:
    """(..., 3) joints in the SK depth frame -> the SK colour frame (mm).

    Inverts the README's ``depth = R colour + T``: ``colour = R^T (depth -
    T)``, written for row vectors as ``(depth - T) @ R``.
    """
    rotation, _ = cv2.Rodrigues(STB_SK_ROTATION_VECTOR)
    return (joints_depth - STB_SK_TRANSLATION_MM) @ rotation


def read_sk_depth(path: str) -> np.ndarray:
    """(H, W) float32 mm of an STB ``SK_depth_*.png`` (R + 256 G).

    Raises:
        ValueError: the file cannot be decoded or is not an 8-bit colour
            PNG (names the file and what it holds).
    """
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot decode STB depth image: {path}')
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] < 3:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise ValueError(f'{path}: an STB SK depth image is an 8-bit '
                         f'3-channel PNG (depth = R + 256 G), found '
                         f'{image.dtype} with {channels} channel(s)')
    blue_green_red = image.astype(np.float32)
    return blue_green_red[..., 2] + 256.0 * blue_green_red[..., 1]


def register_sk_depth_to_color(depth: np.ndarray,
                               color_shape: Sequence[int] = (480, 640)
                               ) -> np.ndarray:
    """SK depth (H, W) mm in the depth camera's grid -> the colour grid.

    Every measured pixel (u, v, d) (pixel centres at integer coordinates)
    becomes the point ``d K_depth^-1 (u, v, 1)``, moved to the colour frame
    (:func:`sk_depth_to_color`) and projected with the colour intrinsics.
    The colour camera's focal length is 1.28 x the depth camera's, so each
    point is splatted onto the 2 x 2 colour pixels around its projection
    (else one in three colour pixels would stay empty); where points meet,
    the smallest depth wins.

    Returns:
        (h, w) float32 depth in mm of the colour camera (its z), 0 where no
        point lands.
    """
    depth = np.asarray(depth, np.float32)
    if depth.ndim != 2:
        raise ValueError(f'register_sk_depth_to_color: depth must be an '
                         f'(H, W) map in mm, got shape {depth.shape}')
    rows, cols = np.nonzero(depth > 0)
    z = depth[rows, cols].astype(np.float64)
    camera = STB_SK_DEPTH_CAMERA
    points = np.stack([(cols - camera['cx']) / camera['fx'] * z,
                       (rows - camera['cy']) / camera['fy'] * z, z], -1)
    points = sk_depth_to_color(points)  # (N, 3) colour frame
    points = points[points[:, 2] > 0]
    color = STB_SK_COLOR_CAMERA
    u = color['fx'] * points[:, 0] / points[:, 2] + color['cx']
    v = color['fy'] * points[:, 1] / points[:, 2] + color['cy']
    height, width = int(color_shape[0]), int(color_shape[1])
    # The 2 x 2 pixels around (u, v): (N, 4) columns and rows.
    splat_u = np.floor(u)[:, None] + np.array([0, 1, 0, 1])
    splat_v = np.floor(v)[:, None] + np.array([0, 0, 1, 1])
    splat_z = np.repeat(points[:, 2:], 4, axis=1)
    inside = ((splat_u >= 0) & (splat_u < width) & (splat_v >= 0)
              & (splat_v < height))
    nearest = np.full((height, width), np.inf)
    np.minimum.at(nearest, (splat_v[inside].astype(np.int64),
                            splat_u[inside].astype(np.int64)),
                  splat_z[inside])
    nearest[np.isinf(nearest)] = 0.0
    return nearest.astype(np.float32)


# RHD's depth PNGs code 0 - 5 m in 16 bits (RHD's view_samples.py).
RHD_DEPTH_RANGE_MM = 5000.0


def read_rhd_depth(path: str, mask_path: Optional[str] = None) -> np.ndarray:
    """(H, W) float32 mm of an RHD ``<set>/depth/<id>.png``.

    RHD stores the depth in an 8-bit, 3-channel PNG: the top 8 bits in red,
    the bottom 8 in green, ``depth = (R * 256 + G) / 65535 * 5 m`` (the
    release's ``view_samples.py``, ``depth_two_uint8_to_float``; OpenCV
    reads the channels as B, G, R). A coded 0 stays 0 mm (no depth).

    Background. RHD renders its characters in front of 2D background
    images; its depth map covers the whole render and gives the background
    pixels a far depth, not 0 (the release does not state the value). With
    ``mask_path`` (the sample's ``<set>/mask/<id>.png``: 0 background, 1 the
    person, 2-33 the hands' parts) the background pixels become 0, so that
    handkit's depth codecs, which read 0 as "no depth", leave them out of a
    crop's reference depth and give them their background value; the person
    stays, as a depth camera would see it (STB's scene stays likewise).

    Raises:
        FileNotFoundError: ``path`` or ``mask_path`` does not exist.
        ValueError: the depth file is not an 8-bit 3-channel PNG, or the mask
            is not a one-channel image of the depth's size (each names the
            file and what it holds).
    """
    image = _read_existing(path, cv2.IMREAD_UNCHANGED, 'RHD depth image')
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] < 3:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise ValueError(f'{path}: an RHD depth image is an 8-bit 3-channel '
                         f'PNG (depth = (R * 256 + G) / 65535 * 5 m), found '
                         f'{image.dtype} with {channels} channel(s)')
    red, green = image[..., 2].astype(np.float32), image[..., 1]
    depth = (red * 256.0 + green) * np.float32(RHD_DEPTH_RANGE_MM / 65535.0)
    if mask_path is not None:
        mask = _read_existing(mask_path, cv2.IMREAD_UNCHANGED, 'RHD mask')
        if mask.ndim != 2 or mask.shape != depth.shape:
            raise ValueError(f'{mask_path}: an RHD mask is a one-channel '
                             f'label image of its depth image\'s '
                             f'{depth.shape[1]} x {depth.shape[0]} pixels, '
                             f'found shape {mask.shape}')
        depth[mask == 0] = 0.0
    return depth


def _read_existing(path: str, flags: int, what: str) -> np.ndarray:
    """``cv2.imread(path, flags)``; one line naming the file when it is
    missing or does not decode."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    image = cv2.imread(path, flags)
    if image is None:
        raise ValueError(f'cannot decode {what}: {path}')
    return image
