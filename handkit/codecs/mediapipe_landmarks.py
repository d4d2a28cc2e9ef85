"""MediaPipe Hands' landmark model: raw outputs <-> keypoints and targets.

The hand landmark model (``hand_landmark_{full,lite}.tflite``, Apache-2.0)
takes the 224 x 224 RGB crop of a hand ROI and ends in four tensors, as
``mediapipe/modules/hand_landmark/hand_landmark_cpu.pbtxt`` splits them:
``landmarks`` (B, 63) = 21 x (x, y, z) in crop pixels, ``presence`` (B, 1)
the hand flag score (thresholded at 0.5 there), ``handedness`` (B, 1) and
``world_landmarks`` (B, 63) = 21 x (x, y, z) metres, origin at the hand's
centre, in the ROI's frame. This codec is the numpy rest of that graph:

* ``TensorsToLandmarksCalculator`` (input_image_width/height 224,
  ``normalize_z`` 0.4): x, y are divided by 224; z by 224 and by 0.4
  ("scale Z coordinate as X + allow additional uniform normalization").
  Here x, y stay in input (crop) pixels and z is returned in the same
  pixels as x: ``z / normalize_z``.
* ``TensorsToClassificationCalculator`` with ``binary_classification`` and
  the label map ``handedness.txt`` = ("Left", "Right"): the raw value is
  the score of label 0, "Left"; "Right" scores ``1 - raw``. MediaPipe's
  labels assume a mirrored (selfie) image; for a photo that is not
  mirrored the true side is the other one
  (``hand_landmark_tracking_cpu.pbtxt``: "handedness is determined assuming
  the input image is mirrored").

The 21 landmarks are in MediaPipe's order: wrist, thumb CMC, MCP, IP, tip,
then index, middle, ring and pinky, each MCP, PIP, DIP, tip. That is
handkit's order (``handkit.skeleton``: wrist, then thumb, index, middle,
ring and little finger from base to tip), so no reordering is needed
(:data:`MEDIAPIPE_TO_HANDKIT` is the identity).

Coordinates: MediaPipe puts crop pixel ``i`` between ``i`` and ``i + 1``;
handkit puts its centre at ``i`` (docs/architecture.md), so a raw x, y is
``raw - 0.5`` input pixels here.
"""
from typing import Optional, Sequence

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_keypoints, check_positive, check_size
from handkit.registry import CODECS
from handkit.skeleton import NUM_KEYPOINTS

# handkit keypoint i is MediaPipe landmark MEDIAPIPE_TO_HANDKIT[i]
MEDIAPIPE_TO_HANDKIT = np.arange(NUM_KEYPOINTS)
HAND_SIDES = ('left', 'right')


@CODECS.register_module()
class MediaPipeLandmarks(BaseCodec):
    """Raw landmark-model outputs <-> 21 keypoints in input pixels.

    Args:
        input_size: (width, height) of the crop (224, 224).
        normalize_z: ``TensorsToLandmarksCalculator``'s ``normalize_z`` (0.4).
        use_hand_side: training: also read the sample's ``hand_side``
            ('left' / 'right', or None) and encode the handedness target;
            without it (or with None) the handedness weight is 0.
        mirrored: training, with ``use_hand_side``: whether the training
            images are mirrored (selfie) images. The model's label 'right'
            names the true side in a mirrored image and the other side in an
            ordinary photo, so ``hand_side`` 'left' of an ordinary photo is
            the model's 'right'.
    """

    SETTINGS = ('input_size', 'normalize_z')

    def __init__(self, input_size: Sequence[int] = (224, 224),
                 normalize_z: float = 0.4, use_hand_side: bool = False,
                 mirrored: bool = False) -> None:
        self.input_size = check_size(input_size, 'input_size')
        self.normalize_z = check_positive(normalize_z, 'normalize_z')
        self.use_hand_side = bool(use_hand_side)
        self.mirrored = bool(mirrored)
        self.encode_inputs = ('transformed_keypoints', 'keypoints_visible') + (
            ('hand_side', ) if self.use_hand_side else ())

    def decode(self, landmarks, presence, handedness,
               world_landmarks) -> dict:
        """The model's raw outputs -> keypoints in input pixels.

        Args:
            landmarks: (B, 63) or (63,) crop-pixel x, y, z per landmark.
            presence: (B, 1) hand presence score (a probability).
            handedness: (B, 1) the model's raw score of its label 'Left'.
            world_landmarks: (B, 63) metres.

        Returns:
            dict, float32, handkit order: ``keypoints`` (B, 21, 2) input
            pixels; ``scores`` (B, 21) the presence score of every keypoint;
            ``keypoints_z`` (B, 21) relative depth in the pixels of x
            (MediaPipe's z times 224: smaller is nearer the camera, origin
            about the wrist); ``presence`` (B,); ``handedness`` (B,) the
            probability of the model's label 'right' (``1 - raw``; the true
            side of a *mirrored* image); ``world_keypoints`` (B, 21, 3)
            metres in the crop's frame (x right, y down as the crop shows).
        """
        arrays = [_numpy(value) for value in (landmarks, presence,
                                               handedness, world_landmarks)]
        single = arrays[0].ndim == 1
        arrays = [value.reshape(1, -1) if value.ndim <= 1 else value
                  for value in arrays]
        landmarks, presence, handedness, world = arrays
        batch = len(landmarks)
        for name, value, width in (('landmarks', landmarks, 63),
                                   ('presence', presence, 1),
                                   ('handedness', handedness, 1),
                                   ('world_landmarks', world, 63)):
            if value.shape != (batch, width):
                raise ValueError(f'MediaPipeLandmarks.decode: {name} must be '
                                 f'({batch}, {width}), got {value.shape}')
        points = landmarks.reshape(batch, NUM_KEYPOINTS, 3)[
            :, MEDIAPIPE_TO_HANDKIT]
        world = world.reshape(batch, NUM_KEYPOINTS, 3)[:, MEDIAPIPE_TO_HANDKIT]
        presence = presence[:, 0]
        result = dict(
            keypoints=(points[..., :2] - 0.5).astype(np.float32),
            scores=np.repeat(presence[:, None], NUM_KEYPOINTS,
                             1).astype(np.float32),
            keypoints_z=(points[..., 2] / self.normalize_z).astype(
                np.float32),
            presence=presence.astype(np.float32),
            handedness=(1.0 - handedness[:, 0]).astype(np.float32),
            world_keypoints=world.astype(np.float32))
        if single:
            result = {key: value[0] for key, value in result.items()}
        return result

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               hand_side: Optional[str] = None) -> dict:
        """One hand's keypoints (input pixels) -> the model's raw targets.

        Args:
            keypoints: (21, 2) x, y input pixels, or (21, 3) with z in the
                same pixels (relative depth, as :meth:`decode` returns it).
            keypoints_visible: (21,) or None (all labelled).
            hand_side: 'left' / 'right' (the side in the sample's image as
                its dataset states it), or None (unknown).

        Returns:
            dict, float32: ``landmark_coords`` (21, 3) in the raw units of
            ``landmarks`` (x, y + 0.5; z ``* normalize_z``, 0 without
            depth); ``landmark_weights`` (21,) 1 labelled, 0 not;
            ``landmark_z_weights`` (21,) the same with depth, 0 without;
            ``hand_presence`` (1,) = 1 (every sample is a hand);
            ``handedness`` (1,) the raw target: 1 when the hand is the
            model's 'Left' (see ``mirrored``), else 0;
            ``handedness_weight`` (1,) 1 when ``hand_side`` is known.
        """
        keypoints = np.asarray(keypoints, np.float32)
        if keypoints.ndim != 2 or keypoints.shape not in (
                (NUM_KEYPOINTS, 2), (NUM_KEYPOINTS, 3)):
            raise ValueError(f'MediaPipeLandmarks.encode: keypoints must be '
                             f'({NUM_KEYPOINTS}, 2) or ({NUM_KEYPOINTS}, 3), '
                             f'got {keypoints.shape}')
        has_z = keypoints.shape[1] == 3
        xy, weights = check_keypoints(keypoints[:, :2], keypoints_visible,
                                      NUM_KEYPOINTS)
        coords = np.zeros((NUM_KEYPOINTS, 3), np.float32)
        coords[:, :2] = (xy + 0.5) * weights[:, None]
        if has_z:
            coords[:, 2] = keypoints[:, 2] * self.normalize_z * weights
        if hand_side is not None and hand_side not in HAND_SIDES:
            raise ValueError(f'MediaPipeLandmarks.encode: hand_side must be '
                             f'one of {HAND_SIDES} or None, got '
                             f'{hand_side!r}')
        # the model's raw value scores its label 'Left'; that label is the
        # true side of a mirrored image, the other side of a plain photo
        model_left = (hand_side == 'left') == self.mirrored
        known = hand_side is not None
        return dict(
            landmark_coords=coords, landmark_weights=weights,
            landmark_z_weights=weights * np.float32(has_z),
            hand_presence=np.ones(1, np.float32),
            handedness=np.array([float(model_left and known)], np.float32),
            handedness_weight=np.array([float(known)], np.float32))


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):  # torch, without importing torch
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, np.float32)
