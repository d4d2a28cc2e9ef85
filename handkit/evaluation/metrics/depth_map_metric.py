"""DepthMapMetric: generated depth maps against their targets (Cai et al.'s
depth regulariser, ECCV 2018), as the pre-training of the regulariser
reports them (``DepthRegularizerPretrainer``)."""
from typing import Any, Dict, List, Sequence

import numpy as np

from handkit.evaluation.metrics.table import (Column, TabulatedMetric,
                                              sample_array)
from handkit.registry import METRICS

_KEYS = ('pred_depth_map', 'gt_depth_map', 'depth_weight')


def weighted_l1(pred: np.ndarray, gt: np.ndarray,
                weights: np.ndarray) -> float:
    """``sum_b w_b l_b / max(sum_b w_b, 1)`` of each (H, W) map's mean
    absolute difference ``l_b``, as ``DepthL1Loss`` computes it."""
    per_sample = np.abs(pred - gt).reshape(len(pred), -1).mean(1)
    return float((per_sample * weights).sum() / max(weights.sum(), 1.0))


@METRICS.register_module()
class DepthMapMetric(TabulatedMetric):
    """The L1 of depth maps, in the ``NormalizedDepthMap`` codec's units.

    Reads ``pred_depth_map`` / ``gt_depth_map`` (H, W) and ``depth_weight``
    (a sample without a depth image weighs 0). Reports ``depth_l1``, the
    weighted mean over samples of each map's mean |prediction - target|
    (``DepthL1Loss``), and ``depth_l1_mean_map``, that of predicting the
    evaluated samples' mean target map for every sample (an oracle
    baseline).
    """

    default_prefix = ''

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append({key: sample_array(sample, key, 'DepthMapMetric')
                                 for key in _KEYS})

    def columns(self, values: Dict[str, float]) -> List[Column]:
        if 'depth_l1' not in values:
            return []
        return [Column('depth_l1', 'depth_l1', digits=4),
                Column('depth_l1_mean_map', 'depth_l1_mean_map', digits=4)]

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, weights = (np.stack([result[key] for result in results])
                             for key in _KEYS)
        weights = weights.reshape(len(weights))
        mean_map = (gt * weights[:, None, None]).sum(0) / max(
            weights.sum(), 1e-8)
        return dict(depth_l1=weighted_l1(pred, gt, weights),
                    depth_l1_mean_map=weighted_l1(
                        np.broadcast_to(mean_map, gt.shape), gt, weights))
