"""MaskIoUMetric: the structure map against the true hand mask."""
import numpy as np
import pytest

from handkit.evaluation.functional import mask_overlap
from handkit.evaluation.metrics import MaskIoUMetric
from handkit.evaluation.metrics.mask_iou_metric import map_to_input


def test_mask_overlap_counts_pixels_at_each_threshold():
    probability = np.array([[[0.9, 0.6], [0.3, 0.0]]])
    mask = np.array([[[1, 0], [1, 0]]])
    intersection, union = mask_overlap(probability, mask, [0.5, 0.2, 0.95])
    # >= 0.5: {0.9, 0.6} vs mask {0.9, 0.3}: 1 shared, 3 in the union.
    # >= 0.2: {0.9, 0.6, 0.3}: 2 shared, 3; >= 0.95: none: 0, 2.
    np.testing.assert_array_equal(intersection, [[1, 2, 0]])
    np.testing.assert_array_equal(union, [[3, 3, 2]])


def test_map_to_input_follows_the_map_grid():
    # Map pixel i sits at input pixel 2 i: input pixel 1 is between map
    # pixels 0 and 1, input pixel 2 is map pixel 1.
    maps = np.array([[[0.0, 1.0, 0.0]]], np.float32)
    up = map_to_input(maps, (6, 1))
    np.testing.assert_allclose(up[0, 0], [0, 0.5, 1, 0.5, 0, 0], atol=1e-6)


def _sample(g1, mask):
    return dict(structure_maps=np.stack([g1, 1 - g1]),
                gt_hand_mask=np.asarray(mask, bool))


def test_metric_on_a_hand_computed_case():
    # 4 x 4 maps at the input size (stride 1): the left half is hand.
    mask = np.zeros((4, 4), bool)
    mask[:, :2] = True
    exact = _sample(mask.astype(np.float32), mask)
    # Predicts columns 0-2 at 0.7 and column 3 at 0.2: at 0.5, 8 shared of
    # 12 in the union; from 0.75 on nothing is predicted (IoU 0); at 0.2
    # everything is (8 / 16).
    wide = np.full((4, 4), 0.7, np.float32)
    wide[:, 3] = 0.2
    metric = MaskIoUMetric(thresholds=[0.2, 0.5, 0.75])
    metric.process({}, [exact, _sample(wide, mask)])
    result = metric.compute_metrics(metric.results)
    assert result['IoU@0.5'] == pytest.approx((1 + 8 / 12) / 2)
    assert result['IoU_best'] == pytest.approx((1 + 8 / 12) / 2)
    assert result['IoU_best_threshold'] == pytest.approx(0.5)
    # The other channel (1 - G1) covers the background: IoU 0 at 0.5.
    other = MaskIoUMetric(channel=1, thresholds=[0.5])
    other.process({}, [exact])
    assert other.compute_metrics(other.results)['IoU@0.5'] == 0


def test_missing_maps_or_mask_name_the_fix():
    metric = MaskIoUMetric()
    with pytest.raises(KeyError, match='output_maps=True'):
        metric.process({}, [dict(gt_hand_mask=np.zeros((4, 4)))])
    with pytest.raises(KeyError, match='hand_mask'):
        metric.process({}, [dict(structure_maps=np.zeros((1, 4, 4)))])
