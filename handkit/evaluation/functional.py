"""2D keypoint metrics as plain numpy functions (vectorised over images).

PCK follows the NSRM paper, Section 4.2 "Evaluation metric": a keypoint is
correct when its distance to the ground truth is below ``threshold x norm``,
where ``norm`` is the maximum dimension of the tightest box enclosing the
ground-truth keypoints (the datasets give no hand or head size).

That box is degenerate (size 0) for a hand with a single labelled keypoint
(or all labelled keypoints at one pixel). Its normaliser is then the longer
side of the sample's hand box (``bbox``, x1, y1, x2, y2: the annotated box
of COCO-style files), as MMPose's ``PCKAccuracy(norm_item='bbox')`` does;
a sample whose normaliser is still 0 (no box, or a degenerate one) is left
out of PCK, as MMPose leaves out samples with a zero normaliser, instead of
counting its keypoints as wrong. See :func:`pck_normaliser`.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np


def _check(pred, gt, visible):
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    visible = np.asarray(visible) > 0
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f'pred and gt must both be (N, K, D); got '
                         f'{pred.shape} and {gt.shape}')
    if visible.shape != pred.shape[:2]:
        raise ValueError(f'visible must be (N, K) = {pred.shape[:2]}, got '
                         f'{visible.shape}')
    return pred, gt, visible


def keypoint_box_size(gt: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Max side of the tightest box of the labelled keypoints, (N,)."""
    gt = np.asarray(gt, dtype=np.float64)
    visible = np.asarray(visible) > 0
    low = np.where(visible[..., None], gt, np.inf).min(axis=1)
    high = np.where(visible[..., None], gt, -np.inf).max(axis=1)
    size = (high - low).max(axis=1)
    return np.where(visible.any(axis=1), size, 0.0)


def pck_normaliser(gt: np.ndarray, visible: np.ndarray,
                   bbox: Optional[np.ndarray] = None) -> np.ndarray:
    """PCK normaliser per image, (N,) float64.

    The max side of the tightest box of the labelled keypoints
    (:func:`keypoint_box_size`, NSRM Section 4.2); where that is 0 (one
    labelled keypoint), the longer side of ``bbox`` (N, 4) x1, y1, x2, y2,
    when given (MMPose's bbox normaliser, ``max(x2 - x1, y2 - y1)``). A
    result of 0 means the image is left out of PCK (see :func:`pck`).
    """
    size = keypoint_box_size(gt, visible)
    if bbox is None:
        return size
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    if bbox.shape[0] != size.shape[0]:
        raise ValueError(f'bbox must be (N, 4) = ({size.shape[0]}, 4), got '
                         f'{bbox.shape}')
    box_size = np.maximum((bbox[:, 2:] - bbox[:, :2]).max(axis=1), 0.0)
    return np.where(size > 0, size, box_size)


def pck(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
        norm: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Probability of Correct Keypoint at each threshold.

    Args:
        pred, gt: (N, K, 2) keypoints.
        visible: (N, K); only labelled keypoints count.
        norm: (N,) normaliser per image (see :func:`pck_normaliser`); an
            image whose normaliser is 0 (or less) is left out.
        thresholds: sequence of T normalised thresholds.

    Returns:
        (T,) array: correct / labelled over all labelled keypoints of the
        images counted, a keypoint being correct when distance < threshold x
        norm (strictly). NaN when no keypoint is counted.
    """
    pred, gt, visible = _check(pred, gt, visible)
    norm = np.asarray(norm, dtype=np.float64).reshape(-1)
    if norm.shape != (pred.shape[0], ):
        raise ValueError(f'norm must be (N,) = ({pred.shape[0]},), got '
                         f'{norm.shape}')
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    distance = np.linalg.norm(pred - gt, axis=-1)  # (N, K)
    visible = visible & (norm > 0)[:, None]
    labelled = visible.sum()
    if labelled == 0:
        return np.full(thresholds.shape, np.nan)
    correct = distance[None] < thresholds[:, None, None] * norm[None, :, None]
    return (correct & visible[None]).sum(axis=(1, 2)) / labelled


def pck_metrics(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
                thresholds: Sequence[float],
                bbox: Optional[np.ndarray] = None) -> Dict[str, float]:
    """``{'PCK@t': ..., 'PCK_ave': ...}``: PCK at each threshold with the
    tightest-box normaliser (the box ``bbox`` (N, 4) where that is
    degenerate, :func:`pck_normaliser`), and their mean (the "ave" of NSRM
    Tables 2-3).
    """
    values = pck(pred, gt, visible, pck_normaliser(gt, visible, bbox),
                 thresholds)
    metrics = {f'PCK@{float(t):g}': float(v)
               for t, v in zip(thresholds, values)}
    metrics['PCK_ave'] = float(np.mean(values))
    return metrics


def pck_auc(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
            norm: np.ndarray, low: float = 0.0, high: float = 0.2,
            num: int = 41) -> float:
    """Area under the PCK curve from ``low`` to ``high``, normalised to 1."""
    if not high > low:
        raise ValueError(f'AUC range must have high > low, got '
                         f'({low}, {high})')
    thresholds = np.linspace(low, high, num)
    curve = pck(pred, gt, visible, norm, thresholds)
    return float(np.trapezoid(curve, thresholds) / (high - low))


def epe(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> float:
    """Mean end-point error (Euclidean distance) over labelled keypoints."""
    pred, gt, visible = _check(pred, gt, visible)
    if not visible.any():
        return float('nan')
    return float(np.linalg.norm(pred - gt, axis=-1)[visible].mean())


def mask_overlap(probability: np.ndarray, mask: np.ndarray,
                 thresholds: Sequence[float]
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Intersection and union of thresholded maps with true masks.

    Args:
        probability: (N, H, W) predicted probabilities of "hand".
        mask: (N, H, W) true masks (bool or 0/1).
        thresholds: (T,) probability thresholds; a pixel is predicted hand
            when its probability is >= the threshold.

    Returns:
        ``(intersection, union)``: two (N, T) arrays of pixel counts.
    """
    probability = np.asarray(probability, dtype=np.float32)
    mask = np.asarray(mask) > 0
    if probability.shape != mask.shape or probability.ndim != 3:
        raise ValueError(f'probability and mask must both be (N, H, W); got '
                         f'{probability.shape} and {mask.shape}')
    thresholds = np.asarray(thresholds, np.float32).reshape(-1)
    predicted = probability[:, None] >= thresholds[None, :, None, None]
    truth = mask[:, None]
    return ((predicted & truth).sum(axis=(2, 3)),
            (predicted | truth).sum(axis=(2, 3)))
