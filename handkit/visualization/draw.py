"""Drawing hand poses and predicted maps on BGR images (numpy + OpenCV).

The one drawing module of handkit: the demo, the visualizer, the
visualisation hook and the docs all draw through it. Images are BGR uint8
(H, W, 3); every function returns a new image and leaves its input untouched.
Colours and the limb list come from :mod:`handkit.skeleton` (one colour per
finger, as the NSRM paper's Figure 7 draws hands).

Coordinates follow docs/architecture.md: pixel centres sit at integer
coordinates, and a map of stride ``s`` has map coordinate = input pixel / s.
Points are drawn with 4 bits of sub-pixel precision.
"""
import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from handkit.skeleton import (LIMBS, NUM_KEYPOINTS, keypoint_color,
                              limb_color)

_SHIFT = 4  # sub-pixel bits passed to OpenCV's drawing functions
_ONE = 1 << _SHIFT
_FONT = cv2.FONT_HERSHEY_SIMPLEX
GT_COLOR = (255, 255, 255)  # ground truth is drawn in white, under predictions


def _check_image(image, name='image'):
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'{name} must be a BGR uint8 (H, W, 3) array, got '
                         f'{image.dtype} {image.shape}')
    return image


def _check_keypoints(keypoints):
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] < 2:
        raise ValueError(f'keypoints must be (K, 2), got {keypoints.shape}')
    return keypoints[:, :2]


def _per_keypoint(values, count, name):
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.shape != (count, ):
        raise ValueError(f'{name} must be ({count},), got {values.shape}')
    return values


def default_thickness(image_shape: Sequence[int]) -> int:
    """Limb thickness in pixels: grows with the image's longer side."""
    return max(2, round(max(image_shape[:2]) / 200))


def default_radius(image_shape: Sequence[int]) -> int:
    """Keypoint radius in pixels: grows with the image's longer side."""
    return max(2, round(max(image_shape[:2]) / 120))


def _fixed(point):
    """A point in OpenCV's fixed-point format (``shift=_SHIFT``)."""
    return (int(round(point[0] * _ONE)), int(round(point[1] * _ONE)))


def shown_keypoints(keypoints: np.ndarray,
                    visible: Optional[np.ndarray] = None,
                    scores: Optional[np.ndarray] = None,
                    score_threshold: float = 0.0) -> np.ndarray:
    """(K,) bool: keypoints to draw.

    A keypoint is drawn when its coordinates are finite, it is visible
    (``visible > 0``, when given) and its score is >= ``score_threshold``
    (when scores are given).
    """
    keypoints = _check_keypoints(keypoints)
    count = len(keypoints)
    shown = np.isfinite(keypoints).all(axis=1)
    if visible is not None:
        shown &= _per_keypoint(visible, count, 'visible') > 0
    if scores is not None:
        shown &= _per_keypoint(scores, count, 'scores') >= score_threshold
    return shown


def draw_skeleton(image: np.ndarray, keypoints: np.ndarray,
                  visible: Optional[np.ndarray] = None,
                  scores: Optional[np.ndarray] = None,
                  score_threshold: float = 0.0,
                  thickness: Optional[int] = None,
                  radius: Optional[int] = None,
                  color: Optional[Tuple[int, int, int]] = None
                  ) -> np.ndarray:
    """Draw one hand: 20 limbs in their finger's colour, then 21 keypoints.

    Args:
        image: BGR uint8 (H, W, 3).
        keypoints: (21, 2) x, y in pixels of ``image``.
        visible: optional (21,); keypoints with ``visible <= 0`` are skipped.
        scores: optional (21,); keypoints scoring below ``score_threshold``
            are skipped.
        score_threshold: see ``scores``.
        thickness: limb thickness in pixels (default: scales with the image,
            :func:`default_thickness`).
        radius: keypoint radius in pixels (default :func:`default_radius`).
        color: one BGR colour for every limb and keypoint (e.g. white for the
            ground truth drawn under a prediction); default per finger
            (``handkit.skeleton.limb_color`` / ``keypoint_color``).

    A limb is drawn only when both its keypoints are. Returns a new image.
    """
    canvas = _check_image(image).copy()
    keypoints = _check_keypoints(keypoints)
    if len(keypoints) != NUM_KEYPOINTS:
        raise ValueError(f'keypoints must be ({NUM_KEYPOINTS}, 2), got '
                         f'{keypoints.shape}')
    shown = shown_keypoints(keypoints, visible, scores, score_threshold)
    thickness = thickness or default_thickness(canvas.shape)
    radius = radius or default_radius(canvas.shape)
    drawn_limbs = np.flatnonzero(shown[LIMBS].all(axis=1))
    # OpenCV draws one primitive per call: one call per limb and keypoint.
    for limb in drawn_limbs:
        parent, child = LIMBS[limb]
        cv2.line(canvas, _fixed(keypoints[parent]), _fixed(keypoints[child]),
                 color or limb_color(limb), thickness, cv2.LINE_AA, _SHIFT)
    for index in np.flatnonzero(shown):
        cv2.circle(canvas, _fixed(keypoints[index]), radius * _ONE,
                   color or keypoint_color(index), cv2.FILLED, cv2.LINE_AA,
                   _SHIFT)
    return canvas


def draw_scores(image: np.ndarray, keypoints: np.ndarray,
                scores: np.ndarray, visible: Optional[np.ndarray] = None,
                score_threshold: float = 0.0,
                font_scale: Optional[float] = None,
                color: Tuple[int, int, int] = (255, 255, 255)
                ) -> np.ndarray:
    """Write each keypoint's score (two decimals) just right of it.

    Keypoints skipped by :func:`shown_keypoints` get no label. The font
    scales with the image unless ``font_scale`` is given. Returns a new
    image.
    """
    canvas = _check_image(image).copy()
    keypoints = _check_keypoints(keypoints)
    scores = _per_keypoint(scores, len(keypoints), 'scores')
    shown = shown_keypoints(keypoints, visible, scores, score_threshold)
    font_scale = font_scale or max(0.35, max(canvas.shape[:2]) / 1200)
    offset = default_radius(canvas.shape) + 1
    for index in np.flatnonzero(shown):
        x, y = keypoints[index]
        origin = (int(round(x)) + offset, int(round(y)))
        text = f'{scores[index]:.2f}'
        # A dark outline keeps the label readable on bright backgrounds.
        cv2.putText(canvas, text, origin, _FONT, font_scale, (0, 0, 0), 3,
                    cv2.LINE_AA)
        cv2.putText(canvas, text, origin, _FONT, font_scale, color, 1,
                    cv2.LINE_AA)
    return canvas


def _check_maps(maps):
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3 or min(maps.shape) == 0:
        raise ValueError(f'maps must be (C, h, w), got {maps.shape}')
    return maps


def colorize(map_2d: np.ndarray,
             colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """(h, w) values in [0, 1] (clipped) -> BGR uint8 (h, w, 3)."""
    scaled = np.clip(np.nan_to_num(map_2d), 0.0, 1.0) * 255.0
    return cv2.applyColorMap(scaled.round().astype(np.uint8), colormap)


def image_to_map_matrix(map_size: Sequence[int],
                        image_shape: Sequence[int],
                        warp_mat: Optional[np.ndarray] = None,
                        input_size: Optional[Sequence[int]] = None
                        ) -> np.ndarray:
    """(2, 3) affine from image pixels to map pixels.

    Without ``warp_mat`` the map covers the whole image: map coordinate =
    image coordinate x map size / image size. With ``warp_mat`` (original ->
    input pixels, from ``TopdownAffine``) and ``input_size`` (W, H) the map
    covers the network input, whose stride is ``input_size / map_size``.

    Args:
        map_size: (w, h) of the map.
        image_shape: (H, W, ...) of the image.
    """
    map_w, map_h = map_size
    if warp_mat is None:
        height, width = image_shape[:2]
        return np.array([[map_w / width, 0, 0], [0, map_h / height, 0]])
    if input_size is None:
        raise ValueError('image_to_map_matrix: warp_mat given without '
                         'input_size')
    warp_mat = np.asarray(warp_mat, dtype=np.float64)
    if warp_mat.shape != (2, 3):
        raise ValueError(f'warp_mat must be (2, 3), got {warp_mat.shape}')
    input_w, input_h = input_size
    return np.diag([map_w / input_w, map_h / input_h]) @ warp_mat


def overlay_maps(image: np.ndarray, maps: np.ndarray, alpha: float = 0.5,
                 colormap: int = cv2.COLORMAP_JET,
                 warp_mat: Optional[np.ndarray] = None,
                 input_size: Optional[Sequence[int]] = None) -> np.ndarray:
    """Blend the channel-wise maximum of ``maps`` over ``image``.

    Args:
        image: BGR uint8 (H, W, 3).
        maps: (C, h, w) values in [0, 1] (e.g. the sigmoid structure maps of
            NSRM, Figure 8, or keypoint confidence maps).
        alpha: opacity of the colour-mapped maximum where it is 1; it is
            weighted by the map value, so a zero map leaves the image as it
            is and the background stays readable.
        colormap: OpenCV colour map.
        warp_mat, input_size: when the maps cover the network input of a
            crop (predictions of a top-down model), the crop's original ->
            input affine (2, 3) and the input (W, H): the maps are warped back
            onto the image. Otherwise the maps are stretched over the image.

    Returns a new image; pixels outside the crop keep their values.
    """
    canvas = _check_image(image)
    maps = _check_maps(maps)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha!r}')
    peak = np.clip(np.nan_to_num(maps.max(axis=0)), 0.0, 1.0)
    to_map = image_to_map_matrix((peak.shape[1], peak.shape[0]), canvas.shape,
                                 warp_mat, input_size)
    size = (canvas.shape[1], canvas.shape[0])
    # One inverse warp samples the map at every image pixel's map coordinate;
    # the map grid (map = input / stride) stops half a stride short of the
    # input's far edges, hence the replicated border ...
    peak = cv2.warpAffine(peak, to_map, size,
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    if warp_mat is not None:
        # ... and the crop's own extent decides which pixels get the overlay.
        input_w, input_h = input_size
        peak *= cv2.warpAffine(
            np.ones((input_h, input_w), np.float32),
            np.asarray(warp_mat, dtype=np.float64), size,
            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    colored = colorize(peak, colormap).astype(np.float32)
    weight = (alpha * peak)[..., None]
    blended = canvas.astype(np.float32) * (1.0 - weight) + colored * weight
    return np.clip(blended.round(), 0, 255).astype(np.uint8)


def image_grid(images: Sequence[np.ndarray], cols: int, pad: int = 4,
               pad_value: int = 0) -> np.ndarray:
    """Tile images row by row, ``cols`` per row, ``pad`` pixels between.

    Images smaller than the largest are padded at their bottom / right.
    Output: (rows * H + (rows - 1) * pad, cols * W + (cols - 1) * pad, 3)
    with H, W the largest height and width; rows = ceil(len / cols).
    """
    images = [_check_image(img, f'images[{i}]') for i, img in
              enumerate(images)]
    if not images:
        raise ValueError('image_grid: no images given')
    if cols < 1 or pad < 0:
        raise ValueError(f'image_grid: cols must be >= 1 and pad >= 0, got '
                         f'cols={cols}, pad={pad}')
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    cell_h = max(img.shape[0] for img in images)
    cell_w = max(img.shape[1] for img in images)
    grid = np.full((rows * cell_h + (rows - 1) * pad,
                    cols * cell_w + (cols - 1) * pad, 3), pad_value, np.uint8)
    for index, img in enumerate(images):
        top = (index // cols) * (cell_h + pad)
        left = (index % cols) * (cell_w + pad)
        grid[top:top + img.shape[0], left:left + img.shape[1]] = img
    return grid


def side_by_side(*images: np.ndarray, pad: int = 4,
                 pad_value: int = 0) -> np.ndarray:
    """Images left to right in one row, top-aligned, ``pad`` pixels apart.

    Each keeps its width; shorter ones are padded at the bottom to the
    tallest. Output: (max H, sum W + (n - 1) * pad, 3).
    """
    images = [_check_image(img, f'images[{i}]') for i, img in
              enumerate(images)]
    if not images:
        raise ValueError('side_by_side: no images given')
    if pad < 0:
        raise ValueError(f'side_by_side: pad must be >= 0, got {pad}')
    height = max(img.shape[0] for img in images)
    width = sum(img.shape[1] for img in images) + (len(images) - 1) * pad
    row = np.full((height, width, 3), pad_value, np.uint8)
    left = 0
    for img in images:
        row[:img.shape[0], left:left + img.shape[1]] = img
        left += img.shape[1] + pad
    return row


def caption_height(tile: int) -> int:
    """Height in pixels of the caption strip under a tile of side ``tile``."""
    return max(12, tile // 6)


def map_grid(maps: np.ndarray, names: Optional[Sequence[str]] = None,
             tile: int = 96, cols: Optional[int] = None, pad: int = 4,
             colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """One image with a colour-mapped tile per channel and its caption.

    For example the G1 and six G6 structure maps of NSRM (names from
    ``handkit.skeleton.GROUP_NAMES``) or the 21 keypoint confidence maps
    (``KEYPOINT_NAMES``).

    Args:
        maps: (C, h, w) values in [0, 1].
        names: C captions (default: the channel index).
        tile: side in pixels of each (square) tile; a caption strip of
            :func:`caption_height` pixels is added under it.
        cols: tiles per row (default ``min(C, 7)``).
        pad: pixels between tiles.

    Returns:
        BGR uint8 image of ``ceil(C / cols)`` rows of tiles, each tile
        ``(tile + caption_height(tile), tile)``, laid out by
        :func:`image_grid`.
    """
    maps = _check_maps(maps)
    count = len(maps)
    names = [str(index) for index in range(count)] if names is None else [
        str(name) for name in names]
    if len(names) != count:
        raise ValueError(f'map_grid: {len(names)} names for {count} maps')
    if tile < 8:
        raise ValueError(f'map_grid: tile must be >= 8 pixels, got {tile}')
    strip = caption_height(tile)
    font_scale = strip / 32
    tiles = []
    for single, name in zip(maps, names):
        cell = np.zeros((tile + strip, tile, 3), np.uint8)
        cell[:tile] = colorize(
            cv2.resize(single, (tile, tile), interpolation=cv2.INTER_LINEAR),
            colormap)
        cv2.putText(cell, name, (2, tile + strip - strip // 4), _FONT,
                    font_scale, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(cell)
    return image_grid(tiles, cols or min(count, 7), pad=pad)


def to_input_frame(prediction: dict) -> dict:
    """The keypoints of a prediction dict mapped into network-input pixels.

    Uses its ``warp_mat`` (original -> input). Returns a copy of
    ``prediction`` whose ``pred_keypoints`` / ``gt_keypoints`` are in input
    pixels and whose maps are marked as covering the whole (input) image.
    Used to draw on the network input when the original image is not on
    disk (e.g. synthetic samples).
    """
    if 'warp_mat' not in prediction:
        raise ValueError("to_input_frame: the prediction has no 'warp_mat'")
    warp_mat = np.asarray(prediction['warp_mat'], dtype=np.float64)
    frame = {key: value for key, value in prediction.items()
             if key not in ('warp_mat', 'input_size')}
    for key in ('pred_keypoints', 'gt_keypoints'):
        if key in prediction:
            points = _check_keypoints(prediction[key])
            frame[key] = points @ warp_mat[:, :2].T + warp_mat[:, 2]
    return frame


def draw_prediction(image: np.ndarray, prediction: dict,
                    draw_gt: bool = True, draw_maps: bool = True,
                    show_scores: bool = False, score_threshold: float = 0.0,
                    alpha: float = 0.5,
                    gt_color: Tuple[int, int, int] = GT_COLOR
                    ) -> np.ndarray:
    """Compose [image with ground truth + prediction | map overlay].

    Args:
        image: BGR uint8 (H, W, 3), the frame the keypoints are in.
        prediction: one prediction dict of the estimator
            (docs/architecture.md section 5): ``pred_keypoints`` (21, 2),
            optional ``pred_scores``, ``gt_keypoints``,
            ``gt_keypoints_visible``, ``structure_maps`` or ``heatmaps``
            (C, h, w), and ``warp_mat`` / ``input_size`` when the maps cover
            a crop of ``image`` (see :func:`overlay_maps`).
        draw_gt: draw the labelled ground-truth keypoints in ``gt_color``
            under the prediction.
        draw_maps: add the overlay panel when the prediction has maps
            (``structure_maps`` preferred, else ``heatmaps``).
        show_scores: write the predicted scores next to the keypoints.
        score_threshold: predicted keypoints scoring lower are not drawn.
        alpha: opacity of the map overlay.

    Returns:
        BGR uint8: the skeleton panel, or both panels side by side.
    """
    canvas = _check_image(image)
    if draw_gt and 'gt_keypoints' in prediction:
        canvas = draw_skeleton(canvas, prediction['gt_keypoints'],
                               visible=prediction.get('gt_keypoints_visible'),
                               color=gt_color)
    scores = prediction.get('pred_scores')
    if 'pred_keypoints' in prediction:
        canvas = draw_skeleton(canvas, prediction['pred_keypoints'],
                               scores=scores, score_threshold=score_threshold)
        if show_scores and scores is not None:
            canvas = draw_scores(canvas, prediction['pred_keypoints'], scores,
                                 score_threshold=score_threshold)
    maps = next((prediction[key] for key in ('structure_maps', 'heatmaps')
                 if prediction.get(key) is not None), None)
    if not draw_maps or maps is None:
        return canvas
    overlay = overlay_maps(image, maps, alpha=alpha,
                           warp_mat=prediction.get('warp_mat'),
                           input_size=prediction.get('input_size'))
    return side_by_side(canvas, overlay)
