"""NYUHandDataset and load_nyu_depth on tiny files in NYU's format."""
import cv2
import numpy as np
import pytest
import scipy.io

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.nyu import (NYU_CAMERA, NYU_EVAL_JOINTS, NYU_JOINT_NAMES,
                                  NYUHandDataset)
from handkit.datasets.utils import load_nyu_depth
from handkit.geometry import project_points

NUM_FRAMES = 3
THUMB_TIP = 24  # TH_KNU3_A: position 8 of the 14 evaluation joints


def _nyu_uvd(xyz):
    """NYU's own convert_xyz_to_uvd (y up): v = cy - fy y / z."""
    u = NYU_CAMERA['cx'] + NYU_CAMERA['fx'] * xyz[..., 0] / xyz[..., 2]
    v = NYU_CAMERA['cy'] - NYU_CAMERA['fy'] * xyz[..., 1] / xyz[..., 2]
    return np.stack([u, v, xyz[..., 2]], axis=-1)


def _joint_xyz():
    rng = np.random.default_rng(1)
    xyz = np.empty((3, NUM_FRAMES, 36, 3))
    xyz[..., :2] = rng.uniform(-120, 120, (3, NUM_FRAMES, 36, 2))
    xyz[..., 2] = rng.uniform(500, 900, (3, NUM_FRAMES, 36))
    # A known thumb tip in frame 2 of camera 1, and of camera 2.
    xyz[0, 1, THUMB_TIP] = [40.0, 30.0, 600.0]
    xyz[1, 1, THUMB_TIP] = [-50.0, -20.0, 700.0]
    return xyz


def _write_split(root, split='test', **overrides):
    split_dir = root / split
    split_dir.mkdir(parents=True)
    xyz = _joint_xyz()
    contents = dict(joint_uvd=_nyu_uvd(xyz), joint_xyz=xyz,
                    joint_names=np.array(NYU_JOINT_NAMES, dtype=object))
    contents.update(overrides)
    contents = {key: value for key, value in contents.items()
                if value is not None}
    scipy.io.savemat(str(split_dir / 'joint_data.mat'), contents)
    return xyz


def test_eval14_count_shapes_and_metainfo(tmp_path):
    _write_split(tmp_path)
    dataset = NYUHandDataset(str(tmp_path), split='test')
    assert len(dataset) == NUM_FRAMES
    info = dataset.get_data_info(0)
    assert info['keypoints'].shape == (14, 2)
    assert info['keypoints_3d'].shape == (14, 3)
    assert info['keypoints_visible'].shape == (14, )
    assert info['keypoints'].dtype == np.float32
    assert info['cam_K'].dtype == np.float32
    assert info['img_shape'] == (480, 640)
    assert dataset.metainfo['num_keypoints'] == 14
    assert dataset.metainfo['keypoint_names'][8] == 'TH_KNU3_A'
    assert dataset.metainfo['dataset_name'] == 'nyu'
    assert 'eval_keypoint_indices' not in dataset.metainfo  # all 14 count


def test_all36_keeps_nyu_order(tmp_path):
    xyz = _write_split(tmp_path)
    dataset = NYUHandDataset(str(tmp_path), split='test', joints='all36')
    info = dataset.get_data_info(1)
    assert info['keypoints_3d'].shape == (36, 3)
    assert dataset.metainfo['num_keypoints'] == 36
    assert dataset.metainfo['keypoint_names'] == list(NYU_JOINT_NAMES)
    # the metrics score the protocol's 14 of the 36 by default
    assert dataset.metainfo['eval_keypoint_indices'] == [
        0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32]
    np.testing.assert_allclose(info['keypoints_3d'],
                               xyz[0, 1] * [1, -1, 1], rtol=1e-6)


def test_known_thumb_tip_lands_in_eval_slot_with_y_flipped(tmp_path):
    _write_split(tmp_path)
    info = NYUHandDataset(str(tmp_path), split='test').get_data_info(1)
    slot = list(NYU_EVAL_JOINTS).index(THUMB_TIP)
    assert slot == 8
    np.testing.assert_allclose(info['keypoints_3d'][slot],
                               [40.0, -30.0, 600.0])
    # u = 320 + 588.03 * 40 / 600, v = 240 - 587.07 * 30 / 600.
    np.testing.assert_allclose(info['keypoints'][slot],
                               [359.202, 210.6465], atol=1e-3)
    assert info['img_id'] == 2
    assert info['depth_path'].endswith('test/depth_1_0000002.png')


def test_camera_selects_its_views_and_file_names(tmp_path):
    _write_split(tmp_path)
    info = NYUHandDataset(str(tmp_path), split='test',
                          camera=2).get_data_info(1)
    np.testing.assert_allclose(info['keypoints_3d'][8], [-50.0, 20.0, 700.0])
    assert info['depth_path'].endswith('test/depth_2_0000002.png')


def test_projecting_keypoints_3d_gives_keypoints(tmp_path):
    _write_split(tmp_path)
    dataset = NYUHandDataset(str(tmp_path), split='test', joints='all36')
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        np.testing.assert_allclose(
            project_points(info['keypoints_3d'], info['cam_K']),
            info['keypoints'], atol=1e-2)
        box = info['bbox']
        np.testing.assert_allclose(box[:2], info['keypoints'].min(0))
        np.testing.assert_allclose(box[2:], info['keypoints'].max(0))


def test_reference_centers_flip_y_and_count_must_match(tmp_path):
    _write_split(tmp_path)
    centers = tmp_path / 'center_test_refined.txt'
    centers.write_text('1.5 20 600\n-3 -4 650\n0 0 700\n')
    dataset = NYUHandDataset(str(tmp_path), split='test',
                             use_reference_centers=str(centers))
    np.testing.assert_allclose(dataset.get_data_info(0)['center_3d'],
                               [1.5, -20.0, 600.0])
    np.testing.assert_allclose(dataset.get_data_info(1)['center_3d'],
                               [-3.0, 4.0, 650.0])
    centers.write_text('1 2 600\n3 4 650\n')
    with pytest.raises(AnnotationError,
                       match='2 centre lines but the test split has 3'):
        NYUHandDataset(str(tmp_path), split='test',
                       use_reference_centers=str(centers))
    centers.write_text('1 2 600\n3 4\n5 6 7\n')
    with pytest.raises(AnnotationError, match='line 2: expected "x y z"'):
        NYUHandDataset(str(tmp_path), split='test',
                       use_reference_centers=str(centers))


def test_mat_without_joint_xyz_names_file_and_key(tmp_path):
    _write_split(tmp_path, joint_xyz=None)
    with pytest.raises(AnnotationError,
                       match=r"joint_data\.mat: no key 'joint_xyz'"):
        NYUHandDataset(str(tmp_path), split='test')


def test_joint_array_of_wrong_shape_names_the_shape(tmp_path):
    _write_split(tmp_path, joint_uvd=np.zeros((3, NUM_FRAMES, 21, 3)))
    with pytest.raises(AnnotationError,
                       match=r"'joint_uvd' must be .* got \(3, 3, 21, 3\)"):
        NYUHandDataset(str(tmp_path), split='test')


def test_load_nyu_depth_decodes_green_and_blue(tmp_path):
    depth_mm = np.array([[0, 255, 256], [700, 1234, 65535]], dtype=np.int64)
    image = np.zeros((2, 3, 3), dtype=np.uint8)  # B, G, R
    image[..., 0] = depth_mm % 256
    image[..., 1] = depth_mm // 256
    image[..., 2] = 77  # red carries nothing
    path = str(tmp_path / 'depth_1_0000001.png')
    cv2.imwrite(path, image)
    depth = load_nyu_depth(path)
    assert depth.dtype == np.float32 and depth.shape == (2, 3)
    np.testing.assert_array_equal(depth, depth_mm)


def test_load_nyu_depth_rejects_16_bit_png(tmp_path):
    path = str(tmp_path / 'depth_1_0000001.png')
    cv2.imwrite(path, np.full((4, 5), 700, dtype=np.uint16))
    with pytest.raises(ValueError,
                       match=r'depth_1_0000001\.png: NYU depth must be an '
                       r'8-bit 3-channel PNG .* found uint16 with 1 channel'):
        load_nyu_depth(path)
    with pytest.raises(FileNotFoundError, match='missing.png'):
        load_nyu_depth(str(tmp_path / 'missing.png'))


def test_missing_root_and_bad_arguments(tmp_path):
    with pytest.raises(DataRootNotFoundError, match='joint_data.mat'):
        (tmp_path / 'train').mkdir()
        NYUHandDataset(str(tmp_path), split='train')
    with pytest.raises(ValueError, match='camera must be 1, 2 or 3'):
        NYUHandDataset(str(tmp_path), camera=0)
    with pytest.raises(ValueError, match='joints must be one of'):
        NYUHandDataset(str(tmp_path), joints='all21')
