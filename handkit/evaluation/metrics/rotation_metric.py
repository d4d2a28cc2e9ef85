"""RotationMetric: predicted joint rotations against the ground truth (Zhou
et al.'s IKNet, CVPR 2020, Section 4.2).

The numbers come from ``handkit.evaluation.functional3d``; this class only
collects IKNet's per-sample predictions (``IKNet(mode='predict')``) and
names them.
"""
from typing import Any, Dict, List, Sequence

import numpy as np

from handkit.evaluation.functional3d import epe, rotation_errors_deg
from handkit.evaluation.metrics.table import (Column, TabulatedMetric,
                                              sample_array)
from handkit.registry import METRICS

_KEYS = ('pred_quaternions', 'gt_quaternions', 'pred_keypoints_3d',
         'gt_keypoints_3d')


@METRICS.register_module()
class RotationMetric(TabulatedMetric):
    """Rotation errors (degrees) and the error of the posed rest pose (mm).

    Reads ``pred_quaternions`` / ``gt_quaternions`` (J, 4) (w, x, y, z) and
    ``pred_keypoints_3d`` / ``gt_keypoints_3d`` (J, 3) mm: the rest pose
    turned by the predicted rotations and the joints, wrist at the origin.

    Reports ``rotation_error_deg`` and ``rotation_error_median_deg``, the
    mean and median over every joint of every sample of the angle of the
    rotation between prediction and ground truth, ``2 acos |<q^, q>|``
    (:func:`rotation_errors_deg`); ``rotation_error_mean_rotation_deg``,
    that of predicting each joint's mean ground-truth rotation of the
    evaluated hands for every hand (an oracle baseline); ``fk_epe_mm``, the
    mean joint distance of the posed rest pose.
    """

    default_prefix = ''

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append({key: sample_array(sample, key, 'RotationMetric')
                                 for key in _KEYS})

    def columns(self, values: Dict[str, float]) -> List[Column]:
        if 'rotation_error_deg' not in values:
            return []
        return [Column('rotation_error(deg)', 'rotation_error_deg'),
                Column('median(deg)', 'rotation_error_median_deg'),
                Column('mean_rotation(deg)',
                       'rotation_error_mean_rotation_deg'),
                Column('fk_epe(mm)', 'fk_epe_mm')]

    def compute_metrics(self, results: list) -> Dict[str, float]:
        stacked = {key: np.stack([result[key] for result in results])
                   for key in _KEYS}
        pred, gt = stacked['pred_quaternions'], stacked['gt_quaternions']
        errors = rotation_errors_deg(pred, gt)
        mean = gt.mean(0)
        mean /= np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-8)
        baseline = rotation_errors_deg(np.broadcast_to(mean, gt.shape), gt)
        return dict(
            rotation_error_deg=float(errors.mean()),
            rotation_error_median_deg=float(np.median(errors)),
            rotation_error_mean_rotation_deg=float(baseline.mean()),
            fk_epe_mm=epe(stacked['pred_keypoints_3d'],
                          stacked['gt_keypoints_3d']))
