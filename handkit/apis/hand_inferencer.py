"""Hands in real photos, end to end: MediaPipe Hands as handkit models.

    from handkit.apis import HandInferencer
    hands = HandInferencer()('photo.jpg')   # [] when there is no hand
    for hand in hands:
        hand['bbox'], hand['keypoints'], hand['handedness']

Two handkit models run in turn, each through its own config's test pipeline
(``cfg.test_dataloader.dataset.pipeline``, as ``inference_steps`` builds
it: the image loaded once, the crop step the whole image for the detector
and left out for the landmark model's given ROIs), its data preprocessor
and its ``predict_tensors``, as MediaPipe Hands' graphs chain them
(Apache-2.0; ``mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt``
and ``mediapipe/modules/hand_landmark/hand_landmark_cpu.pbtxt``):

1. the palm detector on the image letterboxed to 192 x 192
   (``configs/mediapipe/palm_detection_{full,lite}.py``), decoded by
   :class:`~handkit.codecs.mediapipe_palm.MediaPipePalmAnchors` (anchors,
   score threshold, weighted NMS) and mapped back through the inverse of
   the letterbox's ``warp_mat`` (MediaPipe's DetectionLetterboxRemoval);
2. each palm becomes a rotated square ROI (:func:`palm_to_roi`,
   ``palm_detection_detection_to_roi.pbtxt``);
3. the landmark model on every ROI of the frame in one batch
   (``configs/mediapipe/hand_landmark_{full,lite}.py``: the ROI warped to
   224 x 224 by ``TopdownAffine`` from ``bbox_center``, ``bbox_size`` and
   ``bbox_rotation``), decoded by
   :class:`~handkit.codecs.mediapipe_landmarks.MediaPipeLandmarks` and
   mapped back through the inverse ``warp_mat`` (MediaPipe's
   LandmarkProjection); hands whose presence is below ``min_presence``
   (0.5, hand_landmark_cpu.pbtxt's ThresholdingCalculator) are dropped.

Two steps go beyond MediaPipe's single-image graph, both with MediaPipe's
own rules, because handkit is asked for accurate hands in still photos:

* ``refine`` (default 2): the landmark pass is repeated on the ROI that
  MediaPipe's video tracking would take from the previous landmarks
  (:func:`landmarks_to_roi`, ``hand_landmark_landmarks_to_roi.pbtxt``:
  wrist -> mean of the index / middle / ring bases and middle PIP, the
  palm and lower-finger landmarks' rotated box, x 2.0, shift -0.1): the
  palm ROI of a small hand is coarse, the landmark ROI is not;
* ``tiles`` (default 'auto'): an image much wider than tall (or taller
  than wide: ratio >= 1.7, e.g. a 1280 x 720 frame) is also cut into
  square tiles of its short side, overlapping, which go through the palm
  detector in the same batch as the letterboxed image; their palms join
  the image's in one weighted NMS. Letterboxing a 16:9 frame leaves a
  small hand a few detector pixels wide; a tile gives it 1.8 x more.

Handedness: MediaPipe names the side as seen in a mirrored (selfie) image;
for an ordinary photo (``mirrored=False``, the default) handkit reports the
true side, which is the other label.

``pose=(config, checkpoint)`` runs any handkit top-down model on each hand
instead of the landmark model's keypoints: on the axis-aligned square of the
hand's final ROI (the crop ``inference`` takes from the ``bbox`` returned by
:func:`roi_to_bbox`), all hands of a frame in one batch, with the
handedness as ``hand_side`` (read by the models that take it, PosePrior and
the one-side models' ``TopdownAffine(mirror_side=...)``); its
keypoints and scores replace MediaPipe's, its ``keypoints_3d`` (when it
predicts them) MediaPipe's world landmarks, and a mesh model's
``vertices`` come with them.
"""
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from handkit.apis.inference import (BACKENDS, BBOX_PADDING, HAND_SIDES,
                                    _load, inference_steps, init_model,
                                    prepare_inputs)
from handkit.apis.mediapipe_files import (config_file, converted_checkpoint,
                                          converted_tflite)
from handkit.codecs.mediapipe_landmarks import MediaPipeLandmarks
from handkit.codecs.mediapipe_palm import (MediaPipePalmAnchors, box_iou,
                                           weighted_nms)
from handkit.datasets.base import config_input_size
from handkit.datasets.transforms.mediapipe_roi import (landmarks_to_roi,
                                                       palm_to_roi)
from handkit.datasets.collate import hand_collate
from handkit.deploy.backend_model import torch_threads
from handkit.deploy.onnxruntime_model import run_in_pieces
from handkit.geometry import apply_affine, invert_affine
from handkit.models.estimators.cascade import head_predictions
from handkit.models.precision import check_precision, set_precision

VARIANTS = ('full', 'lite')
TILE_ASPECT = 1.7  # tiles='auto': long / short side from which to tile (16:9)
SAME_HAND_IOU = 0.5  # AssociationNormRectCalculator's min_similarity

ModelSpec = Union[None, nn.Module, Tuple[str, Optional[str]]]


def _usable(rois: Tuple[np.ndarray, ...]) -> Tuple[np.ndarray, ...]:
    """The ROIs (center, size, rotation) of finite values and a side of at
    least 1 pixel (an untrained or confused model can give none)."""
    center, size, rotation = (np.asarray(value, np.float64) for value in rois)
    good = (np.isfinite(center).all(1) & np.isfinite(size)
            & np.isfinite(rotation) & (size >= 1))
    return center[good], size[good], rotation[good]


def roi_to_bbox(center: np.ndarray, size: float) -> np.ndarray:
    """The ``bbox`` for which :func:`~handkit.apis.inference.inference`
    crops the axis-aligned square of side ``size`` around ``center``."""
    half = float(size) / BBOX_PADDING / 2
    center = np.asarray(center, np.float64)
    return np.concatenate([center - half, center + half]).astype(np.float32)


def _tiles(height: int, width: int) -> List[Tuple[int, int, int]]:
    """(x0, y0, side) of square tiles of the short side, ends included,
    ceil(long / short) + 1 of them, evenly spaced."""
    short, long = min(height, width), max(height, width)
    count = int(np.ceil(long / short)) + 1
    starts = np.round(np.linspace(0, long - short, count)).astype(int)
    if width >= height:
        return [(int(start), 0, short) for start in starts]
    return [(0, int(start), short) for start in starts]


def _pick(tensors: dict, name: str) -> np.ndarray:
    """The one ``'<head>.<name>'`` of a model's predict_tensors, as numpy."""
    keys = [key for key in tensors if key.split('.')[-1] == name]
    if len(keys) != 1:
        raise ValueError(f"HandInferencer: the model's outputs "
                         f"{sorted(tensors)} hold {len(keys)} tensors named "
                         f"'{name}'; expected one")
    value = tensors[keys[0]]
    if hasattr(value, 'detach'):
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, np.float32)


class _PipelineModel:
    """A model with its config's test pipeline, run on loaded results.

    Args:
        model: from ``init_model``.
        crop: the crop step as :func:`~handkit.apis.inference.
            inference_steps` takes it: 'image' (the detector's whole
            image), or None (the landmark pass: the ROI is given).
    """

    def __init__(self, model: nn.Module, crop: Optional[str] = 'image'
                 ) -> None:
        self.model = model
        cfg = getattr(model, 'cfg', None)
        if cfg is None:
            raise ValueError('HandInferencer: the model has no cfg; build it '
                             'with handkit.apis.init_model')
        self.pipeline = inference_steps(cfg, crop)
        self.input_size = config_input_size(cfg)

    def decoder(self, kind):
        """The head's decoder of type ``kind``, else a default one at the
        pipeline's input size."""
        for head in getattr(self.model, 'heads', None) or ():
            decoder = getattr(head, 'decoder', None)
            if isinstance(decoder, kind):
                return decoder
        return kind(input_size=self.input_size)

    def __call__(self, samples: List[dict]) -> Tuple[dict, List[dict]]:
        """The network's tensors for ``samples`` (one batch) and each
        sample's meta (``warp_mat`` ...)."""
        results = [self.pipeline(sample) for sample in samples]
        with torch.no_grad(), torch_threads(getattr(
                self.model, 'preprocess_threads', None)):
            data = self.model.data_preprocessor(hand_collate(results), False)
        with torch.no_grad():
            if hasattr(self.model, 'predict_tensors'):
                tensors = self.model.predict_tensors(data['inputs'])
            else:  # a BackendModel: ONNX Runtime, LiteRT
                tensors = run_in_pieces(self.model, data['inputs'])
        return tensors, data['data_samples']['metas']


def _default_files(model: str, variant: str, backend: str
                   ) -> Tuple[str, str]:
    """Config and converted checkpoint of a MediaPipe model (its
    ``.tflite`` for LiteRT); the one-line FileNotFoundError of
    ``converted_checkpoint`` when not converted."""
    if backend == 'litert':
        return config_file(model, variant), converted_tflite(model, variant)
    return config_file(model, variant), converted_checkpoint(model, variant)


def _build(spec: ModelSpec, default: str, variant: str, device, backend,
           precision: str):
    if isinstance(spec, nn.Module):
        model = spec
    elif spec is None:
        # the defaults: PyTorch checkpoints, or the .tflite files for LiteRT
        default_backend = 'litert' if backend == 'litert' else 'pytorch'
        model = init_model(*_default_files(default, variant,
                                           default_backend),
                           device=device, backend=default_backend)
    else:
        if (backend == 'litert' and default is None
                and not str(spec[1]).endswith('.tflite')):
            backend = 'pytorch'  # LiteRT runs MediaPipe's models only
        model = init_model(*spec, device=device, backend=backend)
    if precision != 'fp32':
        set_precision(model, precision)
    return model


class HandInferencer:
    """MediaPipe Hands' palm detector and landmark model as handkit models.

    Args:
        detector: the palm detector: None (the converted MediaPipe model of
            ``variant``: ``configs/mediapipe/palm_detection_<variant>.py``
            and ``converted_checkpoint('palm_detection', variant)``), a
            ``(config, checkpoint)`` pair, or a model of ``init_model``.
        landmarks: the landmark model, likewise
            (``hand_landmark_<variant>``).
        pose: None, or ``(config, checkpoint)`` (or a model of
            ``init_model``) of a handkit top-down model whose keypoints
            replace the landmark model's (see the module's docstring).
        variant: 'full' or 'lite', for the default models.
        device: 'cpu', 'cuda', ...
        backend: 'pytorch', 'onnxruntime' or 'litert' for models given as
            ``(config, file)``. The default detector and landmark model
            are PyTorch checkpoints, and with 'litert' the converter's
            ``.tflite`` files, run by LiteRT's XNNPACK as in MediaPipe
            (``converted_tflite``). With 'litert' a ``pose`` model whose
            file is not a ``.tflite`` runs in PyTorch (LiteRT runs
            MediaPipe's architectures only).
        max_hands: at most this many hands, by decreasing palm score
            (MediaPipe's num_hands, ClipDetectionVectorSize).
        min_detection_score: the palm score threshold (0.5).
        min_presence: the landmark model's hand presence threshold (0.5).
        mirrored: the images are mirrored (selfie) images: report
            MediaPipe's label as is; False (ordinary photos): the true side.
        refine: landmark passes after the first, each on the ROI of the
            previous landmarks (0: MediaPipe's single-image graph).
        tiles: 'auto' (tile images of aspect ratio >= 1.7), True or False.
        precision: 'fp32', or 'bf16': the PyTorch models under bfloat16
            autocast with channels-last where the device computes bfloat16
            natively, float32 elsewhere (``handkit.models.precision``; one
            line says what runs).

    Raises:
        FileNotFoundError: a default model is not converted (one line naming
            ``python tools/convert_mediapipe.py``), or a file is missing.
    """

    def __init__(self, detector: ModelSpec = None, landmarks: ModelSpec = None,
                 pose: ModelSpec = None, variant: str = 'full',
                 device: Union[str, torch.device] = 'cpu',
                 backend: str = 'pytorch', max_hands: int = 2,
                 min_detection_score: float = 0.5, min_presence: float = 0.5,
                 mirrored: bool = False, refine: int = 2,
                 tiles: Union[str, bool] = 'auto',
                 precision: str = 'fp32') -> None:
        if variant not in VARIANTS:
            raise ValueError(f'HandInferencer: variant must be one of '
                             f'{VARIANTS}, got {variant!r}')
        if backend not in BACKENDS:
            raise ValueError(f'HandInferencer: backend must be one of '
                             f'{BACKENDS}, got {backend!r}')
        if isinstance(max_hands, bool) or not isinstance(
                max_hands, int) or max_hands < 1:
            raise ValueError(f'HandInferencer: max_hands must be an integer '
                             f'>= 1, got {max_hands!r}')
        if isinstance(refine, bool) or not isinstance(refine,
                                                      int) or refine < 0:
            raise ValueError(f'HandInferencer: refine must be an integer '
                             f'>= 0, got {refine!r}')
        check_precision(precision)
        if precision != 'fp32' and backend != 'pytorch':
            raise ValueError(f'HandInferencer: precision={precision!r} is '
                             f"for the PyTorch backend; backend={backend!r} "
                             f"runs its file's own precision")
        if tiles not in ('auto', True, False):
            raise ValueError(f"HandInferencer: tiles must be 'auto', True or "
                             f'False, got {tiles!r}')
        for name, value in (('min_detection_score', min_detection_score),
                            ('min_presence', min_presence)):
            if not 0 <= value <= 1:
                raise ValueError(f'HandInferencer: {name} must be in [0, 1], '
                                 f'got {value!r}')
        self.max_hands = max_hands
        self.min_presence = float(min_presence)
        self.mirrored = bool(mirrored)
        self.refine = refine
        self.tiles = tiles
        self.detector = _PipelineModel(_build(detector, 'palm_detection',
                                              variant, device, backend,
                                              precision))
        self.landmarks = _PipelineModel(
            _build(landmarks, 'hand_landmark', variant, device, backend,
                   precision), crop=None)
        palm_codec = self.detector.decoder(MediaPipePalmAnchors)
        # the detector's own settings, with this call's score threshold
        self.palm_codec = MediaPipePalmAnchors(**dict(
            palm_codec.settings(), score_threshold=min_detection_score))
        self.landmark_codec = self.landmarks.decoder(MediaPipeLandmarks)
        self.pose = None if pose is None else _build(
            pose, None, variant, device, backend, precision)

    # ------------------------------------------------------------ stages
    def detect_palms(self, image: np.ndarray) -> dict:
        """The palms of a BGR image: ``palm_boxes`` (N, 4), ``palm_keypoints``
        (N, 7, 2) image pixels and ``palm_scores`` (N,), by decreasing
        score, at most ``max_hands``; the letterboxed image and its tiles
        in one detector batch."""
        height, width = image.shape[:2]
        crops = [(0, 0, None)]
        if self.tiles is True or (self.tiles == 'auto' and max(
                height, width) >= TILE_ASPECT * min(height, width)):
            crops += _tiles(height, width)
        samples = []
        for x0, y0, side in crops:
            crop = image if side is None else np.ascontiguousarray(
                image[y0:y0 + side, x0:x0 + side])
            samples.append(dict(img=crop, img_shape=crop.shape[:2],
                                ori_shape=crop.shape[:2]))
        tensors, metas = self.detector(samples)
        palms = self.palm_codec.decode(_pick(tensors, 'boxes'),
                                       _pick(tensors, 'scores'))
        boxes, keypoints, scores = [], [], []
        for index, ((x0, y0, _), meta) in enumerate(zip(crops, metas)):
            to_image = invert_affine(meta['warp_mat'])
            corners = palms['palm_boxes'][index].reshape(-1, 2, 2)
            boxes.append(apply_affine(corners, to_image).reshape(-1, 4)
                         + [x0, y0, x0, y0])
            keypoints.append(apply_affine(palms['palm_keypoints'][index],
                                          to_image) + [x0, y0])
            scores.append(palms['palm_scores'][index])
        boxes, keypoints, scores = (np.concatenate(boxes),
                                    np.concatenate(keypoints),
                                    np.concatenate(scores))
        if len(crops) > 1:  # one palm seen in several crops: merge
            boxes, keypoints, scores = weighted_nms(
                boxes, keypoints, scores, self.palm_codec.nms_threshold)
        keep = slice(0, self.max_hands)
        return dict(palm_boxes=boxes[keep], palm_keypoints=keypoints[keep],
                    palm_scores=scores[keep])

    def estimate_landmarks(self, image: np.ndarray, center: np.ndarray,
                           size: np.ndarray, rotation: np.ndarray) -> dict:
        """The landmark model on every ROI of ``image`` in one batch.

        Returns:
            dict of (N, ...) arrays: ``keypoints`` (N, 21, 2) image pixels,
            ``scores``, ``presence``, ``handedness`` (probability of the
            model's label 'right'), ``keypoints_z`` (image pixels),
            ``world_keypoints`` (N, 21, 3) metres turned into the image's
            frame (WorldLandmarkProjection).
        """
        samples = [dict(img=image, img_shape=image.shape[:2],
                        ori_shape=image.shape[:2],
                        bbox_center=np.asarray(c, np.float32),
                        bbox_size=float(s), bbox_rotation=float(r))
                   for c, s, r in zip(center, size, rotation)]
        tensors, metas = self.landmarks(samples)
        decoded = self.landmark_codec.decode(
            *(_pick(tensors, name) for name in (
                'landmarks', 'presence', 'handedness', 'world_landmarks')))
        to_image = invert_affine(np.stack([meta['warp_mat']
                                           for meta in metas]))
        decoded['keypoints'] = apply_affine(decoded['keypoints'], to_image)
        input_side = float(self.landmarks.input_size[0])
        decoded['keypoints_z'] = (decoded['keypoints_z']
                                  * (np.asarray(size) / input_side)[:, None])
        theta = np.deg2rad(np.asarray(rotation, np.float64))[:, None]
        world = decoded['world_keypoints'].astype(np.float64)
        decoded['world_keypoints'] = np.stack(
            [np.cos(theta) * world[..., 0] - np.sin(theta) * world[..., 1],
             np.sin(theta) * world[..., 0] + np.cos(theta) * world[..., 1],
             world[..., 2]], -1).astype(np.float32)
        return decoded

    # ------------------------------------------------------------- call
    def __call__(self, image: Union[str, np.ndarray]) -> List[dict]:
        """The hands of one image (a path or a BGR uint8 array).

        Returns:
            list, by decreasing palm score, of dicts: ``bbox`` float32 (4,)
            x1y1x2y2 image pixels, the box of the 21 keypoints;
            ``keypoints`` float32 (21, 2) image pixels and ``scores``
            float32 (21,), handkit order (the landmark model's presence as
            every keypoint's score, or the pose model's scores);
            ``handedness`` 'left' / 'right' and ``handedness_score``
            (float, its probability); ``keypoints_3d`` float32 (21, 3) mm
            (MediaPipe's world landmarks: metric, origin at the hand's
            centre, axes of the image) or the pose model's, or None;
            with a pose model that predicts a mesh (Boukhayma et al., Ge et
            al.) also ``vertices`` float32 (V, 3) mm, root-relative (drawn
            by :func:`handkit.visualization.draw3d.draw_mesh`).
            ``[]`` when no hand is found.
        """
        image = _load(image)['img']
        palms = self.detect_palms(image)
        if not len(palms['palm_scores']):
            return []
        rois = _usable(palm_to_roi(palms['palm_boxes'],
                                   palms['palm_keypoints']))
        hands, passes = None, 0
        while len(rois[0]) and passes <= self.refine:
            if passes:  # MediaPipe's tracking ROI of the last landmarks
                tracked = _usable(landmarks_to_roi(hands['keypoints']))
                if not len(tracked[0]):
                    break  # keep the last pass's hands and ROIs
                rois = tracked
            hands = self.estimate_landmarks(image, *rois)
            kept = np.flatnonzero(hands['presence'] >= self.min_presence)
            hands = {key: value[kept] for key, value in hands.items()}
            rois = tuple(value[kept] for value in rois)
            passes += 1
        if hands is None or not len(hands['presence']):
            return []
        kept = self._distinct(hands['keypoints'], hands['presence'])
        hands = {key: value[kept] for key, value in hands.items()}
        rois = tuple(value[kept] for value in rois)
        results = []
        for index in range(len(hands['presence'])):
            model_right = float(hands['handedness'][index])
            says_right = model_right >= 0.5
            side = says_right if self.mirrored else not says_right
            results.append(dict(
                keypoints=hands['keypoints'][index].astype(np.float32),
                scores=hands['scores'][index].astype(np.float32),
                handedness=HAND_SIDES[int(side)],
                handedness_score=max(model_right, 1.0 - model_right),
                keypoints_3d=(hands['world_keypoints'][index]
                              * 1000).astype(np.float32)))
        if self.pose is not None and results:
            self._run_pose(image, results, rois)
        for hand in results:
            points = hand['keypoints']
            hand['bbox'] = np.concatenate(
                [points.min(0), points.max(0)]).astype(np.float32)
        return [{key: hand[key] for key in (
            'bbox', 'keypoints', 'scores', 'handedness', 'handedness_score',
            'keypoints_3d', 'vertices') if key in hand} for hand in results]

    @staticmethod
    def _distinct(keypoints: np.ndarray, presence: np.ndarray) -> np.ndarray:
        """Indices of the hands to keep when two ROIs converged on one hand
        (keypoint boxes of IoU > 0.5): the one of higher presence."""
        boxes = np.concatenate([keypoints.min(1), keypoints.max(1)], 1)
        overlap = box_iou(boxes, boxes)
        kept = []
        for index in np.argsort(-presence, kind='stable'):
            if all(overlap[index, other] <= SAME_HAND_IOU for other in kept):
                kept.append(index)
        return np.sort(np.asarray(kept, np.int64))

    def _run_pose(self, image: np.ndarray, hands: List[dict],
                  rois: Tuple[np.ndarray, ...]) -> None:
        """The pose model on every hand's axis-aligned ROI square, in one
        batch; its keypoints, scores (and 3D joints) replace MediaPipe's."""
        model = self.pose
        # the side goes to every model: the PosePrior takes it, a one-side
        # model's test pipeline mirrors the other side in, the rest ignore it
        batches = [prepare_inputs(model, image, roi_to_bbox(center, size),
                                  hand['handedness'])
                   for hand, center, size in zip(hands, rois[0], rois[1])]
        data = dict(inputs=torch.cat([batch['inputs'] for batch in batches]),
                    data_samples=dict(targets={}, metas=[
                        batch['data_samples']['metas'][0]
                        for batch in batches]))
        with torch.no_grad():
            predictions = model(**data, mode='predict')
        for hand, prediction in zip(hands, predictions):
            predicted = head_predictions(prediction)
            hand['keypoints'] = np.asarray(predicted['keypoints'], np.float32)
            hand['scores'] = np.asarray(predicted['scores'], np.float32)
            hand['keypoints_3d'] = (
                np.asarray(predicted['keypoints_3d'], np.float32)
                if 'keypoints_3d' in predicted else None)
            if 'vertices' in predicted:  # a mesh model's
                hand['vertices'] = np.asarray(predicted['vertices'],
                                              np.float32)
