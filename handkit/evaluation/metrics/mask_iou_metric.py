"""How much a predicted structure map looks like the hand's mask.

NSRM Figure 8 shows that the learned G1 structure maps resemble hand
segmentation masks. :class:`MaskIoUMetric` measures it: the IoU of the
predicted G1 map, thresholded, with the true hand mask (the renderer's for
synthetic hands, the release's mask PNGs for OneHand10K).
"""
from typing import Any, Dict, List, Optional, Sequence

import cv2
import numpy as np

from handkit.evaluation.functional import mask_overlap
from handkit.evaluation.metrics.table import Column, TabulatedMetric
from handkit.registry import METRICS


def map_to_input(maps: np.ndarray, input_size: Sequence[int]) -> np.ndarray:
    """(C, h, w) maps -> (C, H, W) at the input, bilinear.

    Map pixel ``i`` sits at input pixel ``i * stride`` (the map grid of
    :mod:`handkit.codecs.keypoint_confidence_map`), so the resampling is that
    affine map, not ``cv2.resize``'s pixel-centre convention.
    """
    maps = np.asarray(maps, np.float32)
    width, height = int(input_size[0]), int(input_size[1])
    stride_x, stride_y = width / maps.shape[2], height / maps.shape[1]
    inverse = np.array([[1 / stride_x, 0, 0], [0, 1 / stride_y, 0]],
                       np.float32)
    return np.stack([
        cv2.warpAffine(channel, inverse, (width, height),
                       flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_REPLICATE) for channel in maps])


@METRICS.register_module()
class MaskIoUMetric(TabulatedMetric):
    """IoU of one predicted structure-map channel with the true hand mask.

    Reads ``structure_maps`` (C, h, w) probabilities (the estimator's
    predictions with ``test_cfg=dict(output_maps=True)``) and
    ``gt_hand_mask`` (H, W) in input pixels (packed by ``PackHandInputs``
    when the dataset gives a ``hand_mask``). The map channel is resampled to
    the mask's size and thresholded; IoU = |pred & true| / |pred | true| per
    sample, averaged over samples (a sample whose union is empty counts 1).

    Args:
        channel: the map channel that should cover the hand (0: G1).
        threshold: the threshold of the headline ``IoU@<threshold>``.
        thresholds: the grid searched for ``IoU_best`` and its threshold.
        map_key: prediction key of the maps.

    Metrics: ``IoU@0.5``, ``IoU_best``, ``IoU_best_threshold``. Table
    (``format_rows``): ``IoU@<threshold>`` and ``IoU_best``, then the best
    threshold.
    """

    default_prefix = ''

    def __init__(self, channel: int = 0, threshold: float = 0.5,
                 thresholds: Optional[Sequence[float]] = None,
                 map_key: str = 'structure_maps', **kwargs) -> None:
        super().__init__(**kwargs)
        self.channel = int(channel)
        self.threshold = float(threshold)
        grid = np.round(np.arange(0.05, 0.951, 0.05), 2) if (
            thresholds is None) else np.asarray(thresholds, np.float32)
        self.thresholds = np.unique(np.append(grid, self.threshold))
        self.map_key = map_key

    def process(self, data_batch: Any,
                data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            for key in (self.map_key, 'gt_hand_mask'):
                if key not in sample:
                    raise KeyError(
                        f"MaskIoUMetric: a prediction has no '{key}' (it "
                        + ('needs the model\'s test_cfg=dict(output_maps='
                           'True))' if key == self.map_key else
                           'needs a dataset that gives hand_mask, e.g. '
                           'SyntheticHandDataset)'))
            mask = np.asarray(sample['gt_hand_mask'])
            maps = np.asarray(sample[self.map_key])[self.channel:
                                                    self.channel + 1]
            probability = map_to_input(maps, mask.shape[::-1])
            intersection, union = mask_overlap(probability, mask[None],
                                               self.thresholds)
            self.results.append((intersection[0], union[0]))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        intersection, union = (np.stack(column) for column in zip(*results))
        iou = np.where(union > 0, intersection / np.maximum(union, 1), 1.0)
        mean = iou.mean(axis=0)  # (T,)
        best = int(np.argmax(mean))
        at = int(np.flatnonzero(np.isclose(self.thresholds,
                                           self.threshold))[0])
        return {f'IoU@{self.threshold:g}': float(mean[at]),
                'IoU_best': float(mean[best]),
                'IoU_best_threshold': float(self.thresholds[best])}

    def columns(self, values: Dict[str, float]) -> List[Column]:
        key = f'IoU@{self.threshold:g}'
        if key not in values:
            return []
        return [Column(key, key, digits=3), Column('IoU_best', 'IoU_best',
                                                   digits=3)]

    def notes(self, values: Dict[str, float]) -> List[str]:
        if 'IoU_best_threshold' not in values:
            return []
        return [f"IoU_best at threshold {values['IoU_best_threshold']:g}"]
