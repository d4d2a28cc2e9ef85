"""STBDataset on tiny label files in STB's format."""
import cv2
import numpy as np
import pytest
import scipy.io

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.stb import STB_SPLIT_SEQUENCES, STBDataset
from handkit.datasets.utils import (STB_SK_COLOR_CAMERA, STB_SK_DEPTH_CAMERA,
                                    STB_SK_ROTATION_VECTOR,
                                    STB_SK_TRANSLATION_MM, read_sk_depth,
                                    register_sk_depth_to_color)
from handkit.datasets.transforms import LoadSTBDepth
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


def _write_sk_depth(path, depth_mm):
    """An SK depth PNG as released: 8-bit, 3 channels, depth = R + 256 G
    (cv2 writes BGR)."""
    depth_mm = np.asarray(depth_mm, np.int64)
    image = np.zeros(depth_mm.shape + (3, ), np.uint8)
    image[..., 2] = depth_mm % 256  # R
    image[..., 1] = depth_mm // 256  # G
    assert cv2.imwrite(str(path), image)


def test_sk_depth_png_decodes_r_plus_256_g(tmp_path):
    depth = np.array([[0, 255, 256], [700, 1234, 65535]])
    _write_sk_depth(tmp_path / 'SK_depth_0.png', depth)
    np.testing.assert_array_equal(
        read_sk_depth(str(tmp_path / 'SK_depth_0.png')), depth)
    cv2.imwrite(str(tmp_path / 'grey.png'), np.zeros((2, 2), np.uint16))
    with pytest.raises(ValueError, match=r'grey.png: an STB SK depth image '
                       r'is an 8-bit 3-channel PNG \(depth = R \+ 256 G\), '
                       'found uint16 with 1 channel'):
        read_sk_depth(str(tmp_path / 'grey.png'))


def _color_pixel_of_depth_pixel(u, v, depth_mm):
    """The colour pixel and depth of depth pixel (u, v) at ``depth_mm``,
    through cv2.projectPoints: colour = R^T depth - R^T T."""
    depth_k = STB_SK_DEPTH_CAMERA
    point = np.array([[(u - depth_k['cx']) / depth_k['fx'] * depth_mm,
                       (v - depth_k['cy']) / depth_k['fy'] * depth_mm,
                       depth_mm]])
    rotation = cv2.Rodrigues(STB_SK_ROTATION_VECTOR)[0]
    color_k = STB_SK_COLOR_CAMERA
    k = np.array([[color_k['fx'], 0, color_k['cx']],
                  [0, color_k['fy'], color_k['cy']], [0, 0, 1.0]])
    pixel, _ = cv2.projectPoints(point, -STB_SK_ROTATION_VECTOR,
                                 -rotation.T @ STB_SK_TRANSLATION_MM, k,
                                 None)
    z = (rotation.T @ (point[0] - STB_SK_TRANSLATION_MM))[2]
    return pixel[0, 0], z


def test_registration_moves_one_pixel_where_the_cameras_say():
    depth = np.zeros((480, 640), np.float32)
    depth[239, 336] = 500.0  # about the depth camera's principal point
    registered = register_sk_depth_to_color(depth)
    (u, v), z = _color_pixel_of_depth_pixel(336, 239, 500.0)
    # colour = R^T (depth - T), T_x = -24 mm: 24 mm right of the colour
    # camera's axis at 500 mm, 29 px right of its principal point (+ 7 px
    # from the 0.7 degree rotation about y)
    assert 345 < u < 356 and 232 < v < 242
    column, row = int(np.floor(u)), int(np.floor(v))
    expected = np.zeros((480, 640), np.float32)
    expected[row:row + 2, column:column + 2] = z
    np.testing.assert_allclose(registered, expected, rtol=1e-5)


def test_registration_keeps_the_nearest_surface():
    depth = np.zeros((480, 640), np.float32)
    # The nearer point's parallax is 2.6 px larger: depth pixel 199 lands
    # about 1.3 colour pixels right of pixel 200, the 2 x 2 splats overlap.
    depth[100, 200] = 800.0
    depth[100, 199] = 700.0
    registered = register_sk_depth_to_color(depth)
    expected = np.full((480, 640), np.inf)
    for column in (200, 199):
        (u, v), z = _color_pixel_of_depth_pixel(column, 100,
                                                depth[100, column])
        block = (slice(int(v), int(v) + 2), slice(int(u), int(u) + 2))
        expected[block] = np.minimum(expected[block], z)
    assert (registered > 0).sum() < 8  # some pixels are shared
    expected[np.isinf(expected)] = 0
    np.testing.assert_allclose(registered, expected, rtol=1e-5)


def test_with_depth_needs_sk_and_its_depth_images(tmp_path):
    _write_labels(tmp_path, 'B1Counting', 'SK')
    with pytest.raises(ValueError, match="with_depth=True needs camera='SK'"):
        STBDataset(str(tmp_path), sequences=['B1Counting'],
                   camera='BB_left', with_depth=True)
    with pytest.raises(DataRootNotFoundError,
                       match=r'SK depth image \(with_depth=True\) not found'):
        STBDataset(str(tmp_path), sequences=['B1Counting'], with_depth=True)
    image_dir = tmp_path / 'images' / 'B1Counting'
    depth = np.zeros((480, 640))
    depth[200:280, 300:340] = 600
    for frame in range(NUM_FRAMES):
        _write_sk_depth(image_dir / f'SK_depth_{frame}.png', depth)
    dataset = STBDataset(str(tmp_path), sequences=['B1Counting'],
                         with_depth=True)
    results = LoadSTBDepth()(dict(dataset.get_data_info(1),
                                  img_shape=(480, 640)))
    assert results['depth'].shape == (480, 640)
    assert results['depth'].dtype == np.float32
    measured = results['depth'][results['depth'] > 0]
    assert 580 < measured.min() and measured.max() < 620
