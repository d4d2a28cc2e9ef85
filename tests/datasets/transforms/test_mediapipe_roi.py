"""MediaPipeHandROI crops a hand as MediaPipe's tracking does: the wrist ->
middle finger direction points up in the crop, whatever the hand's angle
in the image."""
import numpy as np
import pytest

from handkit.datasets.transforms import (MediaPipeHandROI, RandomAffine,
                                         TopdownAffine)
from handkit.datasets.transforms.mediapipe_roi import landmarks_to_roi


def _hand(angle_deg, center=(200.0, 150.0), scale=40.0):
    """A flat upright hand (fingers up, wrist down) turned by ``angle_deg``
    (counter-clockwise as displayed) about ``center``."""
    upright = np.zeros((21, 2))
    upright[0] = (0, 1.0)  # wrist
    for finger, x in enumerate((-0.8, -0.4, 0.0, 0.4, 0.8)):
        for joint in range(4):
            upright[1 + 4 * finger + joint] = (x, -0.2 - 0.4 * joint)
    theta = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(theta), np.sin(theta)],
                    [-np.sin(theta), np.cos(theta)]])
    return (upright * scale) @ rot.T + np.asarray(center)


@pytest.mark.parametrize('angle', [0.0, 35.0, -90.0, 150.0])
def test_the_crop_is_upright_for_any_angle(angle):
    keypoints = _hand(angle).astype(np.float32)
    results = MediaPipeHandROI().transform(dict(
        keypoints=keypoints, keypoints_visible=np.ones(21, np.float32),
        bbox=np.array([0, 0, 10, 10], np.float32)))
    assert results['bbox_rotation'] == pytest.approx(
        (-angle + 180) % 360 - 180, abs=1e-4)
    results['img'] = np.zeros((300, 400, 3), np.uint8)
    warped = TopdownAffine(input_size=(224, 224)).transform(results)
    points = warped['transformed_keypoints']
    direction = points[9] - points[0]  # wrist -> middle MCP
    assert np.degrees(np.arctan2(direction[0], -direction[1])) == \
        pytest.approx(0.0, abs=1e-3)
    # the crop is the landmark ROI, centred on the hand's palm region
    center, size, _ = landmarks_to_roi(keypoints[None])
    np.testing.assert_allclose(results['bbox_center'], center[0], rtol=1e-5)
    assert results['bbox_size'] == pytest.approx(size[0], rel=1e-5)


def test_unlabelled_keypoints_and_random_rotation_add_up():
    keypoints = _hand(60.0).astype(np.float32)
    visible = np.ones(21, np.float32)
    visible[[4, 8]] = 0
    keypoints[[4, 8]] = 0  # unlabelled: their values mean nothing
    results = MediaPipeHandROI().transform(dict(
        keypoints=keypoints, keypoints_visible=visible,
        bbox=np.array([0, 0, 10, 10], np.float32)))
    upright = results['bbox_rotation']
    np.random.seed(0)
    augmented = RandomAffine(rotate_range=15.0, scale_range=(1.0, 1.0),
                             shift_ratio=0.0).transform(dict(results))
    assert abs(augmented['bbox_rotation'] - upright) <= 15.0
    assert augmented['bbox_rotation'] != upright
    # fewer than 2 labelled keypoints: the bbox, upright
    none = MediaPipeHandROI().transform(dict(
        keypoints=keypoints, keypoints_visible=np.zeros(21, np.float32),
        bbox=np.array([10, 20, 50, 40], np.float32)))
    np.testing.assert_allclose(none['bbox_center'], [30, 30])
    assert none['bbox_size'] == 80.0 and none['bbox_rotation'] == 0.0
