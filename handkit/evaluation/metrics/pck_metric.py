"""PCK / AUC / EPE metric for 2D hand keypoints (NSRM Tables 2 and 3)."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from handkit.evaluation.functional import (epe, pck, pck_auc,
                                           pck_metrics, pck_normaliser)
from handkit.evaluation.metrics.table import Column, TabulatedMetric, align
from handkit.registry import METRICS


@METRICS.register_module()
class PCKMetric(TabulatedMetric):
    """PCK at the dataset's thresholds, their mean, AUC and EPE.

    Reads the estimator's per-sample predictions (``pred_keypoints``,
    ``gt_keypoints``, ``gt_keypoints_visible`` and ``bbox`` when present),
    all in original-image pixels.

    The PCK normaliser is the max side of the tightest box of the labelled
    ground-truth keypoints (NSRM Section 4.2). For a hand with a single
    labelled keypoint that box is a point (size 0); its normaliser is then
    the longer side of the sample's ``bbox`` (the annotated hand box of
    COCO-style files; MMPose's ``norm_item='bbox'``), and a sample whose
    normaliser is still 0 is left out of PCK and AUC (as MMPose does),
    never counted as wrong. EPE counts every labelled keypoint
    (:func:`handkit.evaluation.functional.pck_normaliser`).

    Args:
        thresholds: normalised thresholds; default: the dataset's
            ``pck_thresholds`` (Panoptic 0.04-0.12, OneHand10K 0.10-0.30).
        auc_range: (low, high) of the PCK curve whose area is reported;
            default (0, max threshold).
        auc_num: number of thresholds sampled for the AUC.

    Metrics: ``PCK@t`` for each threshold (in [0, 1]), ``PCK_ave`` (their
    mean, the "ave" column of Tables 2-3), ``AUC`` and ``EPE`` (pixels).
    When every sample carries per-keypoint occlusion flags
    (``gt_occluded`` (K,) bool: the synthetic renderer's, from its depth
    test), also ``PCK_ave_occluded`` and ``PCK_ave_visible``: the same mean
    over the labelled keypoints that are occluded / not occluded, each
    image keeping the normaliser of all its labelled keypoints (NSRM
    Figure 7's claim that structure helps most under occlusion), and
    ``occluded_fraction``, the share of labelled keypoints that are
    occluded.

    Table (``format_rows``): NSRM Tables 2-3's row (``sigma_PCK``, PCK in %
    at each threshold, ``ave``), then ``AUC ...   EPE ... px``; a study
    compares ``ave`` and shows it for all / occluded / visible keypoints.
    """

    default_prefix = ''  # metric names stay 'PCK@0.04', 'PCK_ave', ...
    label_header = 'sigma_PCK'

    def __init__(self, thresholds: Optional[Sequence[float]] = None,
                 auc_range: Optional[Tuple[float, float]] = None,
                 auc_num: int = 41, **kwargs) -> None:
        super().__init__(**kwargs)
        self.thresholds = None if thresholds is None else [
            float(t) for t in thresholds]
        self.auc_range = auc_range
        self.auc_num = auc_num

    def process(self, data_batch: Any,
                data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            bbox = sample.get('bbox')
            self.results.append((
                np.asarray(sample['pred_keypoints'], np.float64),
                np.asarray(sample['gt_keypoints'], np.float64),
                np.asarray(sample['gt_keypoints_visible'], np.float64),
                np.full(4, np.nan) if bbox is None else np.asarray(
                    bbox, np.float64).reshape(4),
                None if sample.get('gt_occluded') is None else np.asarray(
                    sample['gt_occluded'], bool).reshape(-1),
            ))

    def resolved_thresholds(self) -> List[float]:
        if self.thresholds is not None:
            return self.thresholds
        meta = self.dataset_meta or {}
        if 'pck_thresholds' not in meta:
            raise ValueError('PCKMetric: no thresholds given and the dataset '
                             'metainfo has no pck_thresholds')
        return [float(t) for t in meta['pck_thresholds']]

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, visible, bbox, occluded = zip(*results)
        pred, gt, visible, bbox = (np.stack(column)
                                   for column in (pred, gt, visible, bbox))
        bbox = np.nan_to_num(bbox, nan=0.0)  # no box: no fallback
        thresholds = self.resolved_thresholds()
        norm = pck_normaliser(gt, visible, bbox)
        low, high = self.auc_range or (0.0, max(thresholds))
        metrics = pck_metrics(pred, gt, visible, thresholds, bbox)
        metrics['AUC'] = pck_auc(pred, gt, visible, norm, low, high,
                                 self.auc_num)
        metrics['EPE'] = epe(pred, gt, visible)
        if all(flags is not None for flags in occluded):
            occluded = np.stack(occluded)  # (N, K)
            labelled = visible > 0
            for name, subset in (('occluded', occluded),
                                 ('visible', ~occluded)):
                values = pck(pred, gt, labelled & subset, norm, thresholds)
                metrics[f'PCK_ave_{name}'] = float(np.mean(values))
            metrics['occluded_fraction'] = float(
                (occluded & labelled).sum() / max(labelled.sum(), 1))
        return metrics

    def columns(self, values: Dict[str, float]) -> List[Column]:
        """PCK (%) at each threshold (the metric's, else those reported),
        then their mean, ``ave``."""
        thresholds = self.thresholds or sorted(
            float(key[len('PCK@'):]) for key in values
            if key.startswith('PCK@'))
        if 'PCK_ave' not in values:
            return []
        return [Column(f'{t:.2f}', f'PCK@{t:g}', 100.0) for t in thresholds
                ] + [Column('ave', 'PCK_ave', 100.0)]

    def headline(self, values: Dict[str, float]) -> Column:
        return Column('ave', 'PCK_ave', 100.0)

    def breakdown(self, values: Dict[str, float]) -> List[Column]:
        """PCK_ave (%) of all, of the occluded and of the visible
        keypoints."""
        return [Column('all', 'PCK_ave', 100.0),
                Column('occluded', 'PCK_ave_occluded', 100.0),
                Column('visible', 'PCK_ave_visible', 100.0)]

    def data_columns(self, values: Dict[str, float]) -> List[Column]:
        return [Column('occluded share of the labelled keypoints',
                       'occluded_fraction', 100.0, 1)]

    def notes(self, values: Dict[str, float]) -> List[str]:
        if 'AUC' not in values:
            return []
        return [f"AUC {values['AUC']:.4f}   EPE {values['EPE']:.2f} px"]


def format_pck_table(rows: Sequence[Tuple[str, Dict[str, float]]],
                     thresholds: Sequence[float]) -> str:
    """Text table in the layout of NSRM Tables 2-3 (PCK in %).

    Args:
        rows: list of (name, metrics dict from :class:`PCKMetric`).
        thresholds: the thresholds, in column order.
    """
    header = ['sigma_PCK'] + [f'{t:.2f}' for t in thresholds] + ['ave']
    lines = [header]
    for name, metrics in rows:
        values = [metrics[f'PCK@{t:g}'] for t in thresholds]
        lines.append([name] + [f'{100 * v:.2f}' for v in values]
                     + [f'{100 * metrics["PCK_ave"]:.2f}'])
    return align(lines)
