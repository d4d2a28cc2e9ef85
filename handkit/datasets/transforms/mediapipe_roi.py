"""MediaPipe Hands' region of interest: the rotated square a hand is
cropped to, from a palm detection or from 21 landmarks, and a transform
that crops a training sample as MediaPipe's tracking would.

MediaPipe (Apache-2.0) turns a palm into the landmark model's ROI in
``mediapipe/modules/palm_detection/palm_detection_detection_to_roi.pbtxt``
and a hand's landmarks into the next frame's ROI in
``mediapipe/modules/hand_landmark/hand_landmark_landmarks_to_roi.pbtxt``:
a rect turned so that the wrist -> middle finger direction points up,
shifted, squared on its long side and scaled. The functions return
``(center (N, 2), size (N,), rotation (N,) degrees)``: the
``bbox_center``, ``bbox_size`` and ``bbox_rotation`` that
:class:`~handkit.datasets.transforms.TopdownAffine` warps (handkit's
positive rotation turns the content counter-clockwise, i.e. the square
clockwise over the image, as MediaPipe's rect rotation does).
:class:`MediaPipeHandROI` sets them from a sample's labelled keypoints, so
that the landmark model is fine-tuned on the crops it is given at
inference (``configs/mediapipe/hand_landmark_full_finetune_*.py``).
"""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from handkit.registry import TRANSFORMS

# palm_detection_detection_to_roi.pbtxt: DetectionsToRects (rotation from
# keypoint 0, the wrist centre, to keypoint 2, the middle finger's MCP,
# target 90 degrees), then RectTransformation.
PALM_ROI = dict(start=0, end=2, target_angle=90.0, scale=2.6, shift_x=0.0,
                shift_y=-0.5)
# hand_landmark_landmarks_to_roi.pbtxt: the landmarks of the palm and the
# lower fingers (0-3, 5-6, 9-10, 13-14, 17-18), HandLandmarksToRect, then
# RectTransformation.
LANDMARK_ROI = dict(subset=(0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18),
                    scale=2.0, shift_x=0.0, shift_y=-0.1)


def _normalize_radians(angle):
    return angle - 2 * np.pi * np.floor((angle + np.pi) / (2 * np.pi))


def _rotation(start: np.ndarray, end: np.ndarray,
              target_angle: float = 90.0) -> np.ndarray:
    """MediaPipe's ROI rotation (radians, clockwise as displayed) that turns
    ``start -> end`` (image pixels, (N, 2)) to point up in the crop."""
    delta = np.asarray(end, np.float64) - np.asarray(start, np.float64)
    return _normalize_radians(np.deg2rad(target_angle)
                              - np.arctan2(-delta[:, 1], delta[:, 0]))


def _transform_rect(center, width, height, rotation, scale, shift_x,
                    shift_y):
    """RectTransformationCalculator in pixels: shift in the rect's frame,
    square on the long side, scale. Returns (center (N, 2), side (N,))."""
    cos, sin = np.cos(rotation), np.sin(rotation)
    shift = np.stack([width * shift_x * cos - height * shift_y * sin,
                      width * shift_x * sin + height * shift_y * cos], 1)
    return center + shift, np.maximum(width, height) * scale


def palm_to_roi(palm_boxes: np.ndarray, palm_keypoints: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Palms -> the square hand ROIs (palm_detection_detection_to_roi.pbtxt).

    The palm box's centre and size, turned so that wrist -> middle MCP
    points up, shifted by half its height toward the fingers, squared on its
    long side and scaled by 2.6.

    Args:
        palm_boxes: (N, 4) x1y1x2y2 image pixels; palm_keypoints: (N, 7, 2).

    Returns:
        ``(center (N, 2), size (N,), rotation (N,) degrees)``: the
        ``bbox_center``, ``bbox_size``, ``bbox_rotation`` of
        ``TopdownAffine`` (handkit's positive rotation turns the content
        counter-clockwise, i.e. the square clockwise over the image, as
        MediaPipe's rect rotation does).
    """
    boxes = np.asarray(palm_boxes, np.float64).reshape(-1, 4)
    keypoints = np.asarray(palm_keypoints, np.float64).reshape(
        len(boxes), 7, 2)
    rotation = _rotation(keypoints[:, PALM_ROI['start']],
                         keypoints[:, PALM_ROI['end']],
                         PALM_ROI['target_angle'])
    center, size = _transform_rect(
        (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2] - boxes[:, 0],
        boxes[:, 3] - boxes[:, 1], rotation, PALM_ROI['scale'],
        PALM_ROI['shift_x'], PALM_ROI['shift_y'])
    return center, size, np.rad2deg(rotation)


def landmarks_to_roi(keypoints: np.ndarray
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """21 landmarks -> the square ROI of MediaPipe's tracking
    (hand_landmark_landmarks_to_roi.pbtxt, HandLandmarksToRectCalculator).

    Of the palm and lower-finger landmarks: the rotation from the wrist to
    the mean of (index MCP + ring MCP) / 2 and the middle MCP; their box in
    that rotated frame; shifted by -0.1 of its height, squared on the long
    side, x 2.0.

    Args:
        keypoints: (N, 21, 2) image pixels, handkit (= MediaPipe) order.

    Returns:
        ``(center (N, 2), size (N,), rotation (N,) degrees)`` as
        :func:`palm_to_roi`.
    """
    points = np.asarray(keypoints, np.float64).reshape(-1, 21, 2)[
        :, list(LANDMARK_ROI['subset'])]
    # HandLandmarksToRect's joints 4, 6, 8 of the subset: index, middle and
    # ring MCP (landmarks 5, 9, 13)
    target = ((points[:, 4] + points[:, 8]) / 2 + points[:, 6]) / 2
    rotation = _rotation(points[:, 0], target)
    centre = (points.min(1) + points.max(1)) / 2
    cos, sin = np.cos(-rotation)[:, None], np.sin(-rotation)[:, None]
    offset = points - centre[:, None]
    projected = np.stack([offset[..., 0] * cos - offset[..., 1] * sin,
                          offset[..., 0] * sin + offset[..., 1] * cos], -1)
    low, high = projected.min(1), projected.max(1)
    mid = (low + high) / 2
    cos, sin = np.cos(rotation), np.sin(rotation)
    centre = centre + np.stack([mid[:, 0] * cos - mid[:, 1] * sin,
                                mid[:, 0] * sin + mid[:, 1] * cos], 1)
    size = high - low
    center, side = _transform_rect(
        centre, size[:, 0], size[:, 1], rotation, LANDMARK_ROI['scale'],
        LANDMARK_ROI['shift_x'], LANDMARK_ROI['shift_y'])
    return center, side, np.rad2deg(rotation)




@TRANSFORMS.register_module()
class MediaPipeHandROI(BaseTransform):
    """Crop a hand as MediaPipe's tracking does: :func:`landmarks_to_roi`
    of the sample's ``keypoints`` (original pixels; an unlabelled keypoint
    takes the mean of the labelled ones, and a sample with fewer than 2
    labelled ones keeps the box of its ``bbox``, upright).

    Sets ``bbox_center``, ``bbox_size`` and ``bbox_rotation`` (degrees), read
    by ``TopdownAffine``; a following ``RandomAffine`` adds its random
    rotation to this one. A sample without ``keypoints`` (inference on a
    given ROI) keeps the ROI it was given.
    """

    def transform(self, results: dict) -> dict:
        if results.get('keypoints') is None and \
                results.get('bbox_center') is not None:
            return results
        points = np.asarray(results['keypoints'], np.float64).reshape(21, 2)
        visible = np.asarray(results.get('keypoints_visible',
                                         np.ones(21)), np.float64) > 0
        if visible.sum() >= 2:
            filled = np.where(visible[:, None], points,
                              points[visible].mean(0))
            center, size, rotation = landmarks_to_roi(filled[None])
            center, size, rotation = center[0], size[0], rotation[0]
        else:
            box = np.asarray(results['bbox'], np.float64)
            center = (box[:2] + box[2:]) / 2
            size = 2.0 * float(max(box[2] - box[0], box[3] - box[1], 1.0))
            rotation = 0.0
        results['bbox_center'] = np.asarray(center, np.float32)
        results['bbox_size'] = float(size)
        results['bbox_rotation'] = float(rotation)
        return results
