"""Adapter for COCO-style hand keypoint files, as MMPose publishes them.

MMPose converts OneHand10K, CMU Panoptic, RHD and FreiHAND to one COCO-style
JSON per split: ``images`` (file_name, width, height, id) and ``annotations``
(image_id, bbox [x, y, w, h], keypoints 21 x (x, y, v) flat, or nested as
21 x [x, y, v] in MMPose's RHD file, optionally num_keypoints and iscrowd).
The NSRM experiments (Section 4.1) can be rerun on these files: OneHand10K's
keep the release's train / test division, Panoptic's are MMPose's own
division.
"""
import contextlib
import io
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from pycocotools.coco import COCO

from handkit.datasets.base import (AnnotationError, BaseHandDataset,
                                   load_json)
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS, TIP_FIRST_ORDER

RHD_ORDER = tuple(TIP_FIRST_ORDER.tolist())


def _check_keypoint_order(keypoint_order):
    """None or int64 (21,): handkit keypoint i = file keypoint order[i]."""
    if keypoint_order is None:
        return None
    if isinstance(keypoint_order, str):
        if keypoint_order != 'rhd':
            raise ValueError(f"CocoHandDataset: keypoint_order must be None, "
                             f"'rhd' or a permutation of range(21), got "
                             f'{keypoint_order!r}')
        return np.array(RHD_ORDER, dtype=np.int64)
    order = np.asarray(keypoint_order)
    if (order.shape != (NUM_KEYPOINTS, ) or order.dtype.kind not in 'iu'
            or not np.array_equal(np.sort(order), np.arange(NUM_KEYPOINTS))):
        raise ValueError(f'CocoHandDataset: keypoint_order must be a '
                         f'permutation of range({NUM_KEYPOINTS}), got '
                         f'{keypoint_order!r}')
    return order.astype(np.int64)


def _require_keys(records, keys, path, what):
    """Raise AnnotationError naming the first record that lacks a key."""
    for index, record in enumerate(records):
        for key in keys:
            if not isinstance(record, dict) or key not in record:
                raise AnnotationError(
                    f'{path}: {what}[{index}] is missing key {key!r}')


@DATASETS.register_module()
class CocoHandDataset(BaseHandDataset):
    """One hand per COCO annotation, read with ``pycocotools``.

    Annotations marked ``iscrowd`` and annotations with no labelled keypoint
    (every v = 0) are skipped silently, as MMPose does; ``num_keypoints`` is
    not read (the v column decides). A keypoint is labelled when v > 0 (COCO's
    1 "labelled, occluded" and 2 "visible" both count).

    Args:
        ann_file: the JSON file; relative paths are joined to ``data_root``.
        data_root: root of the dataset.
        data_prefix: ``dict(img=folder)``, the image folder that
            ``file_name`` is relative to (joined to ``data_root`` when
            relative). Default ``dict(img='')``.
        keypoint_order: None (the file is in handkit's order, as MMPose's
            OneHand10K, Panoptic and FreiHAND files), 'rhd' (RHD's tip-first
            fingers), or 21 indices: handkit keypoint i = file keypoint
            ``keypoint_order[i]``.
        split: a label only; the split is the file ``ann_file`` names.
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``
            (e.g. ``metainfo=dict(pck_thresholds=[0.1, 0.15, 0.2, 0.25,
            0.3])`` for OneHand10K, whose Table 2 uses these).

    Each ``data_info`` holds ``img_path``, ``img_id`` (the COCO image id),
    ``keypoints`` (21, 2), ``keypoints_visible`` (21,), ``bbox`` (the
    annotation's box as x1, y1, x1 + w - 1, y1 + h - 1, else the tightest
    labelled keypoint box) and ``img_shape`` (height, width) when the image
    states both.
    """

    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='coco_hand',
    )
    LAYOUT = """
annotations/onehand10k_train.json   (ann_file; COCO keypoints: "images", "annotations")
Train/source/0.jpg ...              (data_prefix.img + file_name)
(MMPose's layouts: onehand10k/, panoptic/, rhd/, freihand/)
"""
    SOURCE = ('the annotation files MMPose publishes for its hand datasets '
              '(e.g. download.openmmlab.com/mmpose/datasets/'
              'onehand10k_annotations.tar; see MMPose docs, '
              '"2D Hand Keypoint Datasets"); set ann_file as well as '
              'data_root.')

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 keypoint_order: Optional[Union[str, Sequence[int]]] = None,
                 split: str = 'train',
                 **kwargs) -> None:
        if not ann_file:
            raise ValueError('CocoHandDataset: ann_file is empty; name the '
                             'COCO-style annotation file')
        data_prefix = dict(img='') if data_prefix is None else data_prefix
        if 'img' not in data_prefix:
            raise ValueError(f"CocoHandDataset: data_prefix needs the key "
                             f"'img' (the image folder), got {data_prefix!r}")
        self.keypoint_order = _check_keypoint_order(keypoint_order)
        super().__init__(split=split,
                         ann_file=ann_file,
                         data_root=data_root,
                         data_prefix=data_prefix,
                         **kwargs)

    def _load_coco(self):
        """``COCO`` index of ``ann_file``, after checking the keys it needs."""
        path = self.ann_file
        dataset = load_json(path)
        if not isinstance(dataset, dict):
            raise AnnotationError(f'{path}: expected a COCO object, got '
                                  f'{type(dataset).__name__}')
        for key in ('images', 'annotations'):
            if key not in dataset:
                raise AnnotationError(f'{path}: missing key {key!r}')
            if not isinstance(dataset[key], list):
                raise AnnotationError(f'{path}: {key!r} must be a list, got '
                                      f'{type(dataset[key]).__name__}')
        ann_keys = ('id', 'image_id', 'keypoints') + (
            ('category_id', ) if 'categories' in dataset else ())
        _require_keys(dataset['images'], ('id', 'file_name'), path, 'images')
        _require_keys(dataset['annotations'], ann_keys, path, 'annotations')
        coco = COCO()
        coco.dataset = dataset
        with contextlib.redirect_stdout(io.StringIO()):  # its progress prints
            coco.createIndex()
        unknown = {ann['image_id'] for ann in dataset['annotations']}
        unknown -= set(coco.imgs)
        if unknown:
            first = sorted(unknown, key=str)[:5]
            raise AnnotationError(f'{path}: annotations refer to image_id '
                                  f"{first} missing from 'images'")
        return coco

    def _keypoint_triplets(self, values, source):
        """(21, 3) float32 x, y, v in handkit order from a COCO keypoint list.

        Accepts the flat list of the COCO format (x1, y1, v1, x2, ...) and
        the nested 21 x [x, y, v] of MMPose's published RHD file, as MMPose's
        loader does (it reshapes either to (-1, 3)).
        """
        try:
            array = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise AnnotationError(f'{source}: keypoints are not a list of '
                                  f'numbers ({error})') from error
        if not ((array.ndim == 1 and array.size % 3 == 0) or
                (array.ndim == 2 and array.shape[1] == 3)):
            raise AnnotationError(
                f'{source}: keypoints must be (x, y, v) triplets, flat or '
                f'nested as K x [x, y, v], got shape {array.shape}')
        triplets = self.check_keypoints(array.reshape(-1, 3),
                                        source,
                                        num_coords=3)
        if self.keypoint_order is not None:
            triplets = triplets[self.keypoint_order]
        return triplets

    def _box(self, ann, source):
        """Annotated [x, y, w, h] box as float32 x1, y1, x2, y2.

        MMPose's files count w, h in pixels with both edge pixels included
        (their Panoptic boxes are the keypoint box with w = x2 - x1 + 1), so
        with pixel centres at integers x2 = x + w - 1.
        """
        try:
            box = np.asarray(ann['bbox'], dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise AnnotationError(f'{source}: bbox must be [x, y, w, h], got '
                                  f'{ann["bbox"]!r}') from error
        if box.shape != (4, ) or not np.isfinite(box).all():
            raise AnnotationError(f'{source}: bbox must be [x, y, w, h], got '
                                  f'{ann["bbox"]!r}')
        if box[2] <= 0 or box[3] <= 0:
            raise AnnotationError(
                f'{source}: bbox [x, y, w, h] = {ann["bbox"]!r} has a zero '
                'or negative width or height')
        return np.concatenate([box[:2], box[:2] + box[2:] - 1])

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.ann_file, 'annotation file')
        coco = self._load_coco()
        img_dir = self.data_prefix['img']
        data_list = []
        for img_id in coco.getImgIds():
            image = coco.imgs[img_id]
            for ann in coco.imgToAnns[img_id]:
                if ann.get('iscrowd', 0):
                    continue
                source = (f'{self.ann_file}: annotation id {ann["id"]} '
                          f'(image {image["file_name"]!r})')
                triplets = self._keypoint_triplets(ann['keypoints'], source)
                visible = (triplets[:, 2] > 0).astype(np.float32)
                if not visible.any():
                    continue
                keypoints = np.ascontiguousarray(triplets[:, :2])
                bbox = (self._box(ann, source) if 'bbox' in ann else
                        self.keypoint_box(keypoints, visible))
                data_info = dict(img_path=osp.join(img_dir,
                                                   image['file_name']),
                                 img_id=img_id,
                                 keypoints=keypoints,
                                 keypoints_visible=visible,
                                 bbox=bbox)
                if 'height' in image and 'width' in image:
                    data_info['img_shape'] = (int(image['height']),
                                              int(image['width']))
                data_list.append(data_info)
        return data_list
