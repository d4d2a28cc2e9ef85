"""Adapter for the NYU Hand Pose Dataset (Tompson et al., SIGGRAPH 2014).

Depth frames from three Kinects with 36 annotated joints; Li and Wang (Section
"Definition of hand joints") evaluates on 14 of them with the mean 3D error
and the fraction of frames whose worst joint is under a threshold (see
``handkit.evaluation.functional3d``).

NYU's joints are not handkit's 21: ``keypoints`` is (14, 2) or (36, 2) and
``keypoints_3d`` (14, 3) or (36, 3) in NYU's own order (``NYU_JOINT_NAMES``),
and the dataset's ``metainfo`` says so (``num_keypoints``, ``keypoint_names``).

Camera frame. ``joint_xyz`` has y pointing *up*: the dataset's own
``convert_xyz_to_uvd`` is ``u = cx + fx x / z``, ``v = cy - fy y / z``. handkit
keeps every 3D format in the usual pinhole camera frame (x right, y down, z
forward), so ``keypoints_3d = joint_xyz * (1, -1, 1)`` and then
``(u, v) = K (x, y, z) / z`` with ``cam_K`` built from ``NYU_CAMERA``; the
adapter's ``keypoints`` are the stored ``joint_uvd`` u, v, which that
projection reproduces.
"""
import os.path as osp
from typing import List, Optional

import numpy as np
import scipy.io

from handkit.datasets.base import AnnotationError, BaseHandDataset
from handkit.registry import DATASETS

# Depth camera of NYU (the same nominal intrinsics for its three Kinects).
NYU_CAMERA = dict(fx=588.03, fy=587.07, cx=320.0, cy=240.0)
NYU_IMAGE_SHAPE = (480, 640)
NYU_NUM_CAMERAS = 3

# The 36 joints in the order of ``joint_data.mat``: fingers F1 (little) to F4
# (index) then the thumb TH, each from the tip segment KNU3 to the base KNU1
# (A: bone, B: joint), then six palm points.
NYU_JOINT_NAMES = tuple(
    f'{finger}_KNU{segment}_{part}'
    for finger in ('F1', 'F2', 'F3', 'F4', 'TH')
    for segment in (3, 2, 1) for part in ('A', 'B')) + tuple(
        f'PALM_{index}' for index in range(1, 7))
# The 14 joints of the evaluation protocol (DeepPrior, Li and Wang Fig. 2).
NYU_EVAL_JOINTS = np.array(
    [0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32], dtype=np.int64)
NYU_JOINT_SETS = dict(eval14=NYU_EVAL_JOINTS,
                      all36=np.arange(len(NYU_JOINT_NAMES)))

# joint_xyz (y up) -> camera frame (y down).
_FLIP_Y = np.array([1.0, -1.0, 1.0], dtype=np.float32)


def nyu_camera_matrix() -> np.ndarray:
    """(3, 3) float32 intrinsics of NYU's depth camera (``NYU_CAMERA``)."""
    return np.array([[NYU_CAMERA['fx'], 0.0, NYU_CAMERA['cx']],
                     [0.0, NYU_CAMERA['fy'], NYU_CAMERA['cy']],
                     [0.0, 0.0, 1.0]], dtype=np.float32)


@DATASETS.register_module()
class NYUHandDataset(BaseHandDataset):
    """NYU Hand Pose Dataset as released: ``joint_data.mat`` + depth PNGs.

    Args:
        data_root: folder holding ``train/`` and ``test/``.
        split: 'train' (72,757 frames) or 'test' (8,252 frames).
        camera: 1, 2 or 3; 1 is the frontal camera, the one the protocol
            evaluates on.
        joints: 'eval14' (the protocol's 14 joints) or 'all36' (every joint,
            as Li and Wang train; the metainfo then holds
            ``eval_keypoint_indices``, the 14 protocol joints, which
            ``NYUMetric`` / ``Keypoint3DMetric`` score by default).
        use_reference_centers: optional path of a text file with one
            "x y z" line (mm) per frame of the split, the hand centres
            published by the DeepPrior++ / V2V-PoseNet authors, in the same
            y-up frame as ``joint_xyz``; they are converted like the joints
            and stored as ``center_3d`` (3,).
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``depth_path``, ``img_id`` (the 1-based frame
    number of the file name), ``keypoints`` (J, 2) px (``joint_uvd``'s u, v),
    ``keypoints_visible`` (J,) ones, ``bbox`` (tightest box of the
    keypoints), ``img_shape`` (480, 640), ``keypoints_3d`` (J, 3) mm in the
    camera frame (y down), ``cam_K`` (3, 3) and, with reference centres,
    ``center_3d`` (3,).
    """

    METAINFO = dict(
        dataset_name='nyu',
        num_keypoints=len(NYU_EVAL_JOINTS),
        keypoint_names=[NYU_JOINT_NAMES[i] for i in NYU_EVAL_JOINTS],
        pck_thresholds=[0.04, 0.06, 0.08, 0.10, 0.12],
        max_error_thresholds_mm=[10, 20, 30, 40, 50, 60, 70, 80],
    )
    LAYOUT = """
train/joint_data.mat   (joint_uvd, joint_xyz: 3 cameras x frames x 36 x 3)
train/depth_1_0000001.png ...   (depth_{camera}_{frame:07d}.png, 1-based)
test/joint_data.mat
test/depth_1_0000001.png ...
"""
    SOURCE = ('NYU Hand Pose Dataset, Tompson et al. 2014, '
              'https://jonathantompson.github.io/NYU_Hand_Pose_Dataset.htm')
    SPLITS = ('train', 'test')

    def __init__(self, data_root: str, split: str = 'train',
                 camera: int = 1, joints: str = 'eval14',
                 use_reference_centers: Optional[str] = None,
                 **kwargs) -> None:
        if camera not in range(1, NYU_NUM_CAMERAS + 1):
            raise ValueError(f'NYUHandDataset: camera must be 1, 2 or 3, '
                             f'got {camera!r}')
        if joints not in NYU_JOINT_SETS:
            raise ValueError(f'NYUHandDataset: joints must be one of '
                             f'{sorted(NYU_JOINT_SETS)}, got {joints!r}')
        self.camera = camera
        self.joints = joints
        self.use_reference_centers = use_reference_centers
        selected = NYU_JOINT_SETS[joints]
        metainfo = dict(
            num_keypoints=len(selected),
            keypoint_names=[NYU_JOINT_NAMES[i] for i in selected])
        if joints == 'all36':
            # the 3D metrics score the protocol's 14 of the 36 by default
            metainfo['eval_keypoint_indices'] = NYU_EVAL_JOINTS.tolist()
        metainfo.update(kwargs.pop('metainfo', None) or {})
        super().__init__(split=split, data_root=data_root, metainfo=metainfo,
                         **kwargs)

    def _read_joint_array(self, mat, key, mat_path):
        """(frames, 36, 3) float32 joints of the chosen camera."""
        if key not in mat:
            found = sorted(name for name in mat if not name.startswith('__'))
            raise AnnotationError(
                f'{mat_path}: no key {key!r} (found {found})')
        array = np.asarray(mat[key], dtype=np.float32)
        expected = (NYU_NUM_CAMERAS, len(NYU_JOINT_NAMES), 3)
        if array.ndim != 4 or (array.shape[0], ) + array.shape[2:] != expected:
            raise AnnotationError(
                f'{mat_path}: {key!r} must be (3 cameras, frames, 36 joints, '
                f'3), got {array.shape}')
        array = array[self.camera - 1]
        bad_frames = np.flatnonzero(~np.isfinite(array).all(axis=(1, 2)))
        if bad_frames.size:
            raise AnnotationError(
                f'{mat_path}: {key!r} holds NaN or inf at frames (1-based) '
                f'{(bad_frames[:10] + 1).tolist()}')
        return array

    def _read_centers(self, num_frames):
        """(frames, 3) float32 reference centres, y flipped like the joints."""
        path = self.check_exists(self.use_reference_centers,
                                 'reference centre file')
        with open(path, encoding='utf-8') as file:
            lines = [line for line in file.read().splitlines() if line.strip()]
        if len(lines) != num_frames:
            raise AnnotationError(
                f'{path}: {len(lines)} centre lines but the {self.split} '
                f'split has {num_frames} frames')
        centers = np.zeros((num_frames, 3), dtype=np.float32)
        for line_number, line in enumerate(lines, start=1):
            fields = line.split()
            try:
                values = [float(field) for field in fields]
            except ValueError as error:
                raise AnnotationError(
                    f'{path} line {line_number}: expected "x y z" in mm, got '
                    f'{line!r}') from error
            if len(values) != 3 or not np.isfinite(values).all():
                raise AnnotationError(
                    f'{path} line {line_number}: expected "x y z" in mm, got '
                    f'{line!r}')
            centers[line_number - 1] = values
        return centers * _FLIP_Y

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        split_dir = self.check_exists(
            osp.join(self.data_root, self.split), f'{self.split} folder')
        mat_path = self.check_exists(
            osp.join(split_dir, 'joint_data.mat'), 'joint file')
        mat = scipy.io.loadmat(mat_path)
        uvd = self._read_joint_array(mat, 'joint_uvd', mat_path)
        xyz = self._read_joint_array(mat, 'joint_xyz', mat_path)
        if uvd.shape != xyz.shape:
            raise AnnotationError(
                f'{mat_path}: joint_uvd {uvd.shape} and joint_xyz '
                f'{xyz.shape} disagree on the frame count')
        selected = NYU_JOINT_SETS[self.joints]
        keypoints = np.ascontiguousarray(uvd[:, selected, :2])  # (N, J, 2)
        keypoints_3d = xyz[:, selected] * _FLIP_Y  # (N, J, 3)
        num_frames, num_joints = keypoints.shape[:2]
        centers = (self._read_centers(num_frames)
                   if self.use_reference_centers is not None else None)

        boxes = np.concatenate([keypoints.min(axis=1),
                                keypoints.max(axis=1)], axis=1)  # (N, 4)
        visible = np.ones(num_joints, dtype=np.float32)
        cam_k = nyu_camera_matrix()
        data_list = []
        for index in range(num_frames):
            frame = index + 1
            info = dict(
                depth_path=osp.join(
                    split_dir, f'depth_{self.camera}_{frame:07d}.png'),
                img_id=frame,
                keypoints=keypoints[index],
                keypoints_visible=visible,
                bbox=boxes[index],
                img_shape=NYU_IMAGE_SHAPE,
                keypoints_3d=keypoints_3d[index],
                cam_K=cam_k)
            if centers is not None:
                info['center_3d'] = centers[index]
            data_list.append(info)
        return data_list
