"""PCK curves: values from handkit's PCK, PNGs of the requested size."""
import cv2
import numpy as np
import pytest

from handkit.visualization.plots import pck_curve, plot_pck_curves


def offset_hand():
    """One hand whose keypoint k is k pixels right of its ground truth.

    The ground truth spans x = 0..100 (y = 0), so the normaliser (max side
    of the tightest keypoint box) is 100.
    """
    gt = np.stack([np.linspace(0, 100, 21), np.zeros(21)], axis=1)[None]
    pred = gt + np.stack([np.arange(21.0), np.zeros(21)], axis=1)[None]
    return pred, gt, np.ones((1, 21))


def test_pck_curve_counts_keypoints_under_each_threshold():
    pred, gt, visible = offset_hand()
    thresholds, values = pck_curve(pred, gt, visible,
                                   thresholds=[0.0, 0.05, 0.1, 0.205])
    np.testing.assert_allclose(thresholds, [0.0, 0.05, 0.1, 0.205])
    # distance k < t x 100 (strictly): 0, 5, 10 and 21 of 21 keypoints
    np.testing.assert_allclose(values, np.array([0, 5, 10, 21]) / 21)
    # an explicit normaliser of 50 halves every distance budget
    _, halved = pck_curve(pred, gt, visible, norm=[50.0],
                          thresholds=[0.1, 0.2])
    np.testing.assert_allclose(halved, np.array([5, 10]) / 21)
    thresholds, values = pck_curve(pred, gt, visible)
    assert thresholds.shape == values.shape == (41, )
    assert (thresholds[0], thresholds[-1]) == (0.0, 0.2)


def test_plot_writes_a_png_of_the_requested_size(tmp_path):
    pred, gt, visible = offset_hand()
    curves = {'CPM': pck_curve(pred, gt, visible),
              'NSRM': pck_curve(pred * 0.98, gt, visible)}
    out_file = tmp_path / 'plots' / 'pck.png'
    returned = plot_pck_curves(curves, out_file, title='Panoptic',
                               size=(320, 240))
    assert returned == out_file
    assert out_file.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    image = cv2.imread(str(out_file))
    assert image.shape == (240, 320, 3)
    assert image.std() > 10  # axes, text and curves, not a blank canvas


def test_plot_rejects_bad_curves(tmp_path):
    with pytest.raises(ValueError, match='no curves given'):
        plot_pck_curves({}, tmp_path / 'a.png')
    with pytest.raises(ValueError,
                       match="curve 'CPM' has 3 thresholds and 2 PCK values"):
        plot_pck_curves({'CPM': ([0, 0.1, 0.2], [0.5, 0.9])},
                        tmp_path / 'a.png')
    with pytest.raises(ValueError, match='at least 50 x 50'):
        plot_pck_curves({'CPM': ([0, 0.1], [0.5, 0.9])}, tmp_path / 'a.png',
                        size=(10, 10))
    assert not (tmp_path / 'a.png').exists()
