"""Adapter for the NSRM authors' preprocessed Panoptic hand crops.

The NSRM code release (github.com/HowieMa/NSRMhand) trains on Panoptic hands
already cropped as the paper describes (Section 4.1: a square of 2.2 x the
largest side of the tightest keypoint box) and divided 80/10/10 into train /
valid / test lists. The crops keep their own sizes (the released samples are
236 x 236 and 238 x 237 pixels); the authors' loader resizes each to the
network's 368 x 368 input when loading, as handkit's ``TopdownAffine`` does.
"""
import os.path as osp
from typing import List

import numpy as np

from handkit.datasets.base import (AnnotationError, BaseHandDataset,
                                   load_json)
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS


@DATASETS.register_module()
class NSRMHandDataset(BaseHandDataset):
    """Cropped Panoptic hands in the NSRMhand layout.

    ``labels.json`` maps an image file name to 21 x [x, y] pixels of the
    cropped image, every keypoint labelled, in handkit's order;
    ``partitions.json`` lists file names under ``train``, ``valid`` and
    ``test`` (handkit's 'val' reads ``valid``).

    Args:
        data_root: folder holding ``imgs/``, ``labels.json``,
            ``partitions.json``.
        split: 'train', 'val' or 'test'.
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path``, ``img_id`` (the file name),
    ``keypoints`` (21, 2), ``keypoints_visible`` (all 1) and ``bbox`` (the
    tightest keypoint box; the pipeline's HandCrop then re-crops 2.2 x that
    box, which stays inside the crop the authors made).
    """

    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='panoptic_nsrm',
    )
    LAYOUT = """
imgs/00000001.jpg ...   (cropped hands, each its own size, e.g. 236 x 236)
labels.json             {"00000001.jpg": 21 x [x, y], ...}
partitions.json         {"train": [names], "valid": [names], "test": [names]}
"""
    SOURCE = ('the NSRM authors\' preprocessing of the CMU Panoptic hands '
              '(github.com/HowieMa/NSRMhand, data_sample/cmuhand shows the '
              'layout).')
    # handkit split -> key of partitions.json
    PARTITION_KEYS = dict(train='train', val='valid', test='test')

    def __init__(self, data_root: str, split: str = 'train',
                 **kwargs) -> None:
        super().__init__(split=split, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        img_dir = self.check_exists(osp.join(self.data_root, 'imgs'),
                                    'image folder')
        labels_path = self.check_exists(
            osp.join(self.data_root, 'labels.json'), 'label file')
        partitions_path = self.check_exists(
            osp.join(self.data_root, 'partitions.json'), 'partition file')

        key = self.PARTITION_KEYS[self.split]
        partitions = load_json(partitions_path)
        if not isinstance(partitions, dict) or key not in partitions:
            raise AnnotationError(f'{partitions_path}: missing key {key!r} '
                                  f'(the {self.split!r} split)')
        names = partitions[key]
        if not isinstance(names, list):
            raise AnnotationError(
                f'{partitions_path}: {key!r} must be a list of file names, '
                f'got {type(names).__name__}')
        labels = load_json(labels_path)
        if not isinstance(labels, dict):
            raise AnnotationError(
                f'{labels_path}: expected an object mapping file names to '
                f'keypoints, got {type(labels).__name__}')

        visible = np.ones(NUM_KEYPOINTS, dtype=np.float32)
        data_list = []
        for name in names:
            if name not in labels:
                raise AnnotationError(
                    f'{labels_path}: missing key {name!r} (listed under '
                    f'{key!r} in {partitions_path})')
            keypoints = self.check_keypoints(labels[name],
                                             f'{labels_path}: {name!r}')
            data_list.append(
                dict(img_path=osp.join(img_dir, name),
                     img_id=name,
                     keypoints=keypoints,
                     keypoints_visible=visible.copy(),
                     bbox=self.keypoint_box(keypoints, visible)))
        return data_list
