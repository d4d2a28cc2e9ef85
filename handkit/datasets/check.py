"""Check a dataset's files before training: every image decodes, has the
size its annotation states, and its box lies on it.

Used by ``tools/check_data.py`` (every file, one line per bad one) and by
``tools/train.py --check-data N`` (the first N files of each split, before
anything is written). Samples without an image file (the synthetic
renderer's ``synthetic://`` paths, depth-only formats) are not checked.
"""
from typing import Iterator, Optional

import numpy as np
from mmengine.dataset import BaseDataset

from handkit.datasets.transforms.loading import LoadImage


def _box_problem(bbox, shape) -> Optional[str]:
    """Why ``bbox`` (x1, y1, x2, y2) cannot be used on an image of ``shape``
    (h, w), or None."""
    box = np.asarray(bbox, dtype=np.float64).reshape(-1)
    height, width = shape[:2]
    if box.shape != (4, ) or not np.isfinite(box).all():
        return f'bbox {bbox!r} is not 4 finite numbers'
    if box[2] < box[0] or box[3] < box[1]:
        return f'bbox {box.tolist()} has x2 < x1 or y2 < y1'
    if box[2] < 0 or box[3] < 0 or box[0] > width - 1 or box[1] > height - 1:
        return (f'bbox {box.tolist()} lies outside the image of {width} x '
                f'{height} pixels')
    return None


def find_bad_samples(dataset: BaseDataset,
                     limit: Optional[int] = None) -> Iterator[str]:
    """One line per bad sample among the first ``limit`` (all: None).

    A sample is bad when its image is missing, does not decode (empty,
    truncated, not an image), is over the pixel limit (checked from the
    header without decoding; ``HANDKIT_MAX_IMAGE_PIXELS``, read here),
    differs from the annotated size, or its ``bbox`` is degenerate or off
    the image. Each line names the file.
    """
    load = LoadImage()
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for index in range(count):
        info = dataset.get_data_info(index)
        path = info.get('img_path')
        if not isinstance(path, str) or '://' in path:
            continue
        try:
            image = load.transform(dict(img_path=path,
                                        img_shape=info.get('img_shape')))
        # ImageFileError (a ValueError): every content problem, one line.
        except (FileNotFoundError, ValueError) as error:
            yield str(error)
            continue
        if info.get('bbox') is not None:
            problem = _box_problem(info['bbox'], image['img_shape'])
            if problem:
                yield f'{path}: {problem}'
