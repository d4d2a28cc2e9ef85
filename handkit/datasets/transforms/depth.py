"""Depth transforms: load a depth map, crop and normalise it to a cube.

Li and Wang ("Definition of hand joints"): "One joint annotation is used as the
location prior of the hand ... The depth values and the joint coordinates are
normalized to [-1, 1]." :class:`LoadDepth` reads the depth map in mm;
:class:`DepthCubeCrop` crops the depth image to a cube around a reference
centre (:func:`crop_depth_cube`), encodes the joints with the
:class:`~handkit.codecs.depth_cube.DepthCube` codec and leaves the sample in
the shape the rest of the pipeline expects (``img``, ``warp_mat``,
``transformed_keypoints``, ``targets['joints_cube']``), so
``GenerateTargets`` (e.g. KCM maps for a structure head) and
``PackHandInputs`` run unchanged after it.

The crop, written out (DeepPrior++ / V2V-PoseNet practice):

* a cube of edge ``cube_size`` mm is centred on the reference point
  ``center = (X, Y, Z)`` mm in the camera frame;
* the image window is the cube's projection at the centre's depth
  (:func:`handkit.geometry.cube_window`): centred on ``(u_c, v_c)``,
  half-width ``r_x = (cube_size / 2) fx / Z`` and half-height ``r_y =
  (cube_size / 2) fy / Z`` pixels;
* the window is resampled to ``input_size`` with nearest-neighbour (depth
  must not be blended across edges). With integer pixel centres, the
  window's outer edges map to the outer edges of the input: input pixel
  ``i`` samples image coordinate ``u_c + (i - (w - 1) / 2) * 2 r_x / w``
  (``warp_mat``, :func:`handkit.geometry.window_warp_matrix`);
* depth ``d`` becomes ``(d - Z) / (cube_size / 2)``; missing depth (0, also
  outside the image) and everything behind the cube become 1 (background),
  and everything in front of it is clipped to -1.

Reference centre. The cube is centred on the dataset's ``center_3d`` when the
sample has one (NYU with the DeepPrior++ / V2V-PoseNet reference centres),
else on the mean of the labelled 3D joints. The latter is derived from the
ground truth: evaluating with it is the common "oracle centre" protocol (the
hand is assumed localised), which reads lower errors than a detected centre.
"""
import os.path as osp
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from handkit.codecs.depth_cube import DepthCube
from handkit.codecs.utils import check_cube_center
from handkit.datasets.transforms.geometric import (mirror_hand_labels,
                                                   mirrors_hand,
                                                   warp_hand_mask)
from handkit.datasets.transforms.loading import check_image_shape
from handkit.datasets.utils import (load_nyu_depth, read_rhd_depth,
                                    read_sk_depth,
                                    register_sk_depth_to_color)
from handkit.geometry import apply_affine, cube_window, window_warp_matrix
from handkit.registry import TRANSFORMS


def read_depth_png_mm(path: str) -> np.ndarray:
    """(H, W) float32 depth in mm from a single-channel 16-bit PNG (0: none).
    """
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot decode depth image: {path}')
    if image.dtype != np.uint16 or image.ndim != 2:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise ValueError(
            f'{path}: depth must be a single-channel 16-bit PNG in mm, found '
            f'{image.dtype} with {channels} channel(s) (NYU files need '
            f"LoadDepth(encoding='nyu_rgb'))")
    return image.astype(np.float32)


def crop_depth_cube(depth: np.ndarray, center: np.ndarray, cube_size: float,
                    input_size: Tuple[int, int], cam_K: np.ndarray) -> dict:
    """Crop a depth image to a cube and normalise it to [-1, 1].

    The recipe is the module docstring's.

    Args:
        depth: (H, W) depth in mm, 0 where missing.
        center: (3,) mm, the cube's centre in the camera frame.
        cube_size: edge of the cube in mm.
        input_size: (w, h) of the network input.
        cam_K: (3, 3) skew-free intrinsics of the depth camera.

    Returns:
        dict: ``depth_input`` float32 (1, h, w) in [-1, 1], ``crop_window``
        float32 (4,) (u0, v0, u1, v1) image pixels and ``warp_mat`` float32
        (2, 3) image -> input pixels.
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f'crop_depth_cube: depth must be an (H, W) image in '
                         f'mm, got shape {depth.shape}')
    center = check_cube_center(center, 'crop_depth_cube')
    window = cube_window(center, cube_size, cam_K)
    warp_mat = window_warp_matrix(window, input_size)
    crop = cv2.warpAffine(
        depth.astype(np.float32), warp_mat, tuple(input_size),
        flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0)
    normalised = (crop - center[2]) / (cube_size / 2)
    normalised[(crop <= 0) | (normalised > 1)] = 1.0  # missing or far
    normalised = np.maximum(normalised, -1.0)  # in front of the cube
    return {'depth_input': normalised[None].astype(np.float32),
            'crop_window': window, 'warp_mat': warp_mat}


@TRANSFORMS.register_module()
class LoadDepth(BaseTransform):
    """Read ``results['depth_path']`` as a float32 (H, W) depth map in mm.

    A sample that already holds ``depth`` (``SyntheticHandDataset(modality=
    'depth')`` renders it) is passed through, cast to float32.

    Args:
        encoding: 'uint16_mm' (a 16-bit single-channel PNG in mm, the common
            format) or 'nyu_rgb' (NYU's 8-bit PNG, ``depth = G * 256 + B``,
            read by ``handkit.datasets.utils.load_nyu_depth``).

    Sets ``depth``, ``img_shape`` and ``ori_shape`` (h, w).

    Raises:
        FileNotFoundError: ``depth_path`` does not exist.
        ValueError: the file is not a depth image of the chosen encoding
            (names the file and what it holds).
    """

    ENCODINGS = ('uint16_mm', 'nyu_rgb')

    def __init__(self, encoding: str = 'uint16_mm') -> None:
        super().__init__()
        if encoding not in self.ENCODINGS:
            raise ValueError(f'LoadDepth: encoding must be one of '
                             f'{self.ENCODINGS}, got {encoding!r}')
        self.encoding = encoding

    def transform(self, results: dict) -> dict:
        if 'depth' in results:
            depth = np.asarray(results['depth'], dtype=np.float32)
        else:
            if 'depth_path' not in results:
                raise KeyError(
                    "LoadDepth: results have neither 'depth' nor "
                    f"'depth_path' (sample {results.get('img_id')})")
            path = results['depth_path']
            if not osp.isfile(path):
                raise FileNotFoundError(f'depth file not found: {path}')
            depth = (load_nyu_depth(path) if self.encoding == 'nyu_rgb' else
                     read_depth_png_mm(path))
            check_image_shape(path, depth.shape, results.get('img_shape'))
        if depth.ndim != 2:
            raise ValueError(
                f'LoadDepth: depth must be (H, W) mm, got shape '
                f"{depth.shape} (sample {results.get('depth_path')})")
        results['depth'] = depth
        results['img_shape'] = depth.shape
        results['ori_shape'] = depth.shape
        return results

    def __repr__(self):
        return f'{type(self).__name__}(encoding={self.encoding!r})'


@TRANSFORMS.register_module()
class DepthCubeCrop(BaseTransform):
    """Crop ``depth`` to a cube around the hand and normalise it (Li and Wang).

    Args:
        cube_size: edge of the cube in mm (300: DeepPrior++ / V2V on NYU).
        input_size: (w, h) of the network input.
        center: the reference centre:

            * 'center_3d': the sample's ``center_3d`` (3,) mm when present,
              else the mean of the labelled 3D joints;
            * 'keypoints_mean': always the mean of the labelled 3D joints;
            * 'root': 3D joint 0 (handkit's wrist).

            The joint-derived centres are "oracle centres" (see the module
            docstring).
        mirror_side: None, or 'left' / 'right': a sample whose
            ``hand_side`` is that side is mirrored into the other side's
            model, as ``TopdownAffine(mirror_side=...)`` does for RGB crops:
            Li and Wang's network is trained on one-handed sets (NYU, ICVL,
            MSRA), so handkit's two-sided synthetic hands give it both
            chiralities to learn otherwise. The scene is mirrored in the
            camera's x (X -> -X): with the cube window centred on the
            centre's projection, that is exactly the crop flipped left-right
            (``warp_mat`` includes the flip), the 3D labels and
            ``cube_center`` with x negated, ``hand_side`` the other side and
            ``hand_mirrored`` True, so ``CascadeEstimator`` mirrors the 3D
            prediction back.

    Reads ``depth`` (H, W) mm, ``cam_K`` (3, 3), ``keypoints_3d`` (J, 3) mm
    (optional with ``center='center_3d'`` and a ``center_3d``),
    ``keypoints`` (J, 2) px and ``keypoints_visible`` (optional). Writes
    ``img`` float32 (h, w, 1) in [-1, 1] (:func:`crop_depth_cube`;
    PackHandInputs packs it as (1, h, w)), ``targets['joints_cube']`` (J, 3)
    when joints are known (the :class:`DepthCube` codec),
    ``cube_center`` float32 (3,), ``cube_size``, ``warp_mat`` (2, 3) image ->
    input pixels, ``crop_window``, ``input_size``, ``img_shape`` and, with
    ``keypoints``, ``transformed_keypoints`` (J, 2) input pixels.
    """

    CENTERS = ('center_3d', 'keypoints_mean', 'root')

    def __init__(self, cube_size: float = 300.0,
                 input_size: Tuple[int, int] = (128, 128),
                 center: str = 'center_3d',
                 mirror_side: Optional[str] = None) -> None:
        super().__init__()
        if center not in self.CENTERS:
            raise ValueError(f'DepthCubeCrop: center must be one of '
                             f'{self.CENTERS}, got {center!r}')
        if mirror_side not in (None, 'left', 'right'):
            raise ValueError(f"DepthCubeCrop: mirror_side must be None, "
                             f"'left' or 'right', got {mirror_side!r}")
        self.mirror_side = mirror_side
        self.codec = DepthCube(cube_size)
        self.cube_size = self.codec.cube_size
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.center = center

    def _reference_center(self, results, sample):
        if self.center == 'center_3d' and 'center_3d' in results:
            return np.asarray(results['center_3d'], dtype=np.float64)
        if 'keypoints_3d' not in results:
            raise KeyError(f"DepthCubeCrop(center={self.center!r}): results "
                           f"have no 'keypoints_3d' to centre the cube on "
                           f'(sample {sample})')
        joints = np.asarray(results['keypoints_3d'], dtype=np.float64)
        if self.center == 'root':
            return joints[0]
        visible = np.asarray(results.get('keypoints_visible',
                                         np.ones(len(joints)))) > 0
        labelled = joints[visible] if visible.any() else joints
        return labelled.mean(axis=0)

    def transform(self, results: dict) -> dict:
        sample = results.get('depth_path', results.get('img_path'))
        for key in ('depth', 'cam_K'):
            if key not in results:
                raise KeyError(f"DepthCubeCrop: results have no '{key}' "
                               f'(run LoadDepth first; sample {sample})')
        cam_k = np.asarray(results['cam_K'], dtype=np.float64)
        if cam_k.shape != (3, 3):
            raise ValueError(f'DepthCubeCrop: cam_K must be (3, 3), got '
                             f'{cam_k.shape} (sample {sample})')
        center = check_cube_center(self._reference_center(results, sample),
                                   'DepthCubeCrop')
        crop = crop_depth_cube(results['depth'], center, self.cube_size,
                               self.input_size, cam_k)
        if mirrors_hand(results, self.mirror_side):
            crop, center = self._mirror(results, crop, center)
        results['img'] = crop['depth_input'].transpose(1, 2, 0)  # (h, w, 1)
        results['img_shape'] = results['img'].shape[:2]
        results['input_size'] = self.input_size
        results['warp_mat'] = crop['warp_mat']
        results['crop_window'] = crop['crop_window']
        results['cube_center'] = center.astype(np.float32)
        results['cube_size'] = self.cube_size
        warp_hand_mask(results, crop['warp_mat'], self.input_size)
        if results.get('keypoints_3d') is not None:
            results.setdefault('targets', {}).update(self.codec.encode(
                results['keypoints_3d'], center))
        if 'keypoints' in results:
            results['transformed_keypoints'] = apply_affine(
                np.asarray(results['keypoints'])[:, :2], crop['warp_mat'])
        return results

    def _mirror(self, results: dict, crop: dict, center: np.ndarray):
        """The crop and centre of the scene mirrored in camera x (see
        ``mirror_side``); the 3D labels mirrored in ``results``."""
        width = self.input_size[0]
        flip = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0],
                         [0.0, 0.0, 1.0]])  # input pixel i -> W - 1 - i
        warp = np.concatenate([crop['warp_mat'], [[0.0, 0.0, 1.0]]])
        crop = dict(crop, depth_input=np.ascontiguousarray(
            crop['depth_input'][..., ::-1]),
            warp_mat=(flip @ warp)[:2].astype(np.float32))
        mirror_hand_labels(results, ('keypoints_3d', 'center_3d',
                                     'vertices'))
        return crop, center * np.array([-1.0, 1.0, 1.0])

    def __repr__(self):
        mirror = ('' if self.mirror_side is None
                  else f', mirror_side={self.mirror_side!r}')
        return (f'{type(self).__name__}(cube_size={self.cube_size}, '
                f'input_size={self.input_size}, center={self.center!r}'
                f'{mirror})')


def _existing_depth_path(results: dict, transform: str, dataset: str) -> str:
    """The sample's ``depth_path``, checked to exist.

    Args:
        results: the sample.
        transform: the calling transform's name, for the errors.
        dataset: the adapter setting that gives ``depth_path``, for the
            errors.

    Raises:
        KeyError: the sample has no ``depth_path``.
        FileNotFoundError: the file does not exist.
    """
    path = results.get('depth_path')
    if path is None:
        raise KeyError(f"{transform}: sample {results.get('img_id')} has no "
                       f"'depth_path' (use {dataset})")
    if not osp.isfile(path):
        raise FileNotFoundError(f'{transform}: depth image not found: {path}')
    return path


@TRANSFORMS.register_module()
class LoadSTBDepth(BaseTransform):
    """Read an STB SK depth image, registered to the SK colour image.

    For methods trained with a depth image aligned with the RGB crop (Cai et
    al., ECCV 2018): ``results['depth_path']`` (``STBDataset(camera='SK',
    with_depth=True)``) is decoded (``depth = R + 256 G`` mm,
    :func:`handkit.datasets.utils.read_sk_depth`) and moved into the colour
    camera's pixel grid
    (:func:`handkit.datasets.utils.register_sk_depth_to_color`), so that
    ``TopdownAffine`` crops it with the image. Place it after ``LoadImage``.

    Sets ``depth`` (h, w) float32 mm of the colour grid (``img_shape``,
    else 480 x 640), 0 where nothing was measured.

    Raises:
        KeyError: the sample has no ``depth_path``.
        FileNotFoundError: the file does not exist.
        ValueError: the file is not an STB depth image.
    """

    def transform(self, results: dict) -> dict:
        path = _existing_depth_path(
            results, 'LoadSTBDepth',
            "STBDataset(camera='SK', with_depth=True)")
        shape = tuple(results.get('img_shape', (480, 640)))[:2]
        results['depth'] = register_sk_depth_to_color(read_sk_depth(path),
                                                      shape)
        return results


@TRANSFORMS.register_module()
class LoadRHDDepth(BaseTransform):
    """Read an RHD depth image, its background set to 0.

    For Cai et al.'s depth regulariser on RHD (ECCV 2018): ``results[
    'depth_path']`` (``RHDDataset(with_depth=True)``) is decoded
    (:func:`handkit.datasets.utils.read_rhd_depth`: ``(R * 256 + G) / 65535
    * 5 m``). RHD renders the depth with the colour camera, so it is already
    aligned with the image (no registration) and ``TopdownAffine`` crops it
    with the image. The pixels that ``results['segmentation_path']`` (RHD's
    mask, given with the depth) labels background become 0: RHD gives them
    a far depth, which would otherwise count as the scene's surface in the
    depth codecs' reference depth (see ``read_rhd_depth``). Place it after
    ``LoadImage``.

    Sets ``depth`` (320, 320) float32 mm, 0 on the background.

    Raises:
        KeyError: the sample has no ``depth_path`` or no
            ``segmentation_path``.
        FileNotFoundError: the depth or mask file does not exist.
        ValueError: the file is not an RHD depth image, or the mask does not
            fit it.
    """

    def transform(self, results: dict) -> dict:
        path = _existing_depth_path(results, 'LoadRHDDepth',
                                    'RHDDataset(with_depth=True)')
        if results.get('segmentation_path') is None:
            raise KeyError(
                f"LoadRHDDepth: sample {results.get('img_id')} has no "
                f"'segmentation_path' (RHD's mask, which tells the depth's "
                f'background; use RHDDataset(with_depth=True))')
        depth = read_rhd_depth(path, results['segmentation_path'])
        check_image_shape(path, depth.shape, results.get('img_shape'))
        results['depth'] = depth
        return results
