import numpy as np
import pytest

from handkit.evaluation.functional import (epe, keypoint_box_size, pck,
                                          pck_auc, pck_normaliser)


def _one_image():
    """3 keypoints; gt box 10 x 5 -> norm 10; errors 0.5, 1 and 3 px."""
    gt = np.array([[[0, 0], [10, 0], [0, 5]]], dtype=float)
    pred = gt + np.array([[[0.5, 0], [0, 1], [3, 0]]])
    return pred, gt, np.ones((1, 3))


def test_box_size_uses_labelled_keypoints_only():
    gt = np.array([[[0, 0], [10, 0], [0, 5], [100, 100]]], dtype=float)
    visible = np.array([[1, 1, 1, 0]])
    assert keypoint_box_size(gt, visible).tolist() == [10.0]
    assert keypoint_box_size(gt, np.zeros((1, 4))).tolist() == [0.0]


def test_pck_is_strictly_below_threshold():
    pred, gt, visible = _one_image()
    norm = keypoint_box_size(gt, visible)
    # 0.05 x 10 = 0.5: the 0.5 px error is not strictly below -> 0 correct.
    values = pck(pred, gt, visible, norm, [0.05, 0.051, 0.11, 0.31])
    np.testing.assert_allclose(values, [0, 1 / 3, 2 / 3, 1])


def test_pck_pools_keypoints_over_images_and_skips_unlabelled():
    pred, gt, visible = _one_image()
    pred2 = np.concatenate([pred, gt + 50])  # image 2: every error 70.7 px
    gt2 = np.concatenate([gt, gt])
    visible2 = np.array([[1, 1, 1], [1, 0, 0]])  # image 2: one labelled
    norm = np.array([10.0, 10.0])
    # 0.2 x 10 = 2 px: image 1 has 2 correct, image 2's one keypoint wrong.
    assert pck(pred2, gt2, visible2, norm, [0.2]).tolist() == [0.5]


def test_auc_and_epe_by_hand():
    pred, gt, visible = _one_image()
    norm = keypoint_box_size(gt, visible)
    # Curve at 0, .1, .2, .3, .4 of norm 10 is 0, 1/3, 2/3, 2/3 (3 px is not
    # below 3.0), 1 -> trapezoid / 0.4. Thresholds offset by 1e-9 so that
    # float rounding of 0.3 x 10 cannot flip the 3 px keypoint.
    auc = pck_auc(pred, gt, visible, norm - 1e-9, 0.0, 0.4, 5)
    expected = 0.1 * (0 + 2 * (1 / 3 + 2 / 3 + 2 / 3) + 1) / 2 / 0.4
    assert auc == pytest.approx(expected)
    assert epe(pred, gt, visible) == pytest.approx((0.5 + 1 + 3) / 3)


def test_shape_errors_name_the_shapes():
    pred, gt, visible = _one_image()
    with pytest.raises(ValueError, match=r'\(1, 3, 2\) and \(1, 2, 2\)'):
        pck(pred, gt[:, :2], visible, [10.0], [0.1])
    with pytest.raises(ValueError, match='visible must be'):
        epe(pred, gt, visible[:, :2])
    with pytest.raises(ValueError, match='high > low'):
        pck_auc(pred, gt, visible, [10.0], 0.2, 0.1)


def test_normaliser_falls_back_to_the_box_for_a_single_keypoint():
    gt = np.zeros((2, 3, 2))
    gt[0, :, 0] = [0, 4, 10]  # three labelled, box 10 wide
    gt[1, 0] = [5, 5]
    visible = np.array([[1, 1, 1], [1, 0, 0]])
    bbox = np.array([[0, 0, 80, 80], [0, 0, 40, 30]])
    assert pck_normaliser(gt, visible).tolist() == [10.0, 0.0]
    assert pck_normaliser(gt, visible, bbox).tolist() == [10.0, 40.0]
    # A zero-normaliser image is left out instead of scoring 0.
    pred = gt.copy()
    pred[0, :, 0] += 0.5
    assert pck(pred, gt, visible, [10.0, 0.0], [0.1]).tolist() == [1.0]
