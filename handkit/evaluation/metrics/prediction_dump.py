"""Write every prediction to a JSON file (``tools/test.py --out``)."""
from typing import Any, Dict, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from handkit.fileio import write_json
from handkit.registry import METRICS


@METRICS.register_module()
class PredictionDump(BaseMetric):
    """Collect per-sample predictions and write them as JSON.

    Each record: ``img_path``, ``img_id``, ``pred_keypoints`` (21 x 2, original
    image pixels), ``pred_scores``, the ground truth ``gt_keypoints`` and
    ``gt_keypoints_visible`` (so any metric can be recomputed from the file)
    and, when present, ``pred_keypoints_3d`` / ``gt_keypoints_3d``.
    Returns no metric.
    """

    KEYS = ('img_path', 'img_id', 'pred_keypoints', 'pred_scores',
            'gt_keypoints', 'gt_keypoints_visible', 'pred_keypoints_3d',
            'gt_keypoints_3d')

    default_prefix = ''

    def __init__(self, out_file: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.out_file = out_file

    def process(self, data_batch: Any,
                data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append({
                key: np.asarray(sample[key]).tolist()
                if isinstance(sample[key], np.ndarray) else sample[key]
                for key in self.KEYS if key in sample
            })

    def compute_metrics(self, results: list) -> Dict[str, float]:
        # atomically: a kill or a full disk leaves the previous file
        write_json(self.out_file, dict(predictions=results))
        return {}
