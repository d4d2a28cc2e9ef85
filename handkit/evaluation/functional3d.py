"""3D keypoint metrics as plain numpy functions (vectorised over frames).

The protocols:

* EPE, 3D PCK and the AUC over 20-50 mm as the ResUnet paper reports them on
  GANerated, SynthHands and STB (Bekiri and Babahenini, Section III.B "Metric
  Evaluation"; the 20-50 mm AUC is the protocol of Zimmermann & Brox 2017):
  EPE is the mean Euclidean distance between predicted and true joints, in
  mm for 3D and px for 2D; PCK is the fraction of joints within a distance
  threshold; the AUC is the area under the PCK curve over the threshold range.
* The NYU protocol of Li and Wang (Section "Results"): the mean 3D error and
  the fraction of frames whose *maximum* joint error is below a threshold.
* Joint rotations (Zhou et al.'s IKNet): the angle between predicted and
  true quaternions.
* The papers' RHD / STB protocols (root, scale bone, threshold grid) are
  presets in ``handkit.evaluation.protocols``.

* Hand meshes (``mesh_metric``): FreiHAND's Procrustes alignment and
  F-score (Zimmermann et al., ICCV 2019, their ``eval.py``) and Ge et al.'s
  root-and-scale protocol (:func:`procrustes_align`, :func:`f_scores`,
  :func:`root_scale_align`).

Thresholds compare with ``<=`` here (a joint at exactly 20 mm is correct at
20 mm), as the 3D hand pose literature's PCK curves do; handkit's 2D PCK in
``handkit.evaluation.functional`` uses a strict ``<`` as the NSRM paper does.
Every function returns NaN where nothing is labelled, as the 2D ones do.
"""
from typing import Optional, Sequence, Tuple

import numpy as np


def _check_pair(pred, gt):
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f'pred and gt must both be (N, J, D); got '
                         f'{pred.shape} and {gt.shape}')
    return pred, gt


def _check_visible(visible, shape):
    """(N, J) bool mask; all joints count when ``visible`` is None."""
    if visible is None:
        return np.ones(shape, dtype=bool)
    visible = np.asarray(visible) > 0
    if visible.shape != shape:
        raise ValueError(f'visible must be (N, J) = {shape}, got '
                         f'{visible.shape}')
    return visible


def _thresholds(thresholds_mm):
    return np.asarray(thresholds_mm, dtype=np.float64).reshape(-1)


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J) Euclidean distance between predicted and true joints."""
    pred, gt = _check_pair(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def epe(pred: np.ndarray, gt: np.ndarray,
        visible: Optional[np.ndarray] = None) -> float:
    """Mean end-point error over the visible joints (Bekiri and Babahenini,
    III.B).

    Args:
        pred, gt: (N, J, D) joints, D = 2 (px) or 3 (mm).
        visible: (N, J) or None (every joint counts).

    Returns:
        float, in the unit of the inputs; NaN when no joint is visible.
    """
    errors = joint_errors(pred, gt)
    visible = _check_visible(visible, errors.shape)
    if not visible.any():
        return float('nan')
    return float(errors[visible].mean())


def root_relative(joints: np.ndarray, root: int = 0) -> np.ndarray:
    """Joints minus their root joint, (N, J, 3) -> (N, J, 3).

    ``root`` is the index of the root joint (0: handkit's wrist).
    """
    joints = np.asarray(joints)
    if joints.ndim != 3:
        raise ValueError(f'joints must be (N, J, D), got {joints.shape}')
    if not -joints.shape[1] <= root < joints.shape[1]:
        raise ValueError(f'root index {root} is out of range for '
                         f'{joints.shape[1]} joints')
    return joints - joints[:, root:root + 1]


def pck_3d(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray],
           thresholds_mm: Sequence[float]) -> np.ndarray:
    """3D PCK: fraction of visible joints with error <= each threshold.

    Args:
        pred, gt: (N, J, 3) joints in mm.
        visible: (N, J) or None.
        thresholds_mm: sequence of T thresholds.

    Returns:
        (T,) float64 array; NaN everywhere when no joint is visible.
    """
    errors = joint_errors(pred, gt)
    visible = _check_visible(visible, errors.shape)
    thresholds = _thresholds(thresholds_mm)
    labelled = visible.sum()
    if labelled == 0:
        return np.full(thresholds.shape, np.nan)
    visible_errors = errors[visible]  # (M,)
    correct = visible_errors[None] <= thresholds[:, None]  # (T, M)
    return correct.sum(axis=1) / labelled


def pck_curve_3d(pred: np.ndarray, gt: np.ndarray,
                 visible: Optional[np.ndarray] = None, low: float = 20.0,
                 high: float = 50.0, num: int = 31
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """(thresholds (num,), 3D PCK (num,)) over ``[low, high]`` mm."""
    if not high > low:
        raise ValueError(f'threshold range must have high > low, got '
                         f'({low}, {high})')
    if num < 2:
        raise ValueError(f'num must be >= 2 thresholds, got {num}')
    thresholds = np.linspace(low, high, num)
    return thresholds, pck_3d(pred, gt, visible, thresholds)


def auc_3d(pred: np.ndarray, gt: np.ndarray,
           visible: Optional[np.ndarray] = None, low: float = 20.0,
           high: float = 50.0, num: int = 31) -> float:
    """Normalised area under the 3D PCK curve from ``low`` to ``high`` mm.

    The common protocol (Zimmermann & Brox 2017; Bekiri and Babahenini, Fig. 5
    "AUC between 20 and 50 mm"): PCK at ``num`` evenly spaced thresholds,
    integrated with the trapezoid rule and divided by ``high - low``, so a
    perfect prediction scores 1.
    """
    thresholds, curve = pck_curve_3d(pred, gt, visible, low, high, num)
    return float(np.trapezoid(curve, thresholds) / (high - low))


def nyu_success_fraction(pred: np.ndarray, gt: np.ndarray,
                         thresholds_mm: Sequence[float]) -> np.ndarray:
    """Fraction of frames whose maximum joint error is <= each threshold.

    Li and Wang's second metric ("percentage of frames whose maximum joint
    error is below a threshold"), on NYU's 14 evaluation joints.

    Args:
        pred, gt: (N, J, 3) joints in mm.
        thresholds_mm: sequence of T thresholds.

    Returns:
        (T,) float64 array; NaN everywhere when N is 0.
    """
    errors = joint_errors(pred, gt)
    thresholds = _thresholds(thresholds_mm)
    if errors.shape[0] == 0:
        return np.full(thresholds.shape, np.nan)
    if errors.shape[1] == 0:
        raise ValueError('pred and gt hold no joints (J = 0)')
    worst = errors.max(axis=1)  # (N,)
    return (worst[None] <= thresholds[:, None]).mean(axis=1)


def rotation_errors_deg(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Angles (degrees) of the rotations between quaternion pairs.

    Args:
        pred, gt: (..., 4) quaternions (any component order, the same for
            both), normalised here; q and -q are the same rotation.

    Returns:
        (...) float64: ``2 acos(|<q^, q^GT>|)``, in [0, 180].
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.shape[-1] != 4:
        raise ValueError(f'pred and gt must both be (..., 4) quaternions; '
                         f'got {pred.shape} and {gt.shape}')
    dot = np.abs((pred * gt).sum(-1)) / (np.linalg.norm(pred, axis=-1)
                                         * np.linalg.norm(gt, axis=-1))
    return np.degrees(2 * np.arccos(np.clip(dot, 0.0, 1.0)))


def bone_lengths(joints: np.ndarray, bone: Sequence[int]) -> np.ndarray:
    """(N,) length of the bone ``bone[0] -> bone[1]`` of (N, J, 3) joints."""
    joints = np.asarray(joints, np.float64)
    return np.linalg.norm(joints[:, bone[1]] - joints[:, bone[0]], axis=-1)


# ---------------------------------------------------------------------------
# Hand-mesh protocols (handkit.evaluation.metrics.mesh_metric)
# ---------------------------------------------------------------------------

# FreiHAND's Procrustes adds 1e-8 m to each point set's norm; in handkit's
# millimetres that is 1e-5 mm.
FREIHAND_PROCRUSTES_EPS_MM = 1e-5
# Ge et al.'s scale: the length of the middle finger's first bone (MCP ->
# PIP, handkit joints 9 -> 10); their root: the wrist (0).
GE_SCALE_BONE = (9, 10)


def procrustes_align(pred: np.ndarray, gt: np.ndarray,
                     eps: float = FREIHAND_PROCRUSTES_EPS_MM) -> np.ndarray:
    """Each (P, 3) prediction aligned to its ground truth by the similarity
    (scale, rotation, translation) of FreiHAND's evaluation.

    FreiHAND's ``align_w_scale`` (lmb-freiburg/freihand, ``eval.py``):
    both sets are centred on their means and divided by their Frobenius
    norms (plus ``eps``); the orthogonal Procrustes problem of the two unit
    sets gives the rotation ``R = U V^T`` of the SVD ``gt^T pred = U W
    V^T`` and the scale ``sum(W)``; the prediction becomes ``pred R^T
    sum(W)`` times the ground truth's norm, plus its mean. As with SciPy's
    ``orthogonal_procrustes`` there, ``R`` may be a reflection.

    Args:
        pred, gt: (N, P, 3) point sets in mm (joints or vertices).
        eps: added to each norm (1e-5 mm: FreiHAND's 1e-8 m).

    Returns:
        (N, P, 3) float64 aligned predictions.
    """
    pred, gt = _check_pair(pred, gt)
    gt_mean = gt.mean(axis=1, keepdims=True)
    gt_centred = gt - gt_mean
    pred_centred = pred - pred.mean(axis=1, keepdims=True)
    gt_norm = np.linalg.norm(gt_centred, axis=(1, 2))[:, None, None] + eps
    pred_norm = np.linalg.norm(pred_centred, axis=(1, 2))[:, None,
                                                           None] + eps
    gt_unit, pred_unit = gt_centred / gt_norm, pred_centred / pred_norm
    u, w, vt = np.linalg.svd(np.swapaxes(gt_unit, 1, 2) @ pred_unit)
    rotation = u @ vt  # (N, 3, 3)
    scale = w.sum(axis=-1)[:, None, None]
    return (pred_unit @ np.swapaxes(rotation, 1, 2)) * scale * gt_norm \
        + gt_mean


def f_scores(pred: np.ndarray, gt: np.ndarray,
             thresholds_mm: Sequence[float]
             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F-score of predicted and true point sets (FreiHAND's
    ``calculate_fscore``, lmb-freiburg/freihand ``eval.py``).

    For each frame, the distance of every predicted point to its nearest
    true point and of every true point to its nearest predicted point
    (``scipy.spatial.cKDTree``); precision is the fraction of predicted
    points, recall the fraction of true points, closer than the threshold
    (strict ``<``); ``F = 2 P R / (P + R)``, 0 when both are 0 or a set is
    empty. (FreiHAND's code calls the two fractions the other way round;
    F is symmetric in them.)

    Args:
        pred: (N, P, 3); gt: (N, Q, 3) points in mm (P and Q may differ).
        thresholds_mm: T thresholds.

    Returns:
        (f, precision, recall), each (N, T) float64.
    """
    from scipy.spatial import cKDTree
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    if pred.ndim != 3 or gt.ndim != 3 or len(pred) != len(gt) or \
            pred.shape[2] != gt.shape[2]:
        raise ValueError(f'pred and gt must be (N, P, D) and (N, Q, D); got '
                         f'{pred.shape} and {gt.shape}')
    thresholds = _thresholds(thresholds_mm)
    shape = (len(pred), len(thresholds))
    precision, recall = np.zeros(shape), np.zeros(shape)
    for frame, (points, truth) in enumerate(zip(pred, gt)):
        if len(points) == 0 or len(truth) == 0:
            continue
        to_truth = cKDTree(truth).query(points)[0]   # (P,)
        to_points = cKDTree(points).query(truth)[0]  # (Q,)
        precision[frame] = (to_truth[None] < thresholds[:, None]).mean(1)
        recall[frame] = (to_points[None] < thresholds[:, None]).mean(1)
    total = precision + recall
    f = np.where(total > 0, 2 * precision * recall / np.where(
        total > 0, total, 1.0), 0.0)
    return f, precision, recall


def root_scale_align(points: np.ndarray, pred_joints: np.ndarray,
                     gt_joints: np.ndarray, root: int = 0,
                     bone: Sequence[int] = GE_SCALE_BONE) -> np.ndarray:
    """Ge et al.'s real-world protocol: the prediction placed at the true
    root and scaled to the true reference bone.

    Ge et al. ("3D Hand Shape and Pose Estimation from a Single RGB
    Image", CVPR 2019; their public code, ``real_world_testset.py`` /
    ``STB_dataset.py``) are given each frame's true root joint and hand
    scale, the length of the middle finger's first bone. Here a metric
    prediction is made so: ``(points - pred_root) * |gt bone| / |pred
    bone| + gt_root``, the root and bone taken from the joints (a
    zero-length predicted bone keeps scale 1).

    Args:
        points: (N, P, 3) predicted points to move (joints or vertices).
        pred_joints, gt_joints: (N, J, 3) joints giving root and scale.
        root: the root joint (0: the wrist, Ge et al.'s root).
        bone: the reference bone (9, 10): middle MCP -> PIP.

    Returns:
        (N, P, 3) float64.
    """
    points = np.asarray(points, np.float64)
    pred_joints, gt_joints = _check_pair(pred_joints, gt_joints)
    pred_length = bone_lengths(pred_joints, bone)
    ratio = np.where(pred_length > 0, bone_lengths(gt_joints, bone)
                     / np.maximum(pred_length, 1e-12), 1.0)
    return ((points - pred_joints[:, root:root + 1]) * ratio[:, None, None]
            + gt_joints[:, root:root + 1])
