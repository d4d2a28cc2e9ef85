"""Adapter for FreiHAND (Zimmermann et al., ICCV 2019).

FreiHAND photographs 32,560 right-hand poses (MANO fits) in 224 x 224 px
images; the training set shows each pose four times, once per background
treatment (green screen, then three composited versions), so
``training/rgb`` holds 130,240 images and image ``i`` uses annotation
``i % 32560``. The evaluation set (3,960 images, one version) got its labels
with the second release (``evaluation_xyz.json``).

Labels. ``<set>_xyz.json``: a list of 21 x 3 joints in metres, camera frame;
``<set>_K.json``: a list of 3 x 3 intrinsics. The joint order is already
handkit's (wrist, then thumb, index, middle, ring, little, base to tip).
FreiHAND stores no 2D keypoints: ``keypoints`` are the 3D joints projected
with K, as the release's own ``projectPoints`` does.

Meshes (``with_mesh=True``). ``<set>_verts.json``: a list of MANO's 778 x 3
vertices in metres (camera frame); ``<set>_mano.json``: a list of 1 x 61
MANO fits, split as the release's ``split_theta`` does: 48 pose values
(axis-angle: the global rotation, then MANO's 15 hand joints x 3), 10
shape values, the root's 2D position (2) and a scale (1). The pose is
handed on as the file holds it.

Splits. 'train': the released training labels; 'test': the evaluation set.
The release defines no validation set: with ``holdout_fraction > 0`` a
seeded random set of *poses* (all four versions of each together, so no
pose is in both) becomes 'val' and leaves 'train'.
"""
import os
import os.path as osp
import re
from typing import List

import numpy as np

from handkit.datasets.base import (AnnotationError, BaseHandDataset,
                                   load_json)
from handkit.datasets.utils import PCK_THRESHOLDS_MM, seeded_split
from handkit.geometry import project_points
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS

FREIHAND_IMAGE_SHAPE = (224, 224)
_IMAGE_NAME = re.compile(r'^(\d{8})\.jpg$')


@DATASETS.register_module()
class FreiHANDDataset(BaseHandDataset):
    """FreiHAND as released (``FreiHAND_pub_v2``).

    Args:
        data_root: folder holding ``training_xyz.json`` and ``training/``.
        split: 'train', 'val' (needs ``holdout_fraction > 0``) or 'test'.
        holdout_fraction: fraction of the training poses held out as 'val'
            (0: none; 'train' is then every released training label).
        holdout_seed: seed of the random holdout.
        with_mesh: also read ``<set>_verts.json`` and ``<set>_mano.json``
            (large: about 1 GB of text for the training set): each
            ``data_info`` then has ``vertices`` (778, 3) mm, camera frame,
            ``global_orient`` (3,), ``hand_pose`` (45,) axis-angle radians
            (MANO's joint order) and ``hand_shape`` (10,), the keys of
            handkit's mesh hands (docs/synthetic.md).
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path``, ``img_id`` (the image number),
    ``ann_id`` (the index of its annotation), ``keypoints`` (21, 2) px
    (projected), ``keypoints_visible`` (21,) ones, ``bbox`` (tightest
    keypoint box), ``img_shape`` (224, 224), ``keypoints_3d`` (21, 3) mm in
    the camera frame, ``cam_K`` (3, 3).
    """

    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='freihand',
        pck_thresholds_mm=PCK_THRESHOLDS_MM,
    )
    LAYOUT = """
training_xyz.json, training_K.json   (lists of 21 x 3 m and 3 x 3)
training_verts.json, training_mano.json   (with_mesh: 778 x 3 m, 1 x 61)
training/rgb/00000000.jpg ...        (image i uses annotation i % 32560)
evaluation_xyz.json, evaluation_K.json (+ _verts, _mano with with_mesh)
evaluation/rgb/00000000.jpg ...
"""
    SOURCE = ('FreiHAND, Zimmermann et al. 2019, '
              'https://lmb.informatik.uni-freiburg.de/projects/freihand/')
    SPLITS = ('train', 'val', 'test')

    def __init__(self, data_root: str, split: str = 'train',
                 holdout_fraction: float = 0.0, holdout_seed: int = 0,
                 with_mesh: bool = False, **kwargs) -> None:
        if not 0.0 <= holdout_fraction < 1.0:
            raise ValueError(f'FreiHANDDataset: holdout_fraction must be in '
                             f'[0, 1), got {holdout_fraction!r}')
        if split == 'val' and holdout_fraction == 0.0:
            raise ValueError("FreiHANDDataset: split 'val' needs "
                             'holdout_fraction > 0 (the release has no '
                             'validation set)')
        self.holdout_fraction = holdout_fraction
        self.holdout_seed = holdout_seed
        self.with_mesh = bool(with_mesh)
        super().__init__(split=split, data_root=data_root, **kwargs)

    def _load_json_list(self, path, what):
        values = load_json(self.check_exists(path, what))
        if not isinstance(values, list) or not values:
            raise AnnotationError(f'{path}: expected a non-empty list')
        return values

    def _read_labels(self, set_name):
        """(xyz (A, 21, 3) mm, K (A, 3, 3)) float64 of one set."""
        xyz_path = osp.join(self.data_root, f'{set_name}_xyz.json')
        k_path = osp.join(self.data_root, f'{set_name}_K.json')
        xyz_list = self._load_json_list(xyz_path, 'joint file')
        k_list = self._load_json_list(k_path, 'camera file')
        if len(xyz_list) != len(k_list):
            raise AnnotationError(
                f'{xyz_path} holds {len(xyz_list)} entries but {k_path} '
                f'holds {len(k_list)}')
        xyz = np.stack([
            self.check_keypoints(joints, f'{xyz_path} entry {index}', 3)
            for index, joints in enumerate(xyz_list)]).astype(np.float64)
        cam_k = np.zeros((len(k_list), 3, 3))
        for index, matrix in enumerate(k_list):
            matrix = np.asarray(matrix, dtype=np.float64)
            if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
                raise AnnotationError(
                    f'{k_path} entry {index}: expected a finite 3 x 3 '
                    f'matrix, got shape {matrix.shape}')
            cam_k[index] = matrix
        return xyz * 1000.0, cam_k

    def _read_mesh(self, set_name, count):
        """``vertices`` (A, V, 3) mm and the MANO fit's ``global_orient``
        (A, 3), ``hand_pose`` (A, 45), ``hand_shape`` (A, 10), float32."""
        verts_path = osp.join(self.data_root, f'{set_name}_verts.json')
        mano_path = osp.join(self.data_root, f'{set_name}_mano.json')
        arrays = {}
        for path, what, shape in ((verts_path, 'vertex file', (-1, 3)),
                                  (mano_path, 'MANO file', (61, ))):
            entries = self._load_json_list(path,
                                           f'{what} (with_mesh=True)')
            if len(entries) != count:
                raise AnnotationError(f'{path} holds {len(entries)} entries '
                                      f'but {set_name}_xyz.json holds '
                                      f'{count}')
            try:
                values = np.asarray(entries, np.float64)
                values = values.reshape(count, *shape)
            except ValueError:
                raise AnnotationError(
                    f'{path}: expected {count} entries of '
                    f"{'V x 3 vertices' if shape[0] < 0 else '1 x 61 values'}"
                    f' each') from None
            if not np.isfinite(values).all():
                bad = np.flatnonzero(~np.isfinite(values.reshape(
                    count, -1)).all(1))
                raise AnnotationError(f'{path}: entries {bad[:10].tolist()} '
                                      'are not finite')
            arrays[path] = values
        mano = arrays[mano_path]
        return dict(vertices=(arrays[verts_path] * 1000.0).astype(np.float32),
                    global_orient=mano[:, :3].astype(np.float32),
                    hand_pose=mano[:, 3:48].astype(np.float32),
                    hand_shape=mano[:, 48:58].astype(np.float32))

    def _image_ids(self, image_dir):
        """Sorted (M,) int64 numbers of the images named %08d.jpg."""
        names = (_IMAGE_NAME.match(name) for name in os.listdir(image_dir))
        ids = np.array(sorted(int(match.group(1)) for match in names if match),
                       dtype=np.int64)
        if not ids.size:
            raise AnnotationError(f'{image_dir}: no images named '
                                  f'00000000.jpg, 00000001.jpg, ...')
        return ids

    def _holdout_mask(self, num_annotations):
        """(A,) bool: annotations held out as 'val'."""
        num_held = int(round(self.holdout_fraction * num_annotations))
        held_out, _ = seeded_split(num_annotations, self.holdout_seed,
                                   (num_held, num_annotations - num_held))
        held = np.zeros(num_annotations, dtype=bool)
        held[held_out] = True
        return held

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        set_name = 'evaluation' if self.split == 'test' else 'training'
        xyz, cam_k = self._read_labels(set_name)
        image_dir = self.check_exists(
            osp.join(self.data_root, set_name, 'rgb'), 'image folder')
        image_ids = self._image_ids(image_dir)
        ann_ids = image_ids % len(xyz)  # the versions share annotations
        if self.split != 'test' and self.holdout_fraction > 0:
            held = self._holdout_mask(len(xyz))[ann_ids]
            keep = held if self.split == 'val' else ~held
            image_ids, ann_ids = image_ids[keep], ann_ids[keep]

        keypoints = project_points(xyz, cam_k).astype(np.float32)  # (A, 21, 2)
        if not np.isfinite(keypoints).all():
            bad = np.flatnonzero(~np.isfinite(keypoints).all(axis=(1, 2)))
            raise AnnotationError(
                f'{set_name}_xyz.json: entries {bad[:10].tolist()} project '
                f'to NaN or inf (a joint at z = 0)')
        keypoints_3d = xyz.astype(np.float32)
        cam_k = cam_k.astype(np.float32)
        visible = np.ones(NUM_KEYPOINTS, dtype=np.float32)
        boxes = np.concatenate([keypoints.min(axis=1),
                                keypoints.max(axis=1)], axis=1)  # (A, 4)
        mesh = (self._read_mesh(set_name, len(xyz)) if self.with_mesh
                else {})
        return [
            dict(img_path=osp.join(image_dir, f'{image_id:08d}.jpg'),
                 img_id=int(image_id),
                 ann_id=int(ann_id),
                 keypoints=keypoints[ann_id],
                 keypoints_visible=visible,
                 bbox=boxes[ann_id],
                 img_shape=FREIHAND_IMAGE_SHAPE,
                 keypoints_3d=keypoints_3d[ann_id],
                 cam_K=cam_k[ann_id],
                 **{key: values[ann_id] for key, values in mesh.items()})
            for image_id, ann_id in zip(image_ids, ann_ids)
        ]
