"""Hand-mesh metrics: MPJPE / MPVPE, their Procrustes-aligned forms,
F-scores and the 0-50 mm AUC (FreiHAND), and Ge et al.'s real-world
protocol.

The numbers come from ``handkit.evaluation.functional3d``; this class only
collects the estimator's per-sample predictions (docs/architecture.md,
section 5) and names them. docs/hand_model.md states each metric's source.
"""
from typing import Any, Dict, List, Sequence

import numpy as np

from handkit.evaluation.functional3d import (FREIHAND_PROCRUSTES_EPS_MM,
                                             GE_SCALE_BONE, auc_3d, epe,
                                             f_scores, procrustes_align,
                                             root_relative, root_scale_align)
from handkit.evaluation.metrics.table import Column, TabulatedMetric
from handkit.registry import METRICS

#: the numbers of the mesh table, in order (mm, then F-scores)
TABLE_KEYS = ('MPJPE', 'PA-MPJPE', 'MPVPE', 'PA-MPVPE', 'F@5mm', 'F@15mm')


def _array(sample, key, name):
    if key not in sample:
        raise KeyError(f"{name}: a prediction has no '{key}'; it holds "
                       f'{sorted(sample)}')
    return np.asarray(sample[key], np.float64)


@METRICS.register_module()
class MeshMetric(TabulatedMetric):
    """Hand joints and mesh vertices against the ground truth, in mm.

    Reads ``pred_keypoints_3d`` / ``gt_keypoints_3d`` (21, 3) and, where
    every sample has both, ``pred_vertices`` / ``gt_vertices`` (V, 3) (the
    same mesh topology: MANO's 778 vertices). Every point counts (a mesh
    ground truth is complete).

    Args:
        protocol: 'freihand' or 'ge'.

            * 'freihand' (Zimmermann et al., "FreiHAND", ICCV 2019; their
              ``eval.py``): ``MPJPE`` / ``MPVPE``, the mean joint / vertex
              error, root-relative (both sets minus their own root joint;
              ``root_relative=False``: absolute, as FreiHAND's unaligned
              numbers); ``PA-MPJPE`` / ``PA-MPVPE`` after FreiHAND's
              Procrustes alignment (scale, rotation, translation), joints
              and vertices each aligned on themselves; ``F@<t>mm`` on the
              aligned vertices (FreiHAND's "F_aligned") and
              ``F@<t>mm_unaligned`` on the compared ones; the AUC of the
              PCK curve over ``auc_range`` on ``auc_steps`` thresholds
              (their 0-50 mm, 100 steps) of joints and vertices, unaligned
              and aligned: ``AUC_J_0-50``, ``PA-AUC_J_0-50``,
              ``AUC_V_0-50``, ``PA-AUC_V_0-50``.
            * 'ge' (Ge et al., CVPR 2019, real-world test set and STB): the
              prediction is moved to the true root and scaled to the true
              middle MCP -> PIP bone (``scale_bone``), vertices with the
              joints' root and scale; then ``MPJPE``, ``MPVPE``,
              ``F@<t>mm``, ``AUC_J_0-50``, ``AUC_V_0-50``.
        root_index: the root joint (0: the wrist).
        root_relative: with 'freihand', subtract the root first.
        f_thresholds_mm: F-score thresholds (FreiHAND's 5 and 15 mm).
        auc_range, auc_steps: the PCK curve of the AUCs.
        scale_bone: with 'ge', the reference bone (9, 10).
        procrustes_eps: added to each norm in the alignment (1e-5 mm:
            FreiHAND's 1e-8 m).

    Metrics are Python floats (mm, F-scores and AUCs in [0, 1]). Table
    (``format_rows``): those of :data:`TABLE_KEYS` it reports.
    """

    default_prefix = ''
    PROTOCOLS = ('freihand', 'ge')
    required_labels = ('keypoints_3d', )

    def __init__(self, protocol: str = 'freihand', root_index: int = 0,
                 root_relative: bool = True,
                 f_thresholds_mm: Sequence[float] = (5, 15),
                 auc_range: Sequence[float] = (0, 50), auc_steps: int = 100,
                 scale_bone: Sequence[int] = GE_SCALE_BONE,
                 procrustes_eps: float = FREIHAND_PROCRUSTES_EPS_MM,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if protocol not in self.PROTOCOLS:
            raise ValueError(f'MeshMetric: protocol must be one of '
                             f'{self.PROTOCOLS}, got {protocol!r}')
        if len(auc_range) != 2 or not auc_range[1] > auc_range[0] \
                or auc_steps < 2:
            raise ValueError(f'MeshMetric: auc_range must be (low, high) mm '
                             f'with high > low and auc_steps >= 2, got '
                             f'{auc_range!r}, {auc_steps!r}')
        self.protocol = protocol
        self.root_index = int(root_index)
        self.root_relative = bool(root_relative)
        self.f_thresholds_mm = [float(t) for t in f_thresholds_mm]
        self.auc_range = (float(auc_range[0]), float(auc_range[1]))
        self.auc_steps = int(auc_steps)
        self.scale_bone = (int(scale_bone[0]), int(scale_bone[1]))
        self.procrustes_eps = float(procrustes_eps)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        name = type(self).__name__
        for sample in data_samples:
            record = dict(
                pred=_array(sample, 'pred_keypoints_3d', name),
                gt=_array(sample, 'gt_keypoints_3d', name))
            if 'pred_vertices' in sample or 'gt_vertices' in sample:
                record['pred_vertices'] = _array(sample, 'pred_vertices',
                                                 name)
                record['gt_vertices'] = _array(sample, 'gt_vertices', name)
            self.results.append(record)

    def _auc(self, pred, gt):
        low, high = self.auc_range
        return auc_3d(pred, gt, None, low, high, self.auc_steps)

    def _names(self):
        low, high = self.auc_range
        return f'{low:g}-{high:g}'

    def _f(self, metrics, pred, gt, suffix=''):
        f, _, _ = f_scores(pred, gt, self.f_thresholds_mm)
        for threshold, value in zip(self.f_thresholds_mm, f.mean(axis=0)):
            metrics[f'F@{threshold:g}mm{suffix}'] = float(value)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred = np.stack([r['pred'] for r in results])
        gt = np.stack([r['gt'] for r in results])
        if pred.shape != gt.shape:
            raise ValueError(f'MeshMetric: pred_keypoints_3d {pred.shape[1:]}'
                             f' and gt_keypoints_3d {gt.shape[1:]} differ')
        meshes = all('pred_vertices' in r for r in results)
        pred_v = gt_v = None
        if meshes:
            pred_v = np.stack([r['pred_vertices'] for r in results])
            gt_v = np.stack([r['gt_vertices'] for r in results])
            if pred_v.shape != gt_v.shape:
                raise ValueError(
                    f'MeshMetric: pred_vertices {pred_v.shape[1:]} and '
                    f'gt_vertices {gt_v.shape[1:]} differ (the metric '
                    'compares meshes of one topology, e.g. MANO\'s)')
        span = self._names()
        if self.protocol == 'ge':
            return self._ge(pred, gt, pred_v, gt_v, span)
        return self._freihand(pred, gt, pred_v, gt_v, span)

    def columns(self, values: Dict[str, float]) -> List[Column]:
        if 'MPJPE' not in values:
            return []
        return [Column(key, key, digits=4 if key.startswith('F@') else 2,
                       width=9) for key in TABLE_KEYS if key in values]

    def _freihand(self, pred, gt, pred_v, gt_v, span):
        root = self.root_index
        if self.root_relative:
            pred_roots, gt_roots = (pred[:, root:root + 1],
                                    gt[:, root:root + 1])
            pred, gt = root_relative(pred, root), root_relative(gt, root)
        eps = self.procrustes_eps
        aligned = procrustes_align(pred, gt, eps)
        metrics = {'MPJPE': epe(pred, gt), 'PA-MPJPE': epe(aligned, gt),
                   f'AUC_J_{span}': self._auc(pred, gt),
                   f'PA-AUC_J_{span}': self._auc(aligned, gt)}
        if pred_v is None:
            return metrics
        if self.root_relative:
            pred_v, gt_v = pred_v - pred_roots, gt_v - gt_roots
        aligned_v = procrustes_align(pred_v, gt_v, eps)
        metrics.update({
            'MPVPE': epe(pred_v, gt_v), 'PA-MPVPE': epe(aligned_v, gt_v),
            f'AUC_V_{span}': self._auc(pred_v, gt_v),
            f'PA-AUC_V_{span}': self._auc(aligned_v, gt_v)})
        self._f(metrics, aligned_v, gt_v)
        self._f(metrics, pred_v, gt_v, '_unaligned')
        return metrics

    def _ge(self, pred, gt, pred_v, gt_v, span):
        def align(points):
            return root_scale_align(points, pred, gt, self.root_index,
                                    self.scale_bone)

        joints = align(pred)
        metrics = {'MPJPE': epe(joints, gt),
                   f'AUC_J_{span}': self._auc(joints, gt)}
        if pred_v is None:
            return metrics
        vertices = align(pred_v)
        metrics.update({'MPVPE': epe(vertices, gt_v),
                        f'AUC_V_{span}': self._auc(vertices, gt_v)})
        self._f(metrics, vertices, gt_v)
        return metrics
