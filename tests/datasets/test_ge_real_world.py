"""GeRealWorldDataset on tiny files in the release's format.

The files are written as the release stores them (``params.mat``:
``image_path`` (N,) text, ``cam_param`` (N, 4) float64, ``bbox`` (N, 4)
int32, ``pose_root`` (N, 3) float32, ``pose_scale`` (1, N) uint8;
``pose_gt.mat``: ``pose_gt`` (N, 21, 3) float32, cm), with two 256 x 256
images.
"""
import cv2
import numpy as np
import pytest
import scipy.io

from handkit.datasets import GeRealWorldDataset
from handkit.datasets.base import AnnotationError, DataRootNotFoundError

# the release's first frame's camera and crop
CAMERA = [923.648, 923.759, 640.047, 362.336]
BOX = [380, 164, 493, 493]


def _joints():
    """(2, 21, 3) cm; the wrist of frame 0 on the camera's axis."""
    rng = np.random.default_rng(0)
    joints = rng.uniform(-8, 8, (2, 21, 3)).astype(np.float32)
    joints[..., 2] += 40.0
    joints[0, 0] = [0.0, 0.0, 40.0]
    joints[0, 12] = [4.0, -2.0, 50.0]  # middle tip
    return joints


def _write(root, joints=None, drop=None, cameras=None):
    joints = _joints() if joints is None else joints
    count = len(joints)
    (root / 'images').mkdir(parents=True, exist_ok=True)
    for index in range(count):
        cv2.imwrite(str(root / 'images' / f'{index:05d}.jpg'),
                    np.full((256, 256, 3), 90, np.uint8))
    params = dict(
        image_path=np.array([f'images/{index:05d}.jpg'
                             for index in range(count)]),
        cam_param=np.array(cameras if cameras is not None
                           else [CAMERA] * count, np.float64),
        bbox=np.array([BOX] * count, np.int32),
        pose_root=joints[:, 0],
        pose_scale=np.full((1, count), 5, np.uint8))
    if drop:
        params.pop(drop)
    scipy.io.savemat(str(root / 'params.mat'), params)
    scipy.io.savemat(str(root / 'pose_gt.mat'), dict(pose_gt=joints))
    return joints


def test_labels_in_mm_and_projected_into_the_crop(tmp_path):
    joints = _write(tmp_path)
    dataset = GeRealWorldDataset(str(tmp_path))
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info['img_path'] == str(tmp_path / 'images' / '00000.jpg')
    assert info['img_shape'] == (256, 256)
    assert info['hand_side'] == 'left'
    np.testing.assert_allclose(info['keypoints_3d'], joints[0] * 10.0,
                               rtol=1e-6)
    ratio = 256 / 493
    expected_k = np.array([[923.648 * ratio, 0, (640.047 - 380) * ratio],
                           [0, 923.759 * ratio, (362.336 - 164) * ratio],
                           [0, 0, 1]])
    np.testing.assert_allclose(info['cam_K'], expected_k, rtol=1e-6)
    # the wrist on the axis lands on the principal point of the crop
    np.testing.assert_allclose(info['keypoints'][0], [(640.047 - 380) * ratio,
                                                      (362.336 - 164) * ratio],
                               atol=1e-3)
    # the middle tip by hand: u = fx X / Z + u0 (cm or mm alike)
    np.testing.assert_allclose(
        info['keypoints'][12], [923.648 * ratio * 4 / 50 + expected_k[0, 2],
                                923.759 * ratio * -2 / 50 + expected_k[1, 2]],
        atol=1e-3)
    np.testing.assert_allclose(info['bbox'], np.concatenate([
        info['keypoints'].min(0), info['keypoints'].max(0)]))
    assert info['keypoints_visible'].tolist() == [1.0] * 21


def test_a_missing_key_names_the_file_and_key(tmp_path):
    _write(tmp_path, drop='bbox')
    with pytest.raises(AnnotationError) as error:
        GeRealWorldDataset(str(tmp_path))
    assert "params.mat: no key 'bbox'" in str(error.value)
    assert '\n' not in str(error.value)


def test_counts_that_disagree_name_the_key(tmp_path):
    _write(tmp_path, cameras=[CAMERA] * 3)
    with pytest.raises(AnnotationError,
                       match=r"'cam_param' has shape \(3, 4\), expected "
                       r'\(2, 4\)'):
        GeRealWorldDataset(str(tmp_path))


def test_a_missing_folder_shows_the_layout(tmp_path):
    with pytest.raises(DataRootNotFoundError) as error:
        GeRealWorldDataset(str(tmp_path / 'nowhere'))
    assert 'pose_gt.mat' in str(error.value)
    assert 'hand-graph-cnn' in str(error.value)
    with pytest.raises(ValueError, match='split'):
        GeRealWorldDataset(str(tmp_path), split='train')
