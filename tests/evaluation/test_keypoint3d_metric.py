"""Keypoint3DMetric and NYUMetric against hand-computed values."""
import numpy as np
import pytest

from handkit.evaluation.metrics import (Keypoint3DMetric, NYUMetric,
                                        format_metric_tables)
from handkit.registry import METRICS


def two_samples():
    """Root-relative errors: A (0, 0, 30), B (0, 40, -) with B's joint 2
    unlabelled; 2D errors: 5 px per joint of A, 0 for B."""
    gt_a = np.array([[0, 0, 0], [10, 0, 0], [0, 20, 0]], np.float64)
    pred_a = gt_a + [5, 0, 0]
    pred_a[2, 2] += 30
    gt_b = np.array([[100, 100, 100], [100, 120, 100], [100, 140, 100]],
                    np.float64)
    pred_b = gt_b.copy()
    pred_b[1, 1] += 40
    pred_b[2] = 0  # unlabelled: ignored
    return [
        dict(pred_keypoints_3d=pred_a, gt_keypoints_3d=gt_a,
             gt_keypoints_visible=np.ones(3),
             pred_keypoints=np.full((3, 2), [3.0, 4.0]),
             gt_keypoints=np.zeros((3, 2))),
        dict(pred_keypoints_3d=pred_b, gt_keypoints_3d=gt_b,
             gt_keypoints_visible=np.array([1.0, 1.0, 0.0]),
             pred_keypoints=np.ones((3, 2)), gt_keypoints=np.ones((3, 2))),
    ]


def evaluate(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_keypoint3d_metric_hand_computed():
    metric = METRICS.build(dict(type='Keypoint3DMetric',
                                pck_thresholds_mm=(20, 30, 40),
                                mean_pose_baseline=True))
    metrics = evaluate(metric, two_samples())
    assert metrics['EPE_3D'] == pytest.approx(70 / 5)  # (30 + 40) / 5 joints
    assert metrics['PCK3D@20mm'] == pytest.approx(0.6)
    assert metrics['PCK3D@30mm'] == pytest.approx(0.8)
    assert metrics['PCK3D@40mm'] == pytest.approx(1.0)
    # PCK is 0.6 on [20, 30), 0.8 on [30, 40), 1 from 40, sampled every mm:
    # (9 * 0.6 + 0.7 + 9 * 0.8 + 0.9 + 10 * 1) / 30
    assert metrics['AUC_20-50'] == pytest.approx(24.2 / 30)
    assert metrics['EPE_2D'] == pytest.approx(15 / 5)
    # mean pose: joint 1 at (5, 10, 0), sqrt(125) mm from both samples' joint 1
    assert metrics['EPE_3D_mean_pose'] == pytest.approx(2 * np.sqrt(125) / 5)
    assert all(type(value) is float for value in metrics.values())


def test_keypoint3d_metric_thresholds_from_metainfo_and_absolute_mode():
    metric = Keypoint3DMetric(root_relative=False, auc_range=(0, 10))
    metric.dataset_meta = dict(pck_thresholds_mm=[45])
    metrics = evaluate(metric, two_samples()[:1])
    # absolute errors of A: 5, 5, sqrt(25 + 900)
    assert metrics['EPE_3D'] == pytest.approx((10 + np.sqrt(925)) / 3)
    assert set(metrics) == {'EPE_3D', 'AUC_0-10', 'PCK3D@45mm', 'EPE_2D'}
    assert metrics['PCK3D@45mm'] == pytest.approx(1.0)
    assert Keypoint3DMetric().resolved_thresholds() == [20, 25, 30, 35, 40,
                                                        45, 50]


def test_keypoint3d_metric_bone_mode():
    gt = np.random.default_rng(0).normal(0, 50, (21, 3))
    pred = gt + 7.0  # a translation leaves every bone unchanged
    pred[4] += [6, 0, 0]  # thumb tip: bone 3 (3 -> 4) is 6 mm off
    pred[5] += [0, 8, 0]  # index base: bones 4 (0 -> 5) and 5 (5 -> 6)
    metric = Keypoint3DMetric(mode='bone')
    metrics = evaluate(metric, [dict(pred_keypoints_3d=pred,
                                     gt_keypoints_3d=gt)])
    assert metrics['EPE_3D'] == pytest.approx((6 + 8 + 8) / 20)
    with pytest.raises(ValueError, match="mode='bone'\\) needs 21 joints"):
        evaluate(Keypoint3DMetric(mode='bone'), two_samples())


def test_keypoint3d_metric_errors():
    with pytest.raises(ValueError, match='mode must be one of'):
        Keypoint3DMetric(mode='bones')
    with pytest.raises(KeyError, match="no 'pred_keypoints_3d'"):
        Keypoint3DMetric().process({}, [dict(gt_keypoints_3d=np.zeros((3,
                                                                       3)))])


def test_nyu_metric_hand_computed():
    gt = np.zeros((2, 3))
    frame_a = dict(gt_keypoints_3d=gt, pred_keypoints_3d=np.array(
        [[5.0, 0, 0], [0, 15.0, 0]]))
    frame_b = dict(gt_keypoints_3d=gt, pred_keypoints_3d=np.array(
        [[0, 0, 25.0], [0, 0, 0]]))
    metrics = evaluate(NYUMetric(thresholds_mm=(10, 20, 30)),
                       [frame_a, frame_b])
    assert metrics == {'mean_error': pytest.approx(45 / 4),
                       'frames_within_10mm': 0.0,
                       'frames_within_20mm': 0.5,
                       'frames_within_30mm': 1.0}


def test_metrics_score_the_dataset_eval_joints_of_a_larger_prediction():
    # 4 joints predicted; the dataset's metainfo says joints 0 and 2 count.
    gt = np.zeros((4, 3))
    pred = np.array([[3.0, 4, 0], [100.0, 0, 0], [0, 0, 10.0], [0, 50.0, 0]])
    sample = dict(gt_keypoints_3d=gt, pred_keypoints_3d=pred,
                  gt_keypoints=np.zeros((4, 2)),
                  pred_keypoints=np.array([[1.0, 0], [9, 9], [0, 3], [9, 9]]))
    nyu = NYUMetric(thresholds_mm=(10, ))
    nyu.dataset_meta = dict(eval_keypoint_indices=[0, 2])
    assert evaluate(nyu, [sample]) == {'mean_error': pytest.approx(7.5),
                                       'frames_within_10mm': 1.0}
    metric = Keypoint3DMetric(root_relative=False, pck_thresholds_mm=(20, ))
    metric.dataset_meta = dict(eval_keypoint_indices=[0, 2])
    metrics = evaluate(metric, [sample])
    assert metrics['EPE_3D'] == pytest.approx(7.5)
    assert metrics['EPE_2D'] == pytest.approx(2.0)
    # an explicit joint_indices wins over the metainfo
    explicit = NYUMetric(thresholds_mm=(10, ), joint_indices=[1])
    explicit.dataset_meta = dict(eval_keypoint_indices=[0, 2])
    assert evaluate(explicit, [sample])['mean_error'] == pytest.approx(100)
    with pytest.raises(ValueError, match=r'joint indices \[7\] do not fit '
                       'predictions of 4 joints'):
        evaluate(NYUMetric(joint_indices=[7]), [sample])
    with pytest.raises(ValueError, match="mode='bone' .* no joint_indices"):
        Keypoint3DMetric(mode='bone', joint_indices=[0])


def test_tables():
    """Each metric formats its own row (tools/test.py prints them)."""
    metrics = {'EPE_3D': 12.345, 'AUC_20-50': 0.8, 'PCK3D@20mm': 0.5,
               'PCK3D@30mm': 0.75}
    lines = format_metric_tables([Keypoint3DMetric()], 'ResUnet',
                                 metrics).splitlines()
    assert lines[0].split() == ['model', 'EPE_3D(mm)', 'AUC_20-50',
                                'PCK3D@20mm', 'PCK3D@30mm', 'PCK3D@40mm',
                                'PCK3D@50mm']
    assert lines[1].split() == ['ResUnet', '12.35', '0.8000', '50.00',
                                '75.00', '-', '-']
    nyu = format_metric_tables([NYUMetric(thresholds_mm=[10])], 'HG',
                               {'mean_error': 12.36,
                                'frames_within_10mm': 0.25})
    assert nyu.splitlines()[0].split() == ['model', 'mean_error(mm)', '10mm']
    assert nyu.splitlines()[1].split() == ['HG', '12.36', '25.00']


def test_scale_bone_aligns_each_prediction_to_the_true_bone():
    """Zimmermann & Brox's root-and-scale alignment (Zhou et al.'s AUC)."""
    gt = np.array([[0, 0, 0], [0, 80, 0], [30, 80, 0]], np.float64)
    # the right shape at half the size, shifted: aligned, no error at all
    half = gt / 2 + [7, 7, 7]
    # twice the size, then joint 2 off by 10 mm (5 mm after the scaling)
    double = gt * 2
    double[2, 0] += 10
    samples = [dict(pred_keypoints_3d=pred, gt_keypoints_3d=gt,
                    gt_keypoints_visible=np.ones(3))
               for pred in (half, double)]
    aligned = evaluate(Keypoint3DMetric(scale_bone=(0, 1),
                                        pck_thresholds_mm=(20, )), samples)
    assert aligned['EPE_3D'] == pytest.approx(5 / 6)
    plain = evaluate(Keypoint3DMetric(pck_thresholds_mm=(20, )), samples)
    assert plain['EPE_3D'] > 40
    # a prefix reports it beside the unaligned metric
    metric = Keypoint3DMetric(scale_bone=(0, 1), prefix='aligned')
    metric.process({}, samples)
    assert 'aligned/EPE_3D' in metric.evaluate(2)


def test_scale_bone_arguments_are_checked():
    with pytest.raises(ValueError, match='needs root_relative=True'):
        Keypoint3DMetric(root_relative=False, scale_bone=(0, 9))
    with pytest.raises(ValueError, match='mean_pose_baseline=False'):
        Keypoint3DMetric(scale_bone=(0, 9), mean_pose_baseline=True)
    with pytest.raises(ValueError, match='two different joints'):
        Keypoint3DMetric(scale_bone=(9, 9))
    metric = Keypoint3DMetric(scale_bone=(0, 9))
    with pytest.raises(ValueError, match=r'scale_bone \(0, 9\) does not fit '
                       '3 joints'):
        evaluate(metric, two_samples())


def _zb_hand(seed=0, scale=1.0):
    """(21, 3) mm joints of a random hand, its 9 -> 10 bone 30 mm x scale."""
    rng = np.random.default_rng(seed)
    joints = rng.normal(0, 40, (21, 3))
    direction = rng.normal(size=3)
    joints[10] = joints[9] + 30 * direction / np.linalg.norm(direction)
    return joints * scale


def test_zimmermann_brox_rhd_preset_hand_computed():
    """Every point but the palm off by 30 mm: their per-keypoint curve on
    linspace(0, 50, 20) is a step between 28.95 and 31.58 mm."""
    samples = []
    for seed, scale in ((0, 1.0), (1, 1.3)):
        gt = _zb_hand(seed, scale) + [5, -7, 400]
        palm = 0.5 * (gt[0] + gt[9])
        # a palm-rooted read-out (NormalizedPose3D(palm_root=True)); the
        # preset puts its joint 0 (the wrist's slot) at the palm, the origin
        points = gt - palm + np.array([0, 30.0, 0])
        bone = np.linalg.norm(gt[10] - gt[9])
        samples.append(dict(pred_keypoints_3d=np.zeros((21, 3)),
                            pred_keypoints_3d_normalized=points / bone,
                            gt_keypoints_3d=gt,
                            gt_keypoints_visible=np.ones(21)))
    metric = Keypoint3DMetric(protocol='zimmermann_brox_rhd',
                              pck_thresholds_mm=(20, 31, 40))
    metrics = evaluate(metric, samples)
    step = 50 / 19
    # the palm: error 0, PCK 1 everywhere; 20 points: 0 up to index 11
    area_full = (50 + 20 * 7.5 * step) / 21 / 50
    low = 8 * step
    area_subset = ((50 - low) + 20 * 7.5 * step) / 21 / (50 - low)
    assert metrics['AUC_0-50'] == pytest.approx(area_full)
    assert metrics['AUC_20-50'] == pytest.approx(area_subset)
    assert metrics['EPE_3D'] == pytest.approx(20 * 30 / 21)
    assert metrics['EPE_3D_median'] == pytest.approx(20 * 30 / 21)
    assert metrics['PCK3D@20mm'] == pytest.approx(1 / 21)
    assert metrics['PCK3D@31mm'] == pytest.approx(1.0)


def test_zimmermann_brox_rhd_preset_refuses_a_palm_rooted_dataset():
    """RHDDataset(root_joint='palm_center') already has the palm in joint 0:
    the RHD preset would take the midpoint of palm and middle MCP."""
    gt = _zb_hand(0)
    sample = dict(pred_keypoints_3d=gt, pred_keypoints_3d_normalized=gt,
                  gt_keypoints_3d=gt, gt_keypoints_visible=np.ones(21))
    metric = Keypoint3DMetric(protocol='zimmermann_brox_rhd')
    metric.dataset_meta = dict(root_joint='palm_center')
    metric.process({}, [sample])
    with pytest.raises(ValueError, match="already the palm.*"
                       "'zimmermann_brox_stb'"):
        metric.evaluate(1)


def test_zimmermann_brox_mean_pose_is_scale_free():
    """Hands of one shape at different sizes: the mean scale-free pose times
    each hand's bone is exact; a second shape makes it err."""
    def sample(joints):
        return dict(pred_keypoints_3d=joints,
                    pred_keypoints_3d_normalized=joints / 30,
                    gt_keypoints_3d=joints, gt_keypoints_visible=np.ones(21))

    same = [sample(_zb_hand(0, s)) for s in (0.8, 1.0, 1.2)]
    metric = Keypoint3DMetric(protocol='zimmermann_brox_stb',
                              mean_pose_baseline=True)
    assert evaluate(metric, same)['EPE_3D_mean_pose'] == pytest.approx(
        0, abs=1e-9)
    other = same + [sample(_zb_hand(5))]
    metric = Keypoint3DMetric(protocol='zimmermann_brox_stb',
                              mean_pose_baseline=True)
    assert evaluate(metric, other)['EPE_3D_mean_pose'] > 1


@pytest.mark.parametrize('kwargs, match', [
    (dict(protocol='zb'), 'protocol must be one of'),
    # handkit's former approximation of their protocol is gone (issue 22)
    (dict(protocol='zimmermann_brox'), 'protocol must be one of'),
    (dict(protocol='zimmermann_brox_rhd', scale_bone=(0, 9)),
     'no scale_bone'),
    (dict(protocol='zimmermann_brox_rhd', mode='bone'), "mode='joints'"),
])
def test_zimmermann_brox_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Keypoint3DMetric(**kwargs)
