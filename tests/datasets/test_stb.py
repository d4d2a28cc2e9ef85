"""STBDataset on tiny label files in STB's format."""
import cv2
import numpy as np
import pytest
import scipy.io

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.stb import (STB_SK_ROTATION_VECTOR,
                                  STB_SK_TRANSLATION_MM, STB_SPLIT_SEQUENCES,
                                  STBDataset)
from handkit.geometry import project_points

NUM_FRAMES = 2
# STB order: palm, little MCP..tip, ring, middle, index, thumb (base first).
STB_TIPS = {'little': 4, 'ring': 8, 'middle': 12, 'index': 16, 'thumb': 20}
HANDKIT_TIPS = {'thumb': 4, 'index': 8, 'middle': 12, 'ring': 16,
                'little': 20}


def _stb_joints():
    """(N, 21, 3) joints in STB order; tips and palm at known places."""
    rng = np.random.default_rng(2)
    joints = np.empty((NUM_FRAMES, 21, 3))
    joints[..., :2] = rng.uniform(-80, 80, (NUM_FRAMES, 21, 2))
    joints[..., 2] = rng.uniform(400, 700, (NUM_FRAMES, 21))
    for number, tip in enumerate(STB_TIPS.values(), start=1):
        joints[0, tip] = [10.0 * number, -5.0 * number, 500.0 + number]
    joints[0, 0] = [0.0, 0.0, 500.0]  # palm centre
    joints[0, 17] = [100.0, 50.0, 1000.0]  # thumb MCP
    return joints


def _write_labels(root, sequence='B1Counting', kind='BB', joints=None,
                  key='handPara'):
    labels = root / 'labels'
    labels.mkdir(exist_ok=True)
    (root / 'images' / sequence).mkdir(parents=True, exist_ok=True)
    joints = _stb_joints() if joints is None else joints
    scipy.io.savemat(str(labels / f'{sequence}_{kind}.mat'),
                     {key: joints.transpose(2, 1, 0)})  # 3 x 21 x N
    return joints


def test_count_shapes_and_paths(tmp_path):
    _write_labels(tmp_path, 'B1Counting', 'SK')
    _write_labels(tmp_path, 'B1Random', 'SK')
    dataset = STBDataset(str(tmp_path), split='test')
    assert len(dataset) == 2 * NUM_FRAMES
    info = dataset.get_data_info(NUM_FRAMES + 1)
    assert info['img_path'].endswith('images/B1Random/SK_color_1.png')
    assert info['depth_path'].endswith('images/B1Random/SK_depth_1.png')
    assert info['img_id'] == 'B1Random/1'
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints_3d'].shape == (21, 3)
    assert info['keypoints_visible'].shape == (21, )
    assert info['keypoints_3d'].dtype == np.float32
    assert dataset.metainfo['root_joint'] == 'palm_center'
    assert info['hand_side'] == 'left'  # STB films a left hand


def test_finger_tips_and_palm_land_at_handkit_indices(tmp_path):
    joints = _write_labels(tmp_path)
    info = STBDataset(str(tmp_path), sequences=['B1Counting'],
                      camera='BB_left').get_data_info(0)
    for finger, stb_index in STB_TIPS.items():
        np.testing.assert_allclose(
            info['keypoints_3d'][HANDKIT_TIPS[finger]], joints[0, stb_index],
            err_msg=finger)
    np.testing.assert_allclose(info['keypoints_3d'][0], [0.0, 0.0, 500.0])
    np.testing.assert_allclose(info['keypoints_3d'][1], [100.0, 50.0, 1000.0])
    assert 'depth_path' not in info
    assert info['img_path'].endswith('images/B1Counting/BB_left_0.png')


def test_bb_projection_by_hand_and_consistency(tmp_path):
    _write_labels(tmp_path)
    dataset = STBDataset(str(tmp_path), sequences=['B1Counting'],
                         camera='BB_left')
    info = dataset.get_data_info(0)
    # Palm on the optical axis -> the principal point.
    np.testing.assert_allclose(info['keypoints'][0], [318.47345, 250.31296],
                               atol=1e-3)
    # Thumb MCP (100, 50, 1000): u = cx + 822.79041 / 10, v = cy + 41.1395.
    np.testing.assert_allclose(info['keypoints'][1], [400.752491, 291.452481],
                               atol=1e-3)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        np.testing.assert_allclose(
            project_points(info['keypoints_3d'], info['cam_K']),
            info['keypoints'], atol=1e-2)
        np.testing.assert_allclose(info['bbox'][:2], info['keypoints'].min(0))


def test_bb_right_shifts_by_the_baseline(tmp_path):
    joints = _write_labels(tmp_path)
    info = STBDataset(str(tmp_path), sequences=['B1Counting'],
                      camera='BB_right').get_data_info(0)
    np.testing.assert_allclose(info['keypoints_3d'][0],
                               [-120.054, 0.0, 500.0], atol=1e-4)
    np.testing.assert_allclose(info['keypoints_3d'][4],
                               joints[0, 20] - [120.054, 0, 0], atol=1e-4)
    assert info['img_path'].endswith('BB_right_0.png')


def test_sk_joints_move_from_depth_to_color_camera(tmp_path):
    # A point at (10, 20, 500) mm in the colour frame sits at R c + T in the
    # depth frame (README: the extrinsics map colour to depth).
    rotation, _ = cv2.Rodrigues(STB_SK_ROTATION_VECTOR)
    color_point = np.array([10.0, 20.0, 500.0])
    joints = _stb_joints()
    joints[0, 0] = rotation @ color_point + STB_SK_TRANSLATION_MM
    _write_labels(tmp_path, kind='SK', joints=joints)
    info = STBDataset(str(tmp_path), sequences=['B1Counting'],
                      camera='SK').get_data_info(0)
    np.testing.assert_allclose(info['keypoints_3d'][0], color_point,
                               atol=1e-3)
    # u = 314.78337 + 607.92271 * 10 / 500, v = 236.42484 + 607.88192 / 25.
    np.testing.assert_allclose(info['keypoints'][0],
                               [326.941824, 260.740117], atol=1e-3)


def test_default_split_sequences():
    assert STB_SPLIT_SEQUENCES['test'] == ('B1Counting', 'B1Random')
    assert len(STB_SPLIT_SEQUENCES['train']) == 10
    assert 'B6Random' in STB_SPLIT_SEQUENCES['train']
    assert not any(name.startswith('B1')
                   for name in STB_SPLIT_SEQUENCES['train'])


def test_mat_without_handpara_names_file_and_key(tmp_path):
    _write_labels(tmp_path, key='joints')
    with pytest.raises(AnnotationError,
                       match=r"B1Counting_BB\.mat: no key 'handPara'"):
        STBDataset(str(tmp_path), sequences=['B1Counting'], camera='BB_left')


def test_handpara_of_wrong_shape_names_the_shape(tmp_path):
    labels = tmp_path / 'labels'
    labels.mkdir()
    (tmp_path / 'images' / 'B1Counting').mkdir(parents=True)
    scipy.io.savemat(str(labels / 'B1Counting_BB.mat'),
                     {'handPara': np.ones((21, 3, NUM_FRAMES))})
    with pytest.raises(AnnotationError,
                       match=r"'handPara' must be 3 x 21 x frames, got "
                       r'\(21, 3, 2\)'):
        STBDataset(str(tmp_path), sequences=['B1Counting'], camera='BB_left')


def test_missing_label_file_and_bad_arguments(tmp_path):
    _write_labels(tmp_path, 'B1Counting', 'SK')
    with pytest.raises(DataRootNotFoundError, match='B1Random_SK.mat'):
        STBDataset(str(tmp_path), split='test')
    with pytest.raises(ValueError, match='camera must be one of'):
        STBDataset(str(tmp_path), camera='BB')
    with pytest.raises(ValueError, match='sequences must be a non-empty'):
        STBDataset(str(tmp_path), sequences='B1Counting')
