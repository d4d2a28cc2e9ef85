"""Adapter for the GANerated Hands dataset (Mueller et al., CVPR 2018).

GANerated (the ResUnet paper of Bekiri and Babahenini, Section III.A: about
330,000 synthetic hand images "annotated in three dimensions with a model
featuring 21 joints") translates rendered hands to realistic ones with a
CycleGAN-like network. Each frame is a 256 x 256 crop of a 640 x 480 render,
with per-frame text files of comma-separated numbers:

* ``<frame>_joint2D.txt``: 42 numbers, (u, v) of the 21 joints in the crop;
* ``<frame>_joint_pos_global.txt``: 63 numbers, (x, y, z) in mm in the
  camera frame of the full render;
* ``<frame>_crop_params.txt``: 3 numbers (u0, v0, s): the crop's top-left
  corner in the full render and its scale, ``joint2D = s (project(xyz) -
  (u0, v0))``;
* ``<frame>_joint_pos.txt``: root-relative, scale-normalised 3D positions
  (no unit); not read: ``keypoints_3d`` comes from the global file.

The joint order is already handkit's: wrist, then thumb, index, middle,
ring, little, each from the base (MCP) to the tip (W, T0-T3, I0-I3, M0-M3,
R0-R3, L0-L3 in the loaders of the release's users).

Camera: the render's intrinsics ``GANERATED_CAMERA`` (fx = fy = 617.173,
cx = 315.453, cy = 242.259, from the README) moved to the crop:
``cam_K = [[s fx, 0, s (cx - u0)], [0, s fy, s (cy - v0)], [0, 0, 1]]``, so
projecting ``keypoints_3d`` with ``cam_K`` gives the stored ``joint2D``.

Split: the release defines none. A seeded random 10 % of the sequence
folders (``data/<noObject|withObject>/<NNNN>``) is 'test', the rest 'train';
whole folders move together so that no folder feeds both.
"""
import os
import os.path as osp
from typing import List, Sequence

import numpy as np

from handkit.datasets.base import AnnotationError, BaseHandDataset
from handkit.datasets.utils import (PCK_THRESHOLDS_MM, read_number_file,
                                    seeded_group_split)
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS

GANERATED_CAMERA = dict(fx=617.173, fy=617.173, cx=315.453, cy=242.259)
GANERATED_IMAGE_SHAPE = (256, 256)
GANERATED_SUBSETS = ('noObject', 'withObject')
_GLOBAL_SUFFIX = '_joint_pos_global.txt'


@DATASETS.register_module()
class GANeratedDataset(BaseHandDataset):
    """GANerated Hands as released (``GANeratedHands_Release``).

    Args:
        data_root: folder holding ``data/noObject`` and ``data/withObject``.
        split: 'train' or 'test' (seeded split of the sequence folders).
        subsets: which of 'noObject', 'withObject' to read.
        test_fraction: fraction of the sequence folders in 'test'.
        split_seed: seed of that split.
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path`` (``<frame>_color_composed.png``),
    ``img_id`` ('<subset>/<sequence>/<frame>'), ``keypoints`` (21, 2) px as
    stored in ``joint2D``, ``keypoints_visible`` (21,) ones, ``bbox``
    (tightest keypoint box), ``img_shape`` (256, 256), ``keypoints_3d``
    (21, 3) mm, ``cam_K`` (3, 3) of the crop.
    """

    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='ganerated',
        pck_thresholds_mm=PCK_THRESHOLDS_MM,
    )
    LAYOUT = """
data/noObject/0001/0001_color_composed.png     (256 x 256 crop)
data/noObject/0001/0001_joint2D.txt            (42 numbers: u,v x 21, crop)
data/noObject/0001/0001_joint_pos_global.txt   (63 numbers: x,y,z x 21, mm)
data/noObject/0001/0001_crop_params.txt        (u0,v0,scale)
data/withObject/0001/... likewise
"""
    SOURCE = ('GANerated Hands, Mueller et al. 2018, https://handtracker.'
              'mpi-inf.mpg.de/projects/GANeratedHands/GANeratedDataset.htm')
    SPLITS = ('train', 'test')

    def __init__(self, data_root: str, split: str = 'train',
                 subsets: Sequence[str] = GANERATED_SUBSETS,
                 test_fraction: float = 0.1, split_seed: int = 0,
                 **kwargs) -> None:
        unknown = sorted(set(subsets) - set(GANERATED_SUBSETS))
        if isinstance(subsets, str) or unknown or not len(subsets):
            raise ValueError(f'GANeratedDataset: subsets must be a non-empty '
                             f'list from {GANERATED_SUBSETS}, got {subsets!r}')
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f'GANeratedDataset: test_fraction must be in '
                             f'(0, 1), got {test_fraction!r}')
        self.subsets = tuple(subsets)
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        super().__init__(split=split, data_root=data_root, **kwargs)

    def _sequence_folders(self):
        """Sorted 'subset/sequence' names of every sequence folder."""
        folders = []
        for subset in self.subsets:
            subset_dir = self.check_exists(
                osp.join(self.data_root, 'data', subset), f'{subset} folder')
            folders += [f'{subset}/{entry.name}'
                        for entry in os.scandir(subset_dir) if entry.is_dir()]
        if not folders:
            raise AnnotationError(f'{self.data_root}/data: no sequence '
                                  f'folders in {self.subsets}')
        return sorted(folders)

    def _read_frame(self, prefix):
        """(keypoints (21, 2), keypoints_3d (21, 3), cam_K (3, 3))."""
        keypoints = self.check_keypoints(
            read_number_file(f'{prefix}_joint2D.txt', 2 * NUM_KEYPOINTS)
            .reshape(NUM_KEYPOINTS, 2), f'{prefix}_joint2D.txt', 2)
        keypoints_3d = self.check_keypoints(
            read_number_file(prefix + _GLOBAL_SUFFIX, 3 * NUM_KEYPOINTS)
            .reshape(NUM_KEYPOINTS, 3), prefix + _GLOBAL_SUFFIX, 3)
        crop_u, crop_v, scale = read_number_file(f'{prefix}_crop_params.txt',
                                                 3)
        if not scale > 0:
            raise AnnotationError(f'{prefix}_crop_params.txt: scale must be '
                                  f'positive, got {scale}')
        camera = GANERATED_CAMERA
        cam_k = np.array(
            [[scale * camera['fx'], 0.0, scale * (camera['cx'] - crop_u)],
             [0.0, scale * camera['fy'], scale * (camera['cy'] - crop_v)],
             [0.0, 0.0, 1.0]], dtype=np.float32)
        return keypoints, keypoints_3d, cam_k

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        folders = seeded_group_split(self._sequence_folders(), self.split,
                                     self.test_fraction, self.split_seed)
        if not folders:
            raise AnnotationError(
                f"GANeratedDataset: split {self.split!r} is empty: it needs "
                f'at least two sequence folders under {self.data_root}/data')
        visible = np.ones(NUM_KEYPOINTS, dtype=np.float32)
        data_list = []
        for folder in folders:
            folder_dir = osp.join(self.data_root, 'data', folder)
            frames = sorted(name[:-len(_GLOBAL_SUFFIX)]
                            for name in os.listdir(folder_dir)
                            if name.endswith(_GLOBAL_SUFFIX))
            for frame in frames:
                prefix = osp.join(folder_dir, frame)
                keypoints, keypoints_3d, cam_k = self._read_frame(prefix)
                data_list.append(dict(
                    img_path=f'{prefix}_color_composed.png',
                    img_id=f'{folder}/{frame}',
                    keypoints=keypoints,
                    keypoints_visible=visible,
                    bbox=self.keypoint_box(keypoints, visible),
                    img_shape=GANERATED_IMAGE_SHAPE,
                    keypoints_3d=keypoints_3d,
                    cam_K=cam_k))
        return data_list
