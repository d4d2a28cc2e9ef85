"""3D metrics against hand-computed values."""
import numpy as np
import pytest

from handkit.evaluation.functional3d import (auc_3d, epe, joint_errors,
                                             nyu_success_fraction, pck_3d,
                                             pck_curve_3d, root_relative)


def _offset_along_x(errors_mm):
    """(gt, pred) whose joint j of frame n is errors_mm[n][j] away along x."""
    errors = np.asarray(errors_mm, dtype=np.float64)
    # Integer coordinates keep the offsets exact (errors at a threshold).
    gt = np.random.default_rng(0).integers(-100, 100, errors.shape + (3, ))
    gt = gt.astype(np.float64)
    pred = gt.copy()
    pred[..., 0] += errors
    return gt, pred


# 2 frames, 3 joints, errors 10 / 30 / 60 mm in both.
ERRORS = [[10.0, 30.0, 60.0], [10.0, 30.0, 60.0]]


def test_joint_errors_and_epe_by_hand():
    gt, pred = _offset_along_x(ERRORS)
    np.testing.assert_allclose(joint_errors(pred, gt), ERRORS)
    assert epe(pred, gt) == pytest.approx(100.0 / 3.0)
    # Only the 10 mm and 60 mm joints of frame 0 and the 30 mm of frame 1.
    visible = np.array([[1, 0, 1], [0, 1, 0]])
    assert epe(pred, gt, visible) == pytest.approx(100.0 / 3.0)
    visible = np.array([[1, 1, 0], [1, 1, 0]])
    assert epe(pred, gt, visible) == pytest.approx(20.0)


def test_epe_2d_pixels_uses_euclidean_distance():
    gt = np.zeros((1, 2, 2))
    pred = np.array([[[3.0, 4.0], [6.0, 8.0]]])
    assert epe(pred, gt) == pytest.approx(7.5)


def test_epe_nan_when_nothing_visible():
    gt, pred = _offset_along_x(ERRORS)
    assert np.isnan(epe(pred, gt, np.zeros((2, 3))))


def test_root_relative_subtracts_root_joint():
    joints = np.arange(2 * 3 * 3, dtype=np.float64).reshape(2, 3, 3)
    relative = root_relative(joints, root=1)
    np.testing.assert_allclose(relative[:, 1], 0.0)
    np.testing.assert_allclose(relative[0, 0], [-3.0, -3.0, -3.0])
    np.testing.assert_allclose(relative[1, 2], [3.0, 3.0, 3.0])
    np.testing.assert_allclose(root_relative(joints)[:, 0], 0.0)
    with pytest.raises(ValueError, match='root index 5'):
        root_relative(joints, root=5)


def test_pck_3d_counts_errors_at_the_threshold():
    gt, pred = _offset_along_x(ERRORS)
    np.testing.assert_allclose(
        pck_3d(pred, gt, None, [5, 10, 29.9, 30, 59, 60]),
        [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])


def test_pck_3d_skips_invisible_joints():
    gt, pred = _offset_along_x(ERRORS)
    visible = np.array([[0, 1, 1], [0, 1, 0]])  # errors 30, 60, 30
    np.testing.assert_allclose(pck_3d(pred, gt, visible, [20, 30, 60]),
                               [0, 2 / 3, 1])
    assert np.isnan(pck_3d(pred, gt, np.zeros((2, 3)), [20])).all()


def test_auc_3d_by_hand():
    # PCK is 1/3 below 30 mm and 2/3 from 30 mm on. Thresholds 20, 21, ...,
    # 50: trapezoids give 9 x 1/3 over [20, 29], (1/3 + 2/3) / 2 over
    # [29, 30] and 20 x 2/3 over [30, 50] = 101/6; divided by 30: 101/180.
    gt, pred = _offset_along_x(ERRORS)
    assert auc_3d(pred, gt) == pytest.approx(101.0 / 180.0)
    thresholds, curve = pck_curve_3d(pred, gt)
    np.testing.assert_allclose(thresholds, np.arange(20, 51))
    assert curve[9] == pytest.approx(1 / 3) and curve[10] == pytest.approx(
        2 / 3)


def test_auc_3d_extremes_and_range_check():
    gt, pred = _offset_along_x([[1.0, 2.0]])
    assert auc_3d(pred, gt) == pytest.approx(1.0)
    gt, pred = _offset_along_x([[51.0, 80.0]])
    assert auc_3d(pred, gt) == pytest.approx(0.0)
    with pytest.raises(ValueError, match='high > low'):
        auc_3d(pred, gt, low=50, high=20)


def test_nyu_success_fraction_uses_worst_joint():
    # Worst joints: 60 mm in frame 0, 25 mm in frame 1.
    gt, pred = _offset_along_x([[10.0, 30.0, 60.0], [5.0, 15.0, 25.0]])
    np.testing.assert_allclose(
        nyu_success_fraction(pred, gt, [20, 25, 59, 60, 80]),
        [0, 0.5, 0.5, 1, 1])


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r'\(2, 3, 3\) and \(2, 4, 3\)'):
        epe(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r'visible must be \(N, J\)'):
        pck_3d(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), np.ones((3, 2)),
               [20])
