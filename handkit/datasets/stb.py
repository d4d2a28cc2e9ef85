"""Adapter for the Stereo Hand Pose Tracking Benchmark (STB; Zhang et al.).

STB (the ResUnet paper of Bekiri and Babahenini, Section III.A: 18,000 stereo
and depth frames, 15,000 for training and 3,000 for testing) films one hand in
front of six backgrounds B1-B6, a 'Counting' and a 'Random' sequence of 1,500
frames each, with a Point Grey Bumblebee2 stereo pair (BB) and an Intel
RealSense F200 (SK, colour + depth).

Labels. ``labels/<seq>_SK.mat`` and ``labels/<seq>_BB.mat`` each hold
``handPara``, 3 x 21 x N, in mm: ``_SK`` files in the SK *depth* camera frame,
``_BB`` files in the left stereo camera frame. The release's README gives the
joint order: palm centre, then little, ring, middle, index, thumb, each finger
MCP, PIP, DIP, tip (base first). handkit's order is wrist, then thumb, index,
middle, ring, little, base first, so ``STB_TO_HANDKIT`` only reverses the
order of the fingers. As common practice does (Zimmermann & Brox 2017 and
the methods compared in Bekiri and Babahenini, Fig. 5), STB's palm centre takes
handkit's wrist slot (index 0); it is *not* moved to the anatomical wrist
(``metainfo['root_joint'] = 'palm_center'``).

Cameras. 'SK' gives the RealSense colour image: its joints are moved from the
depth to the colour camera frame with the README's stereo extrinsics
(``depth = R colour + T``, R from the Rodrigues vector) and projected with
the colour intrinsics. 'BB_left' / 'BB_right' give the rectified stereo
images (one set of intrinsics); the right camera sits one baseline (120.054
mm) along +x of the left one, so its joints are ``x - baseline``.

Depth. The SK depth images (``SK_depth_<frame>.png``) are 8-bit, 3-channel
PNGs holding ``depth = R + 256 G`` mm (the README: "we use 3 channels to
store depth images"), 0 where the camera measured nothing, in the depth
camera's own pixel grid (its intrinsics, ``STB_SK_DEPTH_CAMERA``).
``handkit.datasets.utils.register_sk_depth_to_color`` moves them into the
colour image's grid for a method that needs the depth aligned with the RGB
(Cai et al.'s depth regulariser, ``LoadSTBDepth``): each measured pixel is back-projected with
the depth intrinsics, moved to the colour frame with the README's
extrinsics and projected with the colour intrinsics, the nearest surface
kept where several land on one pixel (a z-buffer).

Split. The common protocol (Zimmermann & Brox 2017): B1Counting and
B1Random for testing, the ten B2-B6 sequences for training.
"""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import scipy.io

from handkit.datasets.base import AnnotationError, BaseHandDataset
from handkit.datasets.utils import (PCK_THRESHOLDS_MM, STB_SK_COLOR_CAMERA,
                                    sk_depth_to_color)
from handkit.geometry import project_points
from handkit.registry import DATASETS
from handkit.skeleton import NUM_KEYPOINTS

STB_BB_CAMERA = dict(fx=822.79041, fy=822.79041, cx=318.47345, cy=250.31296)
STB_BB_BASELINE_MM = 120.054

# handkit index i takes STB joint STB_TO_HANDKIT[i].
STB_TO_HANDKIT = np.array(
    [0, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3,
     4], dtype=np.int64)

# STB films one person's left hand (Zimmermann & Brox's STB reader,
# lmb-freiburg/hand3d data/BinaryDbReaderSTB.py: "this dataset only
# contains left hands").
STB_HAND_SIDE = 'left'

STB_BACKGROUNDS = tuple(f'B{index}' for index in range(1, 7))
STB_SPLIT_SEQUENCES = dict(
    train=tuple(f'{background}{kind}' for background in STB_BACKGROUNDS[1:]
                for kind in ('Counting', 'Random')),
    test=('B1Counting', 'B1Random'),
)


def _intrinsics(camera):
    return np.array([[camera['fx'], 0.0, camera['cx']],
                     [0.0, camera['fy'], camera['cy']],
                     [0.0, 0.0, 1.0]], dtype=np.float32)


@DATASETS.register_module()
class STBDataset(BaseHandDataset):
    """STB as released: ``labels/*.mat`` and ``images/<sequence>/*.png``.

    Args:
        data_root: folder holding ``labels/`` and ``images/``.
        sequences: sequence names (e.g. ``['B1Counting']``); ``None`` takes
            the split's sequences (test: B1Counting, B1Random; train: B2-B6).
        split: 'train' or 'test'; ignored when ``sequences`` is given.
        camera: 'SK' (RealSense colour), 'BB_left' or 'BB_right'.
        with_depth: the samples need their SK depth image (Cai et al.'s
            depth regulariser, read by ``LoadSTBDepth``): camera 'SK' only;
            each sequence's depth images must be there (its first frame's
            is checked when the list is built).
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path``, ``img_id`` ('<sequence>/<frame>'),
    ``keypoints`` (21, 2) px (the 3D joints projected with ``cam_K``),
    ``keypoints_visible`` (21,) ones, ``bbox`` (tightest keypoint box),
    ``img_shape`` (480, 640), ``keypoints_3d`` (21, 3) mm in the chosen
    camera's frame, ``cam_K`` (3, 3), ``hand_side`` 'left' (STB's one
    hand); with camera 'SK' also ``depth_path``
    (``SK_depth_<frame>.png``, depth = R + 256 G).
    """

    # the optional labels (handkit.labels) this adapter gives, each with
    # how to ask for it: preflight's hint when a dataset lacks one
    label_hints = dict(
        depth="STBDataset(camera='SK', with_depth=True) + LoadSTBDepth")
    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='stb',
        pck_thresholds_mm=PCK_THRESHOLDS_MM,
        root_joint='palm_center',
    )
    LAYOUT = """
labels/B1Counting_SK.mat ...   (handPara 3 x 21 x 1500, mm; _SK and _BB files)
images/B1Counting/SK_color_0.png, SK_depth_0.png, BB_left_0.png,
                  BB_right_0.png ...  (frames 0-based)
"""
    SOURCE = ('Stereo Hand Pose Tracking Benchmark, Zhang et al. 2016/2017, '
              'https://github.com/zhjwustc/icip17_stereo_hand_pose_dataset')
    SPLITS = ('train', 'test')
    CAMERAS = dict(
        SK=dict(label='SK', image='SK_color', intrinsics=STB_SK_COLOR_CAMERA),
        BB_left=dict(label='BB', image='BB_left', intrinsics=STB_BB_CAMERA),
        BB_right=dict(label='BB', image='BB_right', intrinsics=STB_BB_CAMERA),
    )

    def __init__(self, data_root: str,
                 sequences: Optional[Sequence[str]] = None,
                 split: str = 'train', camera: str = 'SK',
                 with_depth: bool = False, **kwargs) -> None:
        if camera not in self.CAMERAS:
            raise ValueError(f'STBDataset: camera must be one of '
                             f'{sorted(self.CAMERAS)}, got {camera!r}')
        if with_depth and camera != 'SK':
            raise ValueError(f"STBDataset: with_depth=True needs camera='SK' "
                             f'(the depth images are the RealSense\'s), got '
                             f'{camera!r}')
        self.with_depth = bool(with_depth)
        if sequences is not None and (isinstance(sequences, str)
                                      or not len(sequences)):
            raise ValueError(f'STBDataset: sequences must be a non-empty list '
                             f'of names, got {sequences!r}')
        self.sequences = (tuple(sequences) if sequences is not None else
                          STB_SPLIT_SEQUENCES.get(split, ()))
        self.camera = camera
        super().__init__(split=split, data_root=data_root, **kwargs)

    def _read_hand_para(self, mat_path):
        """(N, 21, 3) float64 joints of one label file, in STB order."""
        mat = scipy.io.loadmat(mat_path)
        if 'handPara' not in mat:
            found = sorted(name for name in mat if not name.startswith('__'))
            raise AnnotationError(
                f"{mat_path}: no key 'handPara' (found {found})")
        hand_para = np.asarray(mat['handPara'], dtype=np.float64)
        if hand_para.ndim != 3 or hand_para.shape[:2] != (3, NUM_KEYPOINTS):
            raise AnnotationError(
                f"{mat_path}: 'handPara' must be 3 x 21 x frames, got "
                f'{hand_para.shape}')
        return hand_para.transpose(2, 1, 0)

    def _camera_joints(self, joints):
        """STB-frame joints (N, 21, 3) -> the chosen camera's frame."""
        if self.camera == 'SK':
            return sk_depth_to_color(joints)
        if self.camera == 'BB_right':
            return joints - np.array([STB_BB_BASELINE_MM, 0.0, 0.0])
        return joints

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        setup = self.CAMERAS[self.camera]
        cam_k = _intrinsics(setup['intrinsics'])
        visible = np.ones(NUM_KEYPOINTS, dtype=np.float32)
        data_list = []
        for sequence in self.sequences:
            mat_path = self.check_exists(
                osp.join(self.data_root, 'labels',
                         f"{sequence}_{setup['label']}.mat"), 'label file')
            image_dir = self.check_exists(
                osp.join(self.data_root, 'images', sequence), 'image folder')
            if self.with_depth:
                self.check_exists(osp.join(image_dir, 'SK_depth_0.png'),
                                  'SK depth image (with_depth=True)')
            joints = self._camera_joints(
                self._read_hand_para(mat_path)[:, STB_TO_HANDKIT])
            keypoints = project_points(joints, cam_k.astype(np.float64))
            for frame, (points_3d, points) in enumerate(zip(joints,
                                                            keypoints)):
                source = f"{mat_path} frame {frame}"
                points_3d = self.check_keypoints(points_3d, source, 3)
                points = self.check_keypoints(points, source, 2)
                info = dict(
                    img_path=osp.join(image_dir,
                                      f"{setup['image']}_{frame}.png"),
                    img_id=f'{sequence}/{frame}',
                    keypoints=points,
                    keypoints_visible=visible,
                    bbox=self.keypoint_box(points, visible),
                    img_shape=(480, 640),
                    keypoints_3d=points_3d,
                    cam_K=cam_k,
                    hand_side=STB_HAND_SIDE)
                if self.camera == 'SK':
                    info['depth_path'] = osp.join(image_dir,
                                                  f'SK_depth_{frame}.png')
                data_list.append(info)
        return data_list
