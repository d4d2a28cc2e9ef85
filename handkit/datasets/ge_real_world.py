"""Adapter for Ge et al.'s real-world test set (CVPR 2019).

Ge, Ren, Li, Xue, Wang, Cai and Yuan, "3D Hand Shape and Pose Estimation
from a Single RGB Image", CVPR 2019, Section 5.1: a test set of 583 real
RGB photos of one person's hand in front of shop shelves, each 256 x 256,
labelled with 3D joints (and meshes, released separately). It ships in the
authors' repository (github.com/3d-hand-shape/hand-graph-cnn,
``data/real_world_testset``; Snap Inc.'s licence: non-commercial research
and education).

Files. ``params.mat``: ``image_path`` (N,) ('images/00000.jpg', ...),
``cam_param`` (N, 4) [fx, fy, u0, v0] of the *original* frame, ``bbox``
(N, 4) [x, y, w, h], the square of the original frame that was cut out and
resized to the 256 x 256 image, ``pose_root`` (N, 3) and ``pose_scale``
(1, N) (the middle finger's first bone, cm). ``pose_gt.mat``: ``pose_gt``
(N, 21, 3), cm, the original camera's frame. The joint order is already
handkit's (wrist, then thumb, index, middle, ring, little, base to tip;
checked against the photos). The crop's intrinsics are the release's own
(``data/view_realworld_data.py``): ``(fx, fy, u0 - x, v0 - y) * 256 / w``;
the 2D keypoints are the 3D joints projected with them.

Hand side. The photos show a left hand as an ordinary (not mirrored) photo
shows it: MediaPipe's handedness (``HandInferencer``, ``mirrored=False``)
says 'left' on each of 30 photos sampled every 20th, scores 0.81-1.0.

Evaluation. Ge et al. report the mean joint error in mm with the true root
and scale given (``MeshMetric(protocol='ge')``); there is no training split.
"""
import os.path as osp
from typing import List

import numpy as np
import scipy.io

from handkit.datasets.base import AnnotationError, BaseHandDataset
from handkit.datasets.utils import PCK_THRESHOLDS_MM
from handkit.geometry import project_points
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS

GE_REAL_WORLD_IMAGE_SIZE = 256
GE_REAL_WORLD_HAND_SIDE = 'left'
CM_TO_MM = 10.0


@DATASETS.register_module()
class GeRealWorldDataset(BaseHandDataset):
    """Ge et al.'s real-world test set as released.

    Args:
        data_root: the ``real_world_testset`` folder (``params.mat``,
            ``pose_gt.mat``, ``images/``).
        split: 'test' (the set has no other split).
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path``, ``img_id`` (the image's index),
    ``keypoints`` (21, 2) px (the joints projected into the 256 x 256
    image), ``keypoints_visible`` (21,) ones, ``bbox`` (tightest keypoint
    box), ``img_shape`` (256, 256), ``keypoints_3d`` (21, 3) mm in the
    camera frame, ``cam_K`` (3, 3) of the 256 x 256 image and
    ``hand_side`` 'left'.
    """

    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='ge_real_world',
        pck_thresholds_mm=PCK_THRESHOLDS_MM,
    )
    LAYOUT = """
params.mat    (image_path, cam_param [fx fy u0 v0], bbox [x y w h], ...)
pose_gt.mat   (pose_gt: N x 21 x 3, cm)
images/00000.jpg ... (256 x 256)
"""
    SOURCE = ('Ge et al., CVPR 2019, the real-world test set of '
              'https://github.com/3d-hand-shape/hand-graph-cnn '
              '(data/real_world_testset; non-commercial licence)')
    SPLITS = ('test', )

    def __init__(self, data_root: str, split: str = 'test',
                 **kwargs) -> None:
        super().__init__(split=split, data_root=data_root, **kwargs)

    def _read(self, path: str, keys: tuple) -> dict:
        mat = scipy.io.loadmat(self.check_exists(path, 'label file'))
        missing = [key for key in keys if key not in mat]
        if missing:
            found = sorted(name for name in mat if not name.startswith('__'))
            raise AnnotationError(f'{path}: no key {missing[0]!r} (found '
                                  f'{found})')
        return mat

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        params_path = osp.join(self.data_root, 'params.mat')
        gt_path = osp.join(self.data_root, 'pose_gt.mat')
        params = self._read(params_path, ('image_path', 'cam_param', 'bbox'))
        joints = np.asarray(self._read(gt_path, ('pose_gt', ))['pose_gt'],
                            np.float64) * CM_TO_MM
        names = [str(name).strip() for name in
                 np.asarray(params['image_path']).reshape(-1)]
        cameras = np.asarray(params['cam_param'], np.float64)
        boxes = np.asarray(params['bbox'], np.float64)
        count = len(names)
        shapes = {'cam_param': (cameras.shape, (count, 4)),
                  'bbox': (boxes.shape, (count, 4)),
                  'pose_gt': (joints.shape, (count, NUM_KEYPOINTS, 3))}
        for key, (shape, expected) in shapes.items():
            if shape != expected:
                raise AnnotationError(
                    f'{gt_path if key == "pose_gt" else params_path}: '
                    f"'{key}' has shape {shape}, expected {expected} "
                    f'({count} images in image_path)')
        if np.any(boxes[:, 2] <= 0):
            bad = np.flatnonzero(boxes[:, 2] <= 0)
            raise AnnotationError(f'{params_path}: bbox widths of entries '
                                  f'{bad[:10].tolist()} are not positive')
        # the crop's intrinsics, as the release's view_realworld_data.py
        ratio = GE_REAL_WORLD_IMAGE_SIZE / boxes[:, 2]
        cam_k = np.zeros((count, 3, 3))
        cam_k[:, 0, 0] = cameras[:, 0] * ratio
        cam_k[:, 1, 1] = cameras[:, 1] * ratio
        cam_k[:, 0, 2] = (cameras[:, 2] - boxes[:, 0]) * ratio
        cam_k[:, 1, 2] = (cameras[:, 3] - boxes[:, 1]) * ratio
        cam_k[:, 2, 2] = 1.0
        keypoints = project_points(joints, cam_k)
        visible = np.ones(NUM_KEYPOINTS, dtype=np.float32)
        size = (GE_REAL_WORLD_IMAGE_SIZE, GE_REAL_WORLD_IMAGE_SIZE)
        data_list = []
        for index, name in enumerate(names):
            source = f'{gt_path} entry {index}'
            points_3d = self.check_keypoints(joints[index], source, 3)
            points = self.check_keypoints(keypoints[index], source, 2)
            data_list.append(dict(
                img_path=osp.join(self.data_root, name),
                img_id=index,
                keypoints=points,
                keypoints_visible=visible,
                bbox=self.keypoint_box(points, visible),
                img_shape=size,
                keypoints_3d=points_3d,
                cam_K=cam_k[index].astype(np.float32),
                hand_side=GE_REAL_WORLD_HAND_SIDE))
        return data_list
