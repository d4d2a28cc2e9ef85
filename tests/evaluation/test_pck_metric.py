import numpy as np
import pytest

from handkit.evaluation.metrics import PCKMetric, format_pck_table


def _sample(error):
    gt = np.zeros((21, 2))
    gt[:, 0] = np.arange(21) * 5.0  # box 100 x 0 -> norm 100
    return dict(pred_keypoints=gt + [error, 0], gt_keypoints=gt,
                gt_keypoints_visible=np.ones(21))


def test_metric_reports_dataset_thresholds_mean_auc_and_epe():
    metric = PCKMetric()
    metric.dataset_meta = dict(pck_thresholds=[0.04, 0.06, 0.08, 0.10, 0.12])
    # Errors 5 px and 9 px with norm 100: correct from 0.06 / 0.10 on.
    metric.process({}, [_sample(5.0), _sample(9.0)])
    result = metric.compute_metrics(metric.results)
    assert [result[f'PCK@{t}'] for t in ('0.04', '0.06', '0.08', '0.1',
                                          '0.12')] == [0, .5, .5, 1, 1]
    assert result['PCK_ave'] == pytest.approx(0.6)
    assert result['EPE'] == pytest.approx(7.0)
    # Curve over [0, 0.12]: 0 below 0.05, 0.5 on (0.05, 0.09], 1 after.
    assert 0.3 < result['AUC'] < 0.45


def test_explicit_thresholds_override_the_dataset():
    metric = PCKMetric(thresholds=[0.1, 0.2])
    metric.process({}, [_sample(15.0)])
    result = metric.compute_metrics(metric.results)
    assert result['PCK@0.1'] == 0 and result['PCK@0.2'] == 1


def test_missing_thresholds_is_a_clear_error():
    metric = PCKMetric()
    metric.process({}, [_sample(1.0)])
    with pytest.raises(ValueError, match='pck_thresholds'):
        metric.compute_metrics(metric.results)


def test_table_has_the_layout_of_nsrm_table_3():
    metrics = {'PCK@0.04': .5973, 'PCK@0.06': .7686, 'PCK@0.08': .8443,
               'PCK@0.1': .8823, 'PCK@0.12': .9087, 'PCK_ave': .8003}
    table = format_pck_table([('LPM-G1&6', metrics)],
                             [0.04, 0.06, 0.08, 0.10, 0.12])
    header, row = table.splitlines()
    assert header.split() == ['sigma_PCK', '0.04', '0.06', '0.08', '0.10',
                              '0.12', 'ave']
    assert row.split() == ['LPM-G1&6', '59.73', '76.86', '84.43', '88.23',
                           '90.87', '80.03']


def _single_keypoint_sample(error, bbox=None):
    """One labelled keypoint (the wrist at (30, 40)): its tightest box is a
    point, of size 0."""
    gt = np.zeros((21, 2))
    gt[0] = [30.0, 40.0]
    visible = np.zeros(21)
    visible[0] = 1
    sample = dict(pred_keypoints=gt + [error, 0], gt_keypoints=gt,
                  gt_keypoints_visible=visible)
    if bbox is not None:
        sample['bbox'] = np.asarray(bbox, np.float32)
    return sample


def test_single_labelled_keypoint_is_normalised_by_its_box():
    # Box 100 x 60 -> norm 100 (its longer side, x2 - x1): an error of 5 px
    # is correct from threshold 0.06 on; a perfect prediction everywhere.
    metric = PCKMetric(thresholds=[0.04, 0.06])
    metric.process({}, [_single_keypoint_sample(5.0, [0, 10, 100, 70])])
    result = metric.compute_metrics(metric.results)
    assert (result['PCK@0.04'], result['PCK@0.06']) == (0.0, 1.0)
    metric = PCKMetric(thresholds=[0.04])
    metric.process({}, [_single_keypoint_sample(0.0, [0, 10, 100, 70])])
    assert metric.compute_metrics(metric.results)['PCK@0.04'] == 1.0


def test_single_labelled_keypoint_without_a_box_is_left_out():
    # No usable normaliser: the sample does not count (it used to score 0
    # even when perfect); the other sample alone decides PCK.
    metric = PCKMetric(thresholds=[0.1])
    metric.process({}, [_single_keypoint_sample(0.0), _sample(5.0),
                        _single_keypoint_sample(0.0, [30, 40, 30, 40])])
    result = metric.compute_metrics(metric.results)
    assert result['PCK@0.1'] == 1.0
    assert result['EPE'] == pytest.approx(5.0 * 21 / 23)


def test_occluded_and_visible_keypoints_are_scored_apart():
    # thresholds 0.1, 0.2; norm 95, the box of the 20 labelled keypoints.
    gt = np.zeros((21, 2))
    gt[:, 0] = np.arange(21) * 5.0
    pred = gt.copy()
    occluded = np.zeros(21, bool)
    occluded[:4] = True
    pred[:4, 1] += 15.0   # occluded ones 15 px off: right at 0.2 only
    pred[4:6, 1] += 25.0  # two visible ones 25 px off: never right
    visible = np.ones(21)
    visible[20] = 0       # unlabelled: in neither part
    sample = dict(pred_keypoints=pred, gt_keypoints=gt,
                  gt_keypoints_visible=visible, gt_occluded=occluded)
    metric = PCKMetric(thresholds=[0.1, 0.2])
    metric.process({}, [sample])
    result = metric.compute_metrics(metric.results)
    assert result['PCK_ave_occluded'] == pytest.approx((0 + 1) / 2)
    # 16 labelled visible keypoints, 14 right at both thresholds
    assert result['PCK_ave_visible'] == pytest.approx(14 / 16)
    assert result['occluded_fraction'] == pytest.approx(4 / 20)
    # the normaliser stays that of all labelled keypoints (9.5 / 19 px)
    assert result['PCK@0.2'] == pytest.approx(18 / 20)


def test_no_occlusion_flags_no_split():
    metric = PCKMetric(thresholds=[0.1])
    metric.process({}, [_sample(1.0)])
    assert 'PCK_ave_occluded' not in metric.compute_metrics(metric.results)
