"""Geometric transforms: choose the square hand crop, augment it, warp to it.

Pipeline steps 2-4 of docs/architecture.md:

* :class:`HandCrop` picks the square crop in original pixels (``bbox_center``,
  ``bbox_size``), as the NSRM paper crops Panoptic hands (Section 4.1: "a
  square patch of size 2.2B, where B is the maximum dimension of the tightest
  bounding box enclosing all hand keypoints");
* :class:`RandomAffine` perturbs that square (rotation, scale, shift and an
  optional mirror);
* :class:`TopdownAffine` builds the one affine matrix from original pixels to
  network-input pixels, warps the image with it and maps the keypoints.

Coordinates: pixel centres sit at integer coordinates, so an image of width
``w`` spans ``[-0.5, w - 0.5]`` and its centre is ``(w - 1) / 2``. A square of
side ``bbox_size`` centred on ``bbox_center`` is mapped exactly onto the input
rectangle ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``; the matrix and the point
maps are :mod:`handkit.geometry`'s.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from handkit.geometry import apply_affine, get_warp_matrix
from handkit.registry import TRANSFORMS


def warp_hand_mask(results: dict, warp_mat: np.ndarray,
                   input_size: Sequence[int]) -> None:
    """Warp ``results['hand_mask']`` (H, W) bool, when present, to the input.

    Nearest-neighbour, outside = background; the mask then lines up with the
    warped image (e.g. for ``MaskIoUMetric`` and real-mask targets).
    """
    if 'hand_mask' in results:
        results['hand_mask'] = cv2.warpAffine(
            np.asarray(results['hand_mask'], np.uint8), warp_mat,
            tuple(input_size), flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def warp_depth(results: dict, warp_mat: np.ndarray,
               input_size: Sequence[int]) -> None:
    """Warp ``results['depth']`` (H, W) float32 mm, when present, to the
    input: nearest neighbour (depth must not blend across the hand's edge),
    0 (no depth) outside the image."""
    if 'depth' in results:
        results['depth'] = cv2.warpAffine(
            np.asarray(results['depth'], np.float32), warp_mat,
            tuple(input_size), flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _image_shape(results, caller):
    """(h, w) of the current image: ``img_shape`` or ``img.shape``."""
    if 'img_shape' in results:
        return tuple(results['img_shape'][:2])
    if 'img' in results:
        return results['img'].shape[:2]
    raise KeyError(f"{caller}: results hold neither 'img_shape' nor 'img'; "
                   f'run LoadImage first')


def _image_square(results, caller):
    """Centre and side of the square centred on the image, side = max side."""
    height, width = _image_shape(results, caller)
    center = np.array([(width - 1) / 2, (height - 1) / 2], dtype=np.float32)
    return center, float(max(height, width))


def _crop_square(results, caller):
    """The crop chosen so far: HandCrop's square, else the image square."""
    if 'bbox_center' in results:
        return (np.asarray(results['bbox_center'], dtype=np.float32),
                float(results['bbox_size']))
    return _image_square(results, caller)


@TRANSFORMS.register_module()
class HandCrop(BaseTransform):
    """Choose the square crop around the hand (NSRM Section 4.1).

    Args:
        mode: where the square comes from:

            * 'keypoints': the tightest box of the labelled keypoints
              (``keypoints_visible > 0``); side ``padding`` x its longer side,
              centred on it. With no labelled keypoint it falls back to
              'bbox'.
            * 'bbox': the same from ``results['bbox']`` (x1, y1, x2, y2).
            * 'image': the square centred on the image with the image's
              longer side, ``padding`` unused (OneHand10K, where the paper
              does no cropping: the whole image, aspect kept, padded).
        padding: the paper's 2.2.

    A zero-size box (a single labelled keypoint) counts as 1 pixel wide
    before padding, so the crop is never empty.

    Sets ``bbox_center`` float32 (2,) and ``bbox_size`` (float, original
    pixels).
    """

    MODES = ('keypoints', 'bbox', 'image')

    def __init__(self, mode: str = 'keypoints',
                 padding: float = 2.2) -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(
                f'HandCrop: mode must be one of {self.MODES}, got {mode!r}')
        if not padding > 0:
            raise ValueError(f'HandCrop: padding must be > 0, got {padding!r}')
        self.mode = mode
        self.padding = padding

    def transform(self, results: dict) -> dict:
        if self.mode == 'image':
            center, size = _image_square(results, type(self).__name__)
        else:
            box = (self._keypoint_box(results) if self.mode == 'keypoints'
                   else self._annotated_box(results))
            center = ((box[:2] + box[2:]) / 2).astype(np.float32)
            longer_side = max(float((box[2:] - box[:2]).max()), 1.0)
            size = self.padding * longer_side
        results['bbox_center'] = center
        results['bbox_size'] = size
        return results

    def _keypoint_box(self, results):
        for key in ('keypoints', 'keypoints_visible'):
            if key not in results:
                raise KeyError(f"HandCrop(mode='keypoints'): results have no "
                               f"'{key}' (sample {results.get('img_path')})")
        labelled = np.asarray(results['keypoints_visible']) > 0
        if not labelled.any():
            return self._annotated_box(results)
        points = np.asarray(results['keypoints'], dtype=np.float32)[
            labelled, :2]
        return np.concatenate([points.min(axis=0), points.max(axis=0)])

    def _annotated_box(self, results):
        sample = results.get('img_path')
        if 'bbox' not in results:
            reason = (' and no labelled keypoint'
                      if self.mode == 'keypoints' else '')
            raise KeyError(f"HandCrop(mode={self.mode!r}): results have no "
                           f"'bbox'{reason} (sample {sample})")
        box = np.asarray(results['bbox'], dtype=np.float32).reshape(-1)
        if (box.shape != (4, ) or not np.isfinite(box).all()
                or (box[2:] < box[:2]).any()):
            raise ValueError(f"HandCrop: 'bbox' must be finite (x1, y1, x2, "
                             f'y2) with x2 >= x1 and y2 >= y1, got '
                             f'{results["bbox"]!r} (sample {sample})')
        return box

    def __repr__(self):
        return (f'{type(self).__name__}(mode={self.mode!r}, '
                f'padding={self.padding})')


@TRANSFORMS.register_module()
class RandomAffine(BaseTransform):
    """Random rotation, scale and shift of the crop square (train only).

    With probability ``prob``: rotation uniform in ``[-rotate_range,
    rotate_range]`` degrees (sign convention of :func:`~handkit.geometry.get_warp_matrix`),
    ``bbox_size`` multiplied by a factor uniform in ``scale_range``, and
    ``bbox_center`` shifted per axis by a value uniform in ``[-shift_ratio,
    shift_ratio] x bbox_size``. Without a preceding HandCrop the image square
    is perturbed.

    Args:
        rotate_range: maximum absolute rotation in degrees.
        scale_range: (low, high) of the size factor.
        shift_ratio: maximum centre shift as a fraction of ``bbox_size``.
        prob: probability of applying rotation, scale and shift.
        flip: when True, mirror the crop horizontally with probability 0.5
            (drawn independently of ``prob``). A mirrored right hand looks
            like a left hand, hence off by default.

    Sets ``bbox_center``, ``bbox_size``, ``bbox_rotation`` (degrees: the
    random one added to any rotation set before, e.g. by
    ``MediaPipeHandROI``; unchanged when not applied), ``bbox_flip`` and ``flipped`` (both True when mirrored),
    all consumed by :class:`TopdownAffine`. Random numbers come from
    ``np.random``.
    """

    def __init__(self, rotate_range: float = 40.0,
                 scale_range: Tuple[float, float] = (0.8, 1.2),
                 shift_ratio: float = 0.1, prob: float = 1.0,
                 flip: bool = False) -> None:
        super().__init__()
        if not rotate_range >= 0:
            raise ValueError(f'RandomAffine: rotate_range must be >= 0, got '
                             f'{rotate_range!r}')
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f'RandomAffine: scale_range must be (low, high) '
                             f'with 0 < low <= high, got {scale_range!r}')
        if not shift_ratio >= 0:
            raise ValueError(f'RandomAffine: shift_ratio must be >= 0, got '
                             f'{shift_ratio!r}')
        if not 0 <= prob <= 1:
            raise ValueError(
                f'RandomAffine: prob must be in [0, 1], got {prob!r}')
        self.rotate_range = rotate_range
        self.scale_range = tuple(scale_range)
        self.shift_ratio = shift_ratio
        self.prob = prob
        self.flip = flip

    def transform(self, results: dict) -> dict:
        center, size = _crop_square(results, type(self).__name__)
        # added to a rotation set before (MediaPipeHandROI's upright crop)
        rotation = float(results.get('bbox_rotation', 0.0))
        if np.random.rand() < self.prob:
            rotation += float(
                np.random.uniform(-self.rotate_range, self.rotate_range))
            scale = float(np.random.uniform(*self.scale_range))
            shift = np.random.uniform(
                -self.shift_ratio, self.shift_ratio, size=2) * size
            center = (center + shift).astype(np.float32)
            size = size * scale
        flipped = bool(self.flip and np.random.rand() < 0.5)
        results['bbox_center'] = center
        results['bbox_size'] = size
        results['bbox_rotation'] = rotation
        results['bbox_flip'] = flipped
        results['flipped'] = flipped
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(rotate_range={self.rotate_range}, '
                f'scale_range={self.scale_range}, '
                f'shift_ratio={self.shift_ratio}, prob={self.prob}, '
                f'flip={self.flip})')


def mirrors_hand(results: dict, mirror_side: Optional[str]) -> bool:
    """Whether a crop step with ``mirror_side`` mirrors this sample: its
    ``hand_side`` is that side."""
    return mirror_side is not None and \
        results.get('hand_side') == mirror_side


#: the hand model's axis-angle labels a mirrored hand's model takes mirrored
MIRRORED_AXIS_ANGLES = ('global_orient', 'hand_pose')


def mirror_hand_labels(results: dict,
                       keys: Sequence[str] = ('keypoints_3d', 'vertices')
                       ) -> None:
    """The labels of a hand mirrored into the other side's model, in place:
    camera x negated in the 3D ``keys`` present, the hand model's
    axis-angles present (``global_orient`` (3,), ``hand_pose`` (45,): each
    ``(a, b, c)`` -> ``(a, -b, -c)``, the rotation conjugated by the mirror,
    so they pose the other side's model, as the synthetic mesh hands' left
    model is posed), ``hand_side`` the other side and ``hand_mirrored``
    True, which ``CascadeEstimator`` reads to mirror the 3D prediction
    back. The crop step flips the image itself (``TopdownAffine`` and
    ``DepthCubeCrop`` with ``mirror_side``)."""
    for key in keys:
        if results.get(key) is not None:
            points = np.array(results[key], dtype=np.float64, copy=True)
            points[..., 0] = -points[..., 0]
            results[key] = points
    for key in MIRRORED_AXIS_ANGLES:
        if results.get(key) is not None:
            rotations = np.array(results[key], dtype=np.float32,
                                 copy=True).reshape(-1, 3)
            rotations[:, 1:] = -rotations[:, 1:]
            results[key] = rotations.reshape(np.shape(results[key]))
    results['hand_side'] = ('right' if results['hand_side'] == 'left'
                            else 'left')
    results['hand_mirrored'] = True


@TRANSFORMS.register_module()
class TopdownAffine(BaseTransform):
    """Warp the crop square to the network input (NSRM Section 4.2: 368x368).

    Builds ``warp_mat`` with :func:`~handkit.geometry.get_warp_matrix` from ``bbox_center``,
    ``bbox_size``, ``bbox_rotation`` (default 0) and ``bbox_flip`` (default
    False); without ``bbox_center`` the whole image is used as HandCrop's
    'image' mode does. The image is warped with bilinear interpolation and a
    black border.

    Args:
        input_size: (W, H) of the network input.
        mirror_side: None, or 'right' / 'left': samples whose ``hand_side``
            is that side are mirrored into the other side's model, as the
            official DetNet / IKNet are left-hand models that get right
            hands mirrored at the input (CalciferZh/minimal-hand
            ``README.md`` "The pre-trained model is for left hand, but the
            input would be flipped internally"; ``config.py:4``,
            ``wrappers.py:57``): the crop is mirrored (``bbox_flip``
            toggled, so a random flip still applies on top), the 3D labels
            (``keypoints_3d``, a mesh's ``vertices``) with it (camera x
            negated), ``hand_side`` becomes the other side
            and ``hand_mirrored`` is True; ``CascadeEstimator`` mirrors the
            sample's 3D prediction back (the 2D one comes back through the
            inverse ``warp_mat``).

    Sets ``img`` (H, W, C), ``img_shape`` (H, W), ``input_size``,
    ``warp_mat`` float32 (2, 3) and, when ``keypoints`` exist,
    ``transformed_keypoints`` float32 (K, 2) in input pixels. ``keypoints``
    stays in original pixels. A ``hand_mask`` (H, W) bool and a ``depth``
    (H, W) float32 mm of the same view (e.g. ``SyntheticHandDataset(
    with_depth=True)``) are warped with the image (nearest neighbour; 0
    outside).
    """

    def __init__(self, input_size: Tuple[int, int] = (368, 368),
                 mirror_side: Optional[str] = None) -> None:
        super().__init__()
        if (len(input_size) != 2
                or not all(int(side) == side > 0 for side in input_size)):
            raise ValueError(f'TopdownAffine: input_size must be two positive '
                             f'integers (W, H), got {input_size!r}')
        if mirror_side not in (None, 'left', 'right'):
            raise ValueError(f"TopdownAffine: mirror_side must be None, "
                             f"'left' or 'right', got {mirror_side!r}")
        self.input_size = tuple(int(side) for side in input_size)
        self.mirror_side = mirror_side

    def _mirror_hand(self, results: dict) -> None:
        """Mirror a ``mirror_side`` hand into the other side (see Args)."""
        if mirrors_hand(results, self.mirror_side):
            results['bbox_flip'] = not results.get('bbox_flip', False)
            mirror_hand_labels(results)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError("TopdownAffine: results have no 'img'; run "
                           'LoadImage first')
        center, size = _crop_square(results, type(self).__name__)
        self._mirror_hand(results)
        warp_mat = get_warp_matrix(
            center, size, results.get('bbox_rotation', 0.0), self.input_size,
            flip=results.get('bbox_flip', False))
        results['img'] = cv2.warpAffine(
            results['img'], warp_mat, self.input_size,
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
            borderValue=0)
        results['img_shape'] = results['img'].shape[:2]
        warp_hand_mask(results, warp_mat, self.input_size)
        warp_depth(results, warp_mat, self.input_size)
        if 'keypoints' in results:
            keypoints = np.asarray(results['keypoints'])[:, :2]
            results['transformed_keypoints'] = apply_affine(
                keypoints, warp_mat)
        results['input_size'] = self.input_size
        results['warp_mat'] = warp_mat
        return results

    def __repr__(self):
        mirror = ('' if self.mirror_side is None
                  else f', mirror_side={self.mirror_side!r}')
        return f'{type(self).__name__}(input_size={self.input_size}{mirror})'
