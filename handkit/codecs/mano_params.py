"""Boukhayma et al.'s regressed MANO vector and its training targets.

Boukhayma, Bem and Torr, "3D Hand Shape and Pose from Images in the Wild",
CVPR 2019 (docs/boukhayma.md): a ResNet-34 regresses 22 numbers, in this
order (the layout of their release, 3dhand ``model.py``: ``scale =
xs[:, 0]``, ``trans = xs[:, 1:3]``, ``rot = xs[:, 3:6]``, ``theta =
xs[:, 6:12]``, ``beta = xs[:, 12:]``):

====== ===== ===================================================
slice  size  meaning
====== ===== ===================================================
0      1     scale ``s`` of the weak-perspective projection, input px per m
1:3    2     2D translation ``t``, input px (where the root projects)
3:6    3     global rotation, axis-angle (applied after the base rotation)
6:12   6     pose PCA coefficients (``HandModelLayer(pose_type='pca')``)
12:22  10    shape coefficients (the hand model's betas; the open hand: 10)
====== ===== ===================================================

:func:`split_params` / :func:`join_params` map the vector to these parts and
back (torch or numpy). :class:`MANOParams` is the codec of the regression
head (:class:`handkit.models.heads.MANORegressionHead`): ``encode`` gives the
2D and 3D targets of L2D / L3D, ``decode`` the layout.
:class:`MaskDistanceField` gives Lmask's target: the distance from each
input pixel to the sample's hand mask (0 inside); :class:`HandModelParams`
the targets of the parameter terms (rotation, pose, shape) where the data
carries the hand model's parameters (the synthetic mesh hands).
"""
from typing import Dict, Sequence

import cv2
import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_size
from handkit.registry import CODECS

#: the parts of the regressed vector, in order
PARAM_PARTS = ('scale', 'transl', 'rot', 'pose', 'shape')


def param_sizes(num_pose: int = 6, num_shape: int = 10) -> Dict[str, int]:
    """Size of each part of the vector (1, 2, 3, num_pose, num_shape)."""
    return dict(scale=1, transl=2, rot=3, pose=int(num_pose),
                shape=int(num_shape))


def split_params(params, num_pose: int = 6, num_shape: int = 10) -> dict:
    """(..., 6 + num_pose + num_shape) vector -> ``{'scale': (..., 1),
    'transl': (..., 2), 'rot': (..., 3), 'pose': (..., num_pose), 'shape':
    (..., num_shape)}`` (views of a tensor or an array)."""
    sizes = param_sizes(num_pose, num_shape)
    total = sum(sizes.values())
    if params.shape[-1] != total:
        raise ValueError(f'split_params: the vector has {params.shape[-1]} '
                         f'numbers, the layout {total} (1 scale, 2 '
                         f'translation, 3 rotation, {num_pose} pose, '
                         f'{num_shape} shape)')
    parts, start = {}, 0
    for name in PARAM_PARTS:
        parts[name] = params[..., start:start + sizes[name]]
        start += sizes[name]
    return parts


def join_params(scale, transl, rot, pose, shape):
    """The inverse of :func:`split_params` (torch tensors or numpy arrays,
    the same leading shape)."""
    parts = (scale, transl, rot, pose, shape)
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts, -1)
    import torch
    return torch.cat(parts, -1)


@CODECS.register_module()
class MANOParams(BaseCodec):
    """Targets of Boukhayma et al.'s losses; the 22-number layout.

    Args:
        input_size: (width, height) of the network input, pixels.
        num_pose: pose PCA coefficients in the vector (the paper's 6).
        num_shape: shape coefficients (the hand model's count; 10).
        root_index: the joint the 3D target is relative to (0: the wrist).

    ``encode(transformed_keypoints (21, 2) input px, keypoints_visible
    (21,), keypoints_3d (21, 3) mm camera frame)`` returns
    ``keypoints_2d`` (21, 2) input px, ``keypoints_2d_weight`` (21,) (the
    visibility) and ``joints_3d_rel`` (21, 3) **metres**, root-relative
    (the model's unit: the hand model is in metres).
    ``decode(params)`` returns :func:`split_params` of the vector.
    """

    encode_inputs = ('transformed_keypoints', 'keypoints_visible',
                     'keypoints_3d')
    SETTINGS = ('input_size', 'num_pose', 'num_shape', 'root_index')

    def __init__(self, input_size: Sequence[int] = (256, 256),
                 num_pose: int = 6, num_shape: int = 10,
                 root_index: int = 0) -> None:
        self.input_size = check_size(input_size, 'input_size')
        if int(num_pose) < 0 or int(num_shape) < 0:
            raise ValueError('MANOParams: num_pose and num_shape must be '
                             f'>= 0, got {num_pose}, {num_shape}')
        self.num_pose, self.num_shape = int(num_pose), int(num_shape)
        self.root_index = int(root_index)

    @property
    def num_params(self) -> int:
        return 6 + self.num_pose + self.num_shape

    def encode(self, transformed_keypoints: np.ndarray,
               keypoints_visible: np.ndarray,
               keypoints_3d: np.ndarray) -> Dict[str, np.ndarray]:
        keypoints = np.asarray(transformed_keypoints, np.float32)
        visible = np.asarray(keypoints_visible, np.float32).reshape(-1)
        joints = np.asarray(keypoints_3d, np.float64)
        if keypoints.ndim != 2 or keypoints.shape[1] != 2 or \
                joints.shape != (keypoints.shape[0], 3) or \
                visible.shape != (keypoints.shape[0], ):
            raise ValueError(
                f'MANOParams: expected keypoints (K, 2), visibility (K,) '
                f'and keypoints_3d (K, 3); got {keypoints.shape}, '
                f'{visible.shape}, {joints.shape}')
        relative = (joints - joints[self.root_index]) / 1000.0  # mm -> m
        return dict(keypoints_2d=keypoints,
                    keypoints_2d_weight=(visible > 0).astype(np.float32),
                    joints_3d_rel=relative.astype(np.float32))

    def decode(self, params) -> dict:
        return split_params(params, self.num_pose, self.num_shape)


@CODECS.register_module()
class MaskDistanceField(BaseCodec):
    """Hand mask (input pixels) -> distance to the mask, in input pixels.

    The target of Boukhayma et al.'s mask loss as handkit writes it (the
    paper states the term, "projected vertices inside the hand mask",
    without code; docs/boukhayma.md): ``mask_distance`` (H, W) float32 is,
    at each input pixel outside the mask, the Euclidean distance to the
    nearest mask pixel (OpenCV's exact ``DIST_L2`` transform), 0 on the
    mask. The head samples it bilinearly at each projected vertex.

    Args:
        input_size: (width, height) of the network input.
    """

    encode_inputs = ('hand_mask', )
    SETTINGS = ('input_size', )

    def __init__(self, input_size: Sequence[int] = (256, 256)) -> None:
        self.input_size = check_size(input_size, 'input_size')

    def encode(self, hand_mask: np.ndarray) -> Dict[str, np.ndarray]:
        mask = np.asarray(hand_mask) > 0
        width, height = self.input_size
        if mask.shape != (height, width):
            raise ValueError(
                f'MaskDistanceField: hand_mask is {mask.shape} (H, W), '
                f'expected ({height}, {width}), the input size: warp it with '
                'the image first (TopdownAffine)')
        if not mask.any():  # no hand in the crop: no mask term
            return dict(mask_distance=np.zeros((height, width), np.float32),
                        mask_weight=np.zeros(1, np.float32))
        outside = (~mask).astype(np.uint8)  # distance to the nearest 0
        distance = cv2.distanceTransform(outside, cv2.DIST_L2,
                                         cv2.DIST_MASK_PRECISE)
        return dict(mask_distance=distance.astype(np.float32),
                    mask_weight=np.ones(1, np.float32))


@CODECS.register_module()
class HandModelParams(BaseCodec):
    """The hand model's parameters of a sample, as targets of the
    parameter terms of :class:`~handkit.models.heads.MANORegressionHead`.

    Boukhayma et al. pre-train their encoder on rendered hands whose
    parameters are known: their release's ``create_synthetic_data.py``
    stores, with each image, its "hand and view gt parameters" (scale,
    translation, rotation, the 6 pose coefficients, the 10 betas). The
    synthetic mesh hands carry theirs (``SyntheticHandDataset(hand='mesh')``:
    ``global_orient``, ``hand_pose``, ``hand_shape``; mirrored with the hand
    by ``TopdownAffine(mirror_side=...)``).

    ``encode(global_orient (3,), hand_pose (45,), hand_shape (10,))``
    returns float32 ``rotation_gt`` (3, 3), the rotation matrix of
    ``global_orient`` (the head's ``R(rot) R(base_rotation)``),
    ``hand_pose_gt`` (15, 3) axis-angles and ``hand_shape_gt`` (10,).
    """

    encode_inputs = ('global_orient', 'hand_pose', 'hand_shape')
    SETTINGS = ()

    def encode(self, global_orient: np.ndarray, hand_pose: np.ndarray,
               hand_shape: np.ndarray) -> Dict[str, np.ndarray]:
        orient = np.asarray(global_orient, np.float64).reshape(-1)
        pose = np.asarray(hand_pose, np.float32).reshape(-1)
        if orient.shape != (3, ) or pose.size % 3:
            raise ValueError(
                f'HandModelParams: expected global_orient (3,) and hand_pose '
                f'(3 J,) axis-angles, got {np.shape(global_orient)} and '
                f'{np.shape(hand_pose)}')
        rotation, _ = cv2.Rodrigues(orient)
        return dict(rotation_gt=rotation.astype(np.float32),
                    hand_pose_gt=pose.reshape(-1, 3),
                    hand_shape_gt=np.asarray(hand_shape,
                                             np.float32).reshape(-1))
