"""Write every prediction to a JSON file (``tools/test.py --out``).

Two schemas (``out_format``):

* ``'coco'``: COCO keypoint results, the list that pycocotools'
  ``COCO.loadRes`` and MMPose read: one ``{"image_id", "category_id": 1,
  "keypoints": [x1, y1, s1, ..., x21, y21, s21], "score"}`` per hand
  (:func:`coco_keypoint_results`);
* ``'handkit'``: ``{"predictions": [record, ...]}`` with the ground truth
  (:data:`PredictionDump.KEYS`), from which any metric can be recomputed.
"""
from typing import Any, Dict, List, Sequence

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
    FORMATS = ('coco', 'handkit')

    def __init__(self, out_file: str, out_format: str = 'handkit',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if out_format not in self.FORMATS:
            raise ValueError(f'PredictionDump: out_format must be one of '
                             f'{self.FORMATS}, got {out_format!r}')
        self.out_file = out_file
        self.out_format = out_format

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
        write_json(self.out_file, coco_keypoint_results(results)
                   if self.out_format == 'coco' else
                   dict(predictions=results))
        return {}


def coco_keypoint_results(records: Sequence[dict],
                          category_id: int = 1) -> List[dict]:
    """COCO keypoint results of :class:`PredictionDump` records.

    ``keypoints`` is the flat (x, y, score) list of the 21 keypoints in
    handkit's order (that of MMPose's COCO hand files; a file read with
    another ``keypoint_order`` gets handkit's order), in original image
    pixels; ``score`` is the mean keypoint score (MMPose's instance score
    without a detector). ``image_id`` is the dataset's ``img_id`` (the COCO
    image id for ``CocoHandDataset``; a file name or frame number for the
    other adapters). A 3D model's joints are added as ``keypoints_3d``
    (21 x 3), which COCO tools ignore.
    """
    results = []
    for record in records:
        points = np.asarray(record['pred_keypoints'], dtype=np.float64)
        points = points.reshape(-1, points.shape[-1])[:, :2]
        scores = record.get('pred_scores')
        scores = (np.ones(len(points)) if scores is None else
                  np.asarray(scores, dtype=np.float64).reshape(-1))
        image_id = record.get('img_id')
        if isinstance(image_id, np.generic):
            image_id = image_id.item()
        result = dict(
            image_id=image_id, category_id=category_id,
            keypoints=np.column_stack([points.round(3), scores.round(5)])
            .ravel().tolist(),
            score=round(float(scores.mean()), 5) if len(scores) else 0.0)
        if record.get('pred_keypoints_3d') is not None:
            result['keypoints_3d'] = np.asarray(
                record['pred_keypoints_3d'], dtype=np.float64).reshape(
                    -1, 3).round(3).tolist()
        results.append(result)
    return results
