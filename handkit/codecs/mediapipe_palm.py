"""MediaPipe Hands' palm detector: SSD anchors, box decoding, weighted NMS.

The palm detector (``palm_detection_{full,lite}.tflite``, Apache-2.0) ends in
two tensors, exactly as its graph hands them to the calculators:
``boxes`` (B, 2016, 18) raw regressors and ``scores`` (B, 2016, 1) raw
logits. This codec is the numpy rest of MediaPipe's graph
(``mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt``), written
from the facts of its calculators' options and algorithms:

* ``SsdAnchorsCalculator`` (``mediapipe/calculators/tflite/
  ssd_anchors_calculator.cc``): num_layers 4, min_scale 0.1484375,
  max_scale 0.75, input 192 x 192, anchor offset 0.5, strides 8, 16, 16, 16,
  aspect ratio 1.0 (and the interpolated scale: 2 anchors per layer and
  cell), fixed_anchor_size. Consecutive layers of equal stride are merged
  into one grid, so the anchors are the 24 x 24 cells of stride 8 with 2
  anchors each (1152), then the 12 x 12 cells of stride 16 with 6 anchors
  each (864): 2016, ordered layer, row, column, anchor. A fixed-size anchor
  is its centre only (width and height 1 in normalised units).
* ``TensorsToDetectionsCalculator``: num_coords 18 = box (4) + 7 keypoints
  x 2, ``reverse_output_order`` (x before y: x_center, y_center, w, h, then
  x, y per keypoint), x/y/w/h_scale 192 (= the input size, so a raw value
  is an offset in input pixels from the anchor centre, and w, h are input
  pixels; no exponential), scores clipped to [-100, 100] and passed through
  a sigmoid, ``min_score_thresh`` 0.5; a box of negative or NaN width or
  height is dropped.
* ``NonMaxSuppressionCalculator`` (``non_max_suppression_calculator.cc``):
  IoU, ``min_suppression_threshold`` 0.3, ``WEIGHTED``: the detections are
  taken by decreasing score; the top one and every remaining detection
  whose IoU with it exceeds the threshold form one group, whose box corners
  and keypoints are averaged weighted by score; the group keeps the top
  one's score and leaves the pool.

Coordinates (docs/architecture.md): input pixels with pixel centres at
integer coordinates. MediaPipe's normalised coordinates put pixel ``i``
between ``i`` and ``i + 1`` (centre ``i + 0.5``), so an anchor of cell
``(col, row)`` and stride ``s`` has its centre at ``((col + 0.5) s - 0.5,
(row + 0.5) s - 0.5)`` input pixels here, and every decoded point is
MediaPipe's point times 192, minus 0.5.

The 7 palm keypoints, as the model predicts them (checked on real photos
against handkit's 21 keypoints, :data:`PALM_KEYPOINT_INDICES`): wrist,
index MCP, middle MCP, ring MCP, little MCP, thumb CMC, thumb MCP.

Training (``encode``): MediaPipe released no training code; the anchor
matching here is handkit's own, documented in :meth:`encode_palms`.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import check_positive, check_size
from handkit.registry import CODECS
from handkit.skeleton import NUM_KEYPOINTS

# handkit keypoint of each of the palm detector's 7 keypoints: wrist, index
# MCP, middle MCP, ring MCP, little MCP, thumb CMC, thumb MCP.
PALM_KEYPOINT_INDICES = (0, 5, 9, 13, 17, 1, 2)
NUM_PALM_KEYPOINTS = len(PALM_KEYPOINT_INDICES)
NUM_COORDS = 4 + 2 * NUM_PALM_KEYPOINTS  # 18
# The palm box of a training sample: a square centred on the centre of the
# tightest box of the 7 palm keypoints, of side PALM_BOX_SCALE x the
# wrist -> middle-MCP distance (a rotation-invariant size). 1.15: the ratio
# of the full model's palm boxes to its own landmarks' wrist -> middle-MCP
# distance on the clear hands of tests/data (1.02-1.22, centres within
# 0.1 of that distance of the palm keypoints' box centre).
PALM_BOX_SCALE = 1.15


def ssd_anchor_grid(input_size: Sequence[int], num_layers: int,
                    min_scale: float, max_scale: float,
                    strides: Sequence[int], anchor_offset: float
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """SsdAnchorsCalculator's anchors with fixed_anchor_size and aspect
    ratio 1.0 (plus the interpolated scale), vectorised.

    Returns:
        ``(centres, scales)``: float64 (N, 2) anchor centres (x, y) in
        input pixels (pixel centres at integers) and float64 (N,) each
        anchor's nominal scale (a fraction of the input side: the size the
        decoder ignores under fixed_anchor_size, used for matching).
    """
    width, height = input_size
    num_strides = len(strides)

    def scale_of(index):
        if num_strides == 1:
            return (min_scale + max_scale) / 2
        return min_scale + (max_scale - min_scale) * index / (num_strides - 1)

    centres, scales = [], []
    layer = 0
    while layer < num_layers:
        layer_scales = []
        last = layer
        while last < num_strides and strides[last] == strides[layer]:
            scale = scale_of(last)
            scale_next = 1.0 if last == num_strides - 1 else scale_of(last + 1)
            layer_scales += [scale, np.sqrt(scale * scale_next)]
            last += 1
        stride = strides[layer]
        rows = int(np.ceil(height / stride))
        cols = int(np.ceil(width / stride))
        # normalised centre (i + offset) / n, to input pixels (centre at
        # integer): * size - 0.5
        ys = (np.arange(rows) + anchor_offset) / rows * height - 0.5
        xs = (np.arange(cols) + anchor_offset) / cols * width - 0.5
        grid_y, grid_x = np.meshgrid(ys, xs, indexing='ij')  # row-major
        per_cell = len(layer_scales)
        cell = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
        centres.append(np.repeat(cell, per_cell, axis=0))
        scales.append(np.tile(np.asarray(layer_scales), rows * cols))
        layer = last
    return np.concatenate(centres), np.concatenate(scales)


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) of x1y1x2y2 boxes (N, 4) and (M, 4); 0 where a
    union is empty (OverlapSimilarity of MediaPipe's NMS)."""
    boxes_a = np.asarray(boxes_a, np.float64)[:, None]
    boxes_b = np.asarray(boxes_b, np.float64)[None]
    low = np.maximum(boxes_a[..., :2], boxes_b[..., :2])
    high = np.minimum(boxes_a[..., 2:], boxes_b[..., 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=-1)
    area_a = np.prod(np.clip(boxes_a[..., 2:] - boxes_a[..., :2], 0, None),
                     axis=-1)
    area_b = np.prod(np.clip(boxes_b[..., 2:] - boxes_b[..., :2], 0, None),
                     axis=-1)
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray,
                 scores: np.ndarray, iou_threshold: float
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Repeatedly: the highest-scoring remaining detection and every remaining
    one whose IoU with it is above ``iou_threshold`` (itself included) are
    merged into one detection, box corners and keypoints averaged weighted
    by score, the top one's score kept; they leave the pool. One iteration
    per output detection, each vectorised over the pool.

    Args:
        boxes: (N, 4) x1y1x2y2; keypoints: (N, K, 2); scores: (N,).

    Returns:
        ``(boxes, keypoints, scores)`` of the merged detections, by
        decreasing score: float32 (M, 4), (M, K, 2), (M,).
    """
    boxes = np.asarray(boxes, np.float64)
    keypoints = np.asarray(keypoints, np.float64)
    scores = np.asarray(scores, np.float64)
    order = np.argsort(-scores, kind='stable')
    out_boxes, out_keypoints, out_scores = [], [], []
    while order.size:
        top = order[0]
        overlap = box_iou(boxes[top:top + 1], boxes[order])[0]
        group = order[overlap > iou_threshold]
        if group.size == 0:  # a degenerate top box overlaps nothing
            group = order[:1]
        weights = scores[group]
        total = weights.sum()
        out_boxes.append((boxes[group] * weights[:, None]).sum(0) / total)
        out_keypoints.append(
            (keypoints[group] * weights[:, None, None]).sum(0) / total)
        out_scores.append(scores[top])
        order = order[~np.isin(order, group)]
    num_keypoints = keypoints.shape[1] if keypoints.ndim == 3 else 0
    if not out_scores:
        return (np.zeros((0, 4), np.float32),
                np.zeros((0, num_keypoints, 2), np.float32),
                np.zeros((0, ), np.float32))
    return (np.asarray(out_boxes, np.float32),
            np.asarray(out_keypoints, np.float32),
            np.asarray(out_scores, np.float32))


def palm_from_hand(keypoints: np.ndarray,
                   box_scale: float = PALM_BOX_SCALE
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """The palm detector's target of one hand from its 21 keypoints.

    Args:
        keypoints: (21, 2) handkit order, any pixels.
        box_scale: side of the square palm box / the wrist -> middle-MCP
            distance.

    Returns:
        ``(box, palm_keypoints)``: float32 (4,) x1y1x2y2, a square centred
        on the centre of the tightest box of the 7 palm keypoints; float32
        (7, 2) the palm keypoints (:data:`PALM_KEYPOINT_INDICES`).
    """
    keypoints = np.asarray(keypoints, np.float64)
    palm = keypoints[list(PALM_KEYPOINT_INDICES)]
    centre = (palm.min(0) + palm.max(0)) / 2
    half = box_scale * np.linalg.norm(keypoints[9] - keypoints[0]) / 2
    box = np.concatenate([centre - half, centre + half])
    return box.astype(np.float32), palm.astype(np.float32)


@CODECS.register_module()
class MediaPipePalmAnchors(BaseCodec):
    """The palm detector's anchors: raw tensors <-> palm boxes and keypoints.

    Args:
        input_size: (width, height) of the detector input (192, 192).
        num_layers, min_scale, max_scale, strides, anchor_offset: the
            ``SsdAnchorsCalculator`` options of palm_detection_cpu.pbtxt.
        score_threshold: ``min_score_thresh`` (0.5) on the sigmoid score.
        nms_threshold: the weighted NMS's ``min_suppression_threshold``
            (0.3, IoU).
        score_clipping: ``score_clipping_thresh`` (100) on the raw logits.
        pos_iou: training only: the IoU from which an anchor whose centre
            lies in a palm box is a positive (see :meth:`encode_palms`).
        box_scale: training only: the palm box side / wrist -> middle MCP
            (:func:`palm_from_hand`).

    ``anchors`` float64 (2016, 2): the anchor centres in input pixels;
    ``anchor_scales`` (2016,): their nominal scales.
    """

    SETTINGS = ('input_size', 'num_layers', 'min_scale', 'max_scale',
                'strides', 'anchor_offset', 'score_threshold',
                'nms_threshold', 'score_clipping')

    def __init__(self, input_size: Sequence[int] = (192, 192),
                 num_layers: int = 4, min_scale: float = 0.1484375,
                 max_scale: float = 0.75,
                 strides: Sequence[int] = (8, 16, 16, 16),
                 anchor_offset: float = 0.5, score_threshold: float = 0.5,
                 nms_threshold: float = 0.3, score_clipping: float = 100.0,
                 pos_iou: float = 0.5,
                 box_scale: float = PALM_BOX_SCALE) -> None:
        self.input_size = check_size(input_size, 'input_size')
        strides = tuple(int(stride) for stride in strides)
        if (isinstance(num_layers, bool) or int(num_layers) != num_layers
                or not 0 < num_layers <= len(strides)
                or not all(stride > 0 for stride in strides)):
            raise ValueError(f'MediaPipePalmAnchors: num_layers must be in '
                             f'[1, len(strides)] and strides positive, got '
                             f'num_layers={num_layers!r}, strides={strides!r}')
        self.num_layers = int(num_layers)
        self.strides = strides
        self.min_scale = check_positive(min_scale, 'min_scale')
        self.max_scale = check_positive(max_scale, 'max_scale')
        self.anchor_offset = float(anchor_offset)
        if not 0 <= score_threshold <= 1:
            raise ValueError(f'MediaPipePalmAnchors: score_threshold must be '
                             f'in [0, 1], got {score_threshold!r}')
        if not 0 <= nms_threshold <= 1 or not 0 < pos_iou <= 1:
            raise ValueError(f'MediaPipePalmAnchors: nms_threshold must be '
                             f'in [0, 1] and pos_iou in (0, 1], got '
                             f'{nms_threshold!r}, {pos_iou!r}')
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.score_clipping = check_positive(score_clipping, 'score_clipping')
        self.pos_iou = float(pos_iou)
        self.box_scale = check_positive(box_scale, 'box_scale')
        self.anchors, self.anchor_scales = ssd_anchor_grid(
            self.input_size, self.num_layers, self.min_scale, self.max_scale,
            self.strides, self.anchor_offset)
        # nominal anchor boxes (square, side scale x the input's longer
        # side), for matching only
        half = self.anchor_scales[:, None] * max(self.input_size) / 2
        self.anchor_boxes = np.concatenate([self.anchors - half,
                                            self.anchors + half], axis=1)

    @property
    def num_anchors(self) -> int:
        return len(self.anchors)

    # ----------------------------------------------------------- decode
    def decode_raw(self, raw_boxes: np.ndarray) -> Tuple[np.ndarray,
                                                         np.ndarray]:
        """Raw regressors (..., N, 18) -> boxes (..., N, 4) x1y1x2y2 and
        keypoints (..., N, 7, 2) in input pixels, every anchor (no score
        filter)."""
        raw = np.asarray(raw_boxes, np.float64)
        centre = raw[..., 0:2] + self.anchors
        half = raw[..., 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=-1)
        keypoints = raw[..., 4:].reshape(*raw.shape[:-1], NUM_PALM_KEYPOINTS,
                                         2) + self.anchors[:, None]
        return boxes, keypoints

    def scores(self, raw_scores: np.ndarray) -> np.ndarray:
        """Raw logits (..., N, 1) -> sigmoid scores (..., N), clipped as
        ``score_clipping_thresh`` does."""
        logits = np.clip(np.asarray(raw_scores, np.float64)[..., 0],
                         -self.score_clipping, self.score_clipping)
        return 1.0 / (1.0 + np.exp(-logits))

    def decode(self, raw_boxes, raw_scores) -> Dict[str, List[np.ndarray]]:
        """The detector's raw tensors -> the palms of each image.

        Args:
            raw_boxes: (B, 2016, 18) or (2016, 18), numpy or torch.
            raw_scores: (B, 2016, 1) or (2016, 1) raw logits.

        Returns:
            dict of lists, one entry per image: ``palm_boxes`` float32
            (N_i, 4) x1y1x2y2, ``palm_keypoints`` float32 (N_i, 7, 2), both
            in input pixels, ``palm_scores`` float32 (N_i,), by decreasing
            score (after the score threshold and the weighted NMS).
        """
        raw_boxes, raw_scores = (_numpy(raw_boxes), _numpy(raw_scores))
        if raw_boxes.ndim == 2:
            raw_boxes, raw_scores = raw_boxes[None], raw_scores[None]
        expected = (self.num_anchors, NUM_COORDS)
        if raw_boxes.ndim != 3 or raw_boxes.shape[1:] != expected:
            raise ValueError(f'MediaPipePalmAnchors.decode: raw_boxes must be '
                             f'(B, {expected[0]}, {expected[1]}), got '
                             f'{raw_boxes.shape}')
        if raw_scores.shape != raw_boxes.shape[:2] + (1, ):
            raise ValueError(f'MediaPipePalmAnchors.decode: raw_scores must '
                             f'be {raw_boxes.shape[:2] + (1, )}, got '
                             f'{raw_scores.shape}')
        boxes, keypoints = self.decode_raw(raw_boxes)
        scores = self.scores(raw_scores)
        sizes = boxes[..., 2:] - boxes[..., :2]
        keep = ((scores >= self.score_threshold) & (sizes >= 0).all(-1)
                & np.isfinite(boxes).all(-1)
                & np.isfinite(keypoints).all((-1, -2)))
        result = dict(palm_boxes=[], palm_keypoints=[], palm_scores=[])
        for index in range(len(boxes)):
            kept = keep[index]
            merged = weighted_nms(boxes[index][kept], keypoints[index][kept],
                                  scores[index][kept], self.nms_threshold)
            for key, value in zip(result, merged):
                result[key].append(value)
        return result

    # ----------------------------------------------------------- encode
    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """One sample's hands (input pixels) -> anchor targets.

        Args:
            keypoints: (21, 2) one hand, or (M, 21, 2) every hand of the
                image, handkit order, input pixels
                (``transformed_keypoints``).
            keypoints_visible: (21,) / (M, 21), or None (all labelled).
                A hand lacking any of the 7 palm keypoints or the middle
                finger's MCP cannot give a palm target: the anchors it
                would match are left out of both losses (weight 0).

        Returns:
            :meth:`encode_palms` of the hands' :func:`palm_from_hand`.
        """
        keypoints = np.asarray(keypoints, np.float64)
        if keypoints.ndim == 2:
            keypoints = keypoints[None]
        if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_KEYPOINTS, 2):
            raise ValueError(f'MediaPipePalmAnchors.encode: keypoints must be '
                             f'({NUM_KEYPOINTS}, 2) or (M, {NUM_KEYPOINTS}, '
                             f'2) input pixels, got {keypoints.shape}')
        if keypoints_visible is None:
            visible = np.ones(keypoints.shape[:2], bool)
        else:
            visible = np.asarray(keypoints_visible, np.float64).reshape(
                keypoints.shape[:2]) > 0
        needed = list(PALM_KEYPOINT_INDICES)
        complete = visible[:, needed].all(1) & np.isfinite(keypoints).all(
            (1, 2))
        boxes = np.zeros((len(keypoints), 4), np.float64)
        palms = np.zeros((len(keypoints), NUM_PALM_KEYPOINTS, 2), np.float64)
        for hand in np.flatnonzero(complete):
            boxes[hand], palms[hand] = palm_from_hand(keypoints[hand],
                                                      self.box_scale)
        for hand in np.flatnonzero(~complete):  # where it would match
            points = keypoints[hand][visible[hand]]
            if len(points):
                boxes[hand] = np.concatenate([points.min(0), points.max(0)])
        return self.encode_palms(boxes, palms, complete)

    def encode_palms(self, palm_boxes: np.ndarray,
                     palm_keypoints: np.ndarray,
                     valid: Optional[np.ndarray] = None) -> dict:
        """Palm boxes and keypoints (input pixels) -> anchor targets.

        Matching (handkit's choice; MediaPipe released no training code):
        each anchor has a nominal square box of side ``scale x 192`` (its
        SsdAnchorsCalculator scale, which the decoder ignores under
        fixed_anchor_size). An anchor is a positive of a palm when its
        centre lies inside the palm box and its nominal box has IoU >=
        ``pos_iou`` with it; besides, the anchor of highest IoU among those
        whose centre lies inside (among all anchors when none does) is a
        positive, so that every palm has one. An anchor positive for several
        palms takes the one of highest IoU. Every other anchor is a
        negative. Anchors matched to an invalid palm (``valid`` False) get
        label weight 0 and regression weight 0.

        Args:
            palm_boxes: (M, 4) x1y1x2y2; palm_keypoints: (M, 7, 2);
            valid: (M,) bool or None (all valid).

        Returns:
            dict: ``palm_labels`` float32 (2016,) 1 positive / 0 negative;
            ``palm_label_weights`` float32 (2016,); ``palm_regression``
            float32 (2016, 18), for a positive the raw values the network
            must output (x_center, y_center offsets from the anchor, w, h,
            then each keypoint's x, y offsets from the anchor; input
            pixels), zeros elsewhere; ``palm_regression_weights`` float32
            (2016,), 1 on the valid positives.
        """
        boxes = np.asarray(palm_boxes, np.float64).reshape(-1, 4)
        palms = np.asarray(palm_keypoints, np.float64).reshape(
            len(boxes), NUM_PALM_KEYPOINTS, 2)
        valid = (np.ones(len(boxes), bool) if valid is None else
                 np.asarray(valid, bool).reshape(len(boxes)))
        num = self.num_anchors
        labels = np.zeros(num, np.float32)
        label_weights = np.ones(num, np.float32)
        regression = np.zeros((num, NUM_COORDS), np.float32)
        regression_weights = np.zeros(num, np.float32)
        if len(boxes) == 0:
            return dict(palm_labels=labels, palm_label_weights=label_weights,
                        palm_regression=regression,
                        palm_regression_weights=regression_weights)
        iou = box_iou(self.anchor_boxes, boxes)  # (N, M)
        inside = ((self.anchors[:, None] >= boxes[None, :, :2])
                  & (self.anchors[:, None] <= boxes[None, :, 2:])).all(-1)
        positive = inside & (iou >= self.pos_iou)
        best_pool = np.where(inside.any(0)[None], np.where(inside, iou, -1),
                             iou)
        best = best_pool.argmax(0)  # (M,)
        positive[best, np.arange(len(boxes))] = True
        match_iou = np.where(positive, iou, -np.inf)
        matched = positive.any(1)
        hand = match_iou.argmax(1)  # (N,)
        anchors = np.flatnonzero(matched)
        owner = hand[anchors]
        good = valid[owner]
        label_weights[anchors[~good]] = 0
        anchors, owner = anchors[good], owner[good]
        labels[anchors] = 1
        regression_weights[anchors] = 1
        centre = (boxes[owner, :2] + boxes[owner, 2:]) / 2
        size = boxes[owner, 2:] - boxes[owner, :2]
        offsets = palms[owner] - self.anchors[anchors][:, None]
        regression[anchors] = np.concatenate(
            [centre - self.anchors[anchors], size,
             offsets.reshape(len(anchors), 2 * NUM_PALM_KEYPOINTS)], axis=1)
        return dict(palm_labels=labels, palm_label_weights=label_weights,
                    palm_regression=regression,
                    palm_regression_weights=regression_weights)


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):  # torch, without importing torch
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, np.float32)
