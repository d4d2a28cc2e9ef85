"""Adapter for the original OneHand10K release (Wang et al., TCSVT 2018).

OneHand10K (NSRM paper Section 4.1, Table 1: 10,000 training and 1,703
testing images) holds in-the-wild images, mostly filled by one hand, with
unlabelled keypoints marked -1. As the paper, no crop: the whole image is the
hand box.
"""
import os.path as osp
from typing import List

import numpy as np

from handkit.datasets.base import AnnotationError, BaseHandDataset
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS

# Fields of a label line before the keypoints: name, width, height, hands.
HEADER_FIELDS = 4


@DATASETS.register_module()
class OneHand10KDataset(BaseHandDataset):
    """OneHand10K as released: ``label_joint.txt`` beside ``source/``.

    Each line of ``label_joint.txt`` is CSV: image name, width, height, number
    of hands (1 in the release; not used), then 21 (x, y) pairs in handkit's
    keypoint order; a pair holding -1 marks an unlabelled keypoint (stored as
    (0, 0), visible 0). The release has a train and a test split only.

    The release also holds each image's hand segmentation mask,
    ``mask/<image stem>.png`` (non-zero = hand), the "Real Mask" of NSRM
    Table 2 (Wang et al.'s Mask-pose Cascaded CNN trains on them).

    Args:
        data_root: folder holding ``Train/`` and ``Test/``.
        split: 'train' or 'test'.
        with_masks: also give each sample its ``mask_path`` (``LoadImage``
            reads it into ``hand_mask``), for real-mask targets
            (``HandMask``) and ``MaskIoUMetric``; a missing mask folder or
            file is an error naming it.
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path``, ``img_id`` (the image name),
    ``keypoints`` (21, 2), ``keypoints_visible`` (21,), ``bbox`` = the whole
    image (0, 0, w - 1, h - 1) and ``img_shape`` (h, w) from the label line;
    with ``with_masks``, ``mask_path``.
    """

    # the optional labels (handkit.labels) this adapter gives, each with
    # how to ask for it: preflight's hint when a dataset lacks one
    label_hints = dict(hand_mask='OneHand10KDataset(with_masks=True)')
    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='onehand10k',
        pck_thresholds=[0.10, 0.15, 0.20, 0.25, 0.30],
    )
    LAYOUT = """
Train/label_joint.txt   (name,width,height,hands,x0,y0,...,x20,y20; -1 = missing)
Train/source/0.jpg ...
Train/mask/0.png ...    (with_masks=True only; non-zero = hand)
Test/label_joint.txt
Test/source/0.jpg ...
Test/mask/0.png ...
"""
    SOURCE = ('OneHand10K, Wang et al., "Mask-pose cascaded CNN", '
              'https://www.yangangwang.com/papers/WANG-MCC-2018-10.html '
              '(the release has no validation split).')
    SPLITS = ('train', 'test')
    SPLIT_FOLDERS = dict(train='Train', test='Test')

    MASK_FOLDER = 'mask'

    def __init__(self, data_root: str, split: str = 'train',
                 with_masks: bool = False, **kwargs) -> None:
        self.with_masks = bool(with_masks)
        super().__init__(split=split, data_root=data_root, **kwargs)

    def _parse_line(self, line, source):
        """(width, height, keypoints (21, 2)) of one label line."""
        fields = line.split(',')
        expected = HEADER_FIELDS + 2 * NUM_KEYPOINTS
        if len(fields) != expected:
            raise AnnotationError(
                f'{source}: {len(fields)} fields, expected {expected} (name, '
                f'width, height, hands, then {NUM_KEYPOINTS} x, y pairs)')
        try:
            numbers = np.asarray(fields[1:], dtype=np.float32)
        except ValueError as error:
            raise AnnotationError(
                f'{source}: non-numeric field ({error})') from error
        keypoints = self.check_keypoints(
            numbers[HEADER_FIELDS - 1:].reshape(NUM_KEYPOINTS, 2), source)
        width, height = numbers[:2]
        if not (width >= 1 and height >= 1):
            raise AnnotationError(
                f'{source}: image size {width} x {height} is not positive')
        return width, height, keypoints

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        split_dir = self.check_exists(
            osp.join(self.data_root, self.SPLIT_FOLDERS[self.split]),
            f'{self.split} folder')
        label_path = self.check_exists(osp.join(split_dir, 'label_joint.txt'),
                                       'label file')
        img_dir = self.check_exists(osp.join(split_dir, 'source'),
                                    'image folder')

        with open(label_path, encoding='utf-8') as file:
            lines = file.read().splitlines()
        names, sizes, keypoints = [], [], []
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            name = line.split(',', 1)[0].strip()
            width, height, points = self._parse_line(
                line, f'{label_path} line {line_number}: {name!r}')
            names.append(name)
            sizes.append((height, width))
            keypoints.append(points)
        if not names:
            raise AnnotationError(f'{label_path}: no label lines')

        keypoints = np.stack(keypoints)  # (N, 21, 2)
        missing = (keypoints == -1).any(axis=-1)  # (N, 21)
        keypoints[missing] = 0
        visible = (~missing).astype(np.float32)
        sizes = np.asarray(sizes, dtype=np.float32)  # (N, 2) h, w
        boxes = np.zeros((len(names), 4), dtype=np.float32)
        boxes[:, 2] = sizes[:, 1] - 1
        boxes[:, 3] = sizes[:, 0] - 1
        data_list = [
            dict(img_path=osp.join(img_dir, name),
                 img_id=name,
                 keypoints=keypoints[index],
                 keypoints_visible=visible[index],
                 bbox=boxes[index],
                 img_shape=(int(sizes[index, 0]), int(sizes[index, 1])))
            for index, name in enumerate(names)
        ]
        if self.with_masks:
            mask_dir = self.check_exists(
                osp.join(split_dir, self.MASK_FOLDER),
                'mask folder (with_masks=True)')
            for info in data_list:
                stem = osp.splitext(info['img_id'])[0]
                info['mask_path'] = self.check_exists(
                    osp.join(mask_dir, stem + '.png'),
                    f"mask of {info['img_id']}")
        return data_list
