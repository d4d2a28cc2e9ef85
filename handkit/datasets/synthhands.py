"""Adapter for SynthHands (Mueller et al., ICCV 2017).

SynthHands (the ResUnet paper of Bekiri and Babahenini, Section III.A: 63.5K
colour and depth images of 640 x 480 px from five egocentric viewpoints of male
and female hands, with and without objects) renders a tracked hand motion into
an Intel RealSense's view. Frames live in
``<female|male>_<noobject|object>/seq<NN>/cam<NN>/<NN>/`` with per-frame
files:

* ``<frame:08d>_color_on_depth.png``: the colour render registered to the
  depth camera (handkit's ``img_path``);
* ``<frame:08d>_depth.png``: the depth render (``depth_path``);
* ``<frame:08d>_joint_pos.txt``: 63 comma-separated numbers, (x, y, z) of
  the 21 joints in mm in the depth camera frame.

The joint order is already handkit's: wrist, then thumb, index, middle,
ring, little, each from the base (MCP) to the tip (W, T0-T3, ..., L0-L3).
The files hold no 2D keypoints: ``keypoints`` are the joints projected with
the depth camera's intrinsics ``SYNTHHANDS_DEPTH_CAMERA`` (fx = fy = 475.62,
cx = 311.125, cy = 245.965, from the release's README), which the
``color_on_depth`` images share.

Split: the release defines none. A seeded random 10 % of the frame folders
(``<subset>/seqNN/camNN/NN``, consecutive frames of one motion) is 'test',
the rest 'train'; whole folders move together.
"""
import glob
import os
import os.path as osp
from typing import List, Sequence

import numpy as np

from handkit.datasets.base import AnnotationError, BaseHandDataset
from handkit.datasets.utils import (PCK_THRESHOLDS_MM, read_number_file,
                                    seeded_group_split)
from handkit.geometry import project_points
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS

SYNTHHANDS_DEPTH_CAMERA = dict(fx=475.62, fy=475.62, cx=311.125, cy=245.965)
SYNTHHANDS_IMAGE_SHAPE = (480, 640)
SYNTHHANDS_SUBSETS = ('female_noobject', 'female_object', 'male_noobject',
                      'male_object')
_JOINT_SUFFIX = '_joint_pos.txt'


def synthhands_camera_matrix() -> np.ndarray:
    """(3, 3) float32 intrinsics of SynthHands' depth camera."""
    camera = SYNTHHANDS_DEPTH_CAMERA
    return np.array([[camera['fx'], 0.0, camera['cx']],
                     [0.0, camera['fy'], camera['cy']],
                     [0.0, 0.0, 1.0]], dtype=np.float32)


@DATASETS.register_module()
class SynthHandsDataset(BaseHandDataset):
    """SynthHands as released (``SynthHands_Release``).

    Args:
        data_root: folder holding ``female_noobject/`` ... ``male_object/``.
        split: 'train' or 'test' (seeded split of the frame folders).
        subsets: which of the four subject / object folders to read.
        test_fraction: fraction of the frame folders in 'test'.
        split_seed: seed of that split.
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path`` (``color_on_depth``),
    ``depth_path``, ``img_id`` ('<folder>/<frame>'), ``keypoints`` (21, 2) px
    (projected), ``keypoints_visible`` (21,) ones, ``bbox`` (tightest
    keypoint box), ``img_shape`` (480, 640), ``keypoints_3d`` (21, 3) mm in
    the depth camera frame, ``cam_K`` (3, 3).
    """

    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='synthhands',
        pck_thresholds_mm=PCK_THRESHOLDS_MM,
    )
    LAYOUT = """
female_noobject/seq01/cam01/01/00000000_color_on_depth.png
female_noobject/seq01/cam01/01/00000000_depth.png
female_noobject/seq01/cam01/01/00000000_joint_pos.txt   (x,y,z x 21, mm)
female_object/..., male_noobject/..., male_object/... likewise
"""
    SOURCE = ('SynthHands, Mueller et al. 2017, https://handtracker.'
              'mpi-inf.mpg.de/projects/OccludedHands/SynthHands.htm')
    SPLITS = ('train', 'test')

    def __init__(self, data_root: str, split: str = 'train',
                 subsets: Sequence[str] = SYNTHHANDS_SUBSETS,
                 test_fraction: float = 0.1, split_seed: int = 0,
                 **kwargs) -> None:
        unknown = sorted(set(subsets) - set(SYNTHHANDS_SUBSETS))
        if isinstance(subsets, str) or unknown or not len(subsets):
            raise ValueError(f'SynthHandsDataset: subsets must be a non-empty '
                             f'list from {SYNTHHANDS_SUBSETS}, got '
                             f'{subsets!r}')
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f'SynthHandsDataset: test_fraction must be in '
                             f'(0, 1), got {test_fraction!r}')
        self.subsets = tuple(subsets)
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        super().__init__(split=split, data_root=data_root, **kwargs)

    def _frame_folders(self):
        """Sorted '<subset>/seqNN/camNN/NN' names of every frame folder."""
        folders = []
        for subset in self.subsets:
            subset_dir = self.check_exists(
                osp.join(self.data_root, subset), f'{subset} folder')
            folders += [
                osp.relpath(path, self.data_root)
                for path in glob.glob(
                    osp.join(subset_dir, 'seq*', 'cam*', '*'))
                if osp.isdir(path)
            ]
        if not folders:
            raise AnnotationError(
                f'{self.data_root}: no frame folders <subset>/seqNN/camNN/NN '
                f'in {self.subsets}')
        return sorted(folders)

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        folders = seeded_group_split(self._frame_folders(), self.split,
                                     self.test_fraction, self.split_seed)
        if not folders:
            raise AnnotationError(
                f"SynthHandsDataset: split {self.split!r} is empty: it needs "
                f'at least two frame folders under {self.data_root}')
        cam_k = synthhands_camera_matrix()
        visible = np.ones(NUM_KEYPOINTS, dtype=np.float32)
        data_list = []
        for folder in folders:
            folder_dir = osp.join(self.data_root, folder)
            frames = sorted(name[:-len(_JOINT_SUFFIX)]
                            for name in os.listdir(folder_dir)
                            if name.endswith(_JOINT_SUFFIX))
            for frame in frames:
                prefix = osp.join(folder_dir, frame)
                joint_path = prefix + _JOINT_SUFFIX
                keypoints_3d = self.check_keypoints(
                    read_number_file(joint_path, 3 * NUM_KEYPOINTS).reshape(
                        NUM_KEYPOINTS, 3), joint_path, 3)
                if not (keypoints_3d[:, 2] > 0).all():
                    raise AnnotationError(
                        f'{joint_path}: joints must lie in front of the '
                        f'camera (z > 0), got z = {keypoints_3d[:, 2].min()}')
                keypoints = project_points(keypoints_3d, cam_k)
                data_list.append(dict(
                    img_path=f'{prefix}_color_on_depth.png',
                    depth_path=f'{prefix}_depth.png',
                    img_id=f'{folder}/{frame}'.replace(os.sep, '/'),
                    keypoints=keypoints,
                    keypoints_visible=visible,
                    bbox=self.keypoint_box(keypoints, visible),
                    img_shape=SYNTHHANDS_IMAGE_SHAPE,
                    keypoints_3d=keypoints_3d,
                    cam_K=cam_k))
        return data_list
