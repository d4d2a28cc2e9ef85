"""Write every prediction to a JSON file (``tools/test.py --out``)."""
import json

import numpy as np
from mmengine.evaluator import BaseMetric

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

    def __init__(self, out_file, **kwargs):
        super().__init__(**kwargs)
        self.out_file = out_file

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append({
                key: np.asarray(sample[key]).tolist()
                if isinstance(sample[key], np.ndarray) else sample[key]
                for key in self.KEYS if key in sample
            })

    def compute_metrics(self, results):
        with open(self.out_file, 'w') as file:
            json.dump(dict(predictions=results), file)
        return {}
