"""GANeratedDataset on tiny per-frame text files in GANerated's format."""
import numpy as np
import pytest

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.ganerated import GANERATED_CAMERA, GANeratedDataset
from handkit.datasets.utils import read_number_file, seeded_group_split
from handkit.geometry import project_points

FULL_K = np.array([[GANERATED_CAMERA['fx'], 0.0, GANERATED_CAMERA['cx']],
                   [0.0, GANERATED_CAMERA['fy'], GANERATED_CAMERA['cy']],
                   [0.0, 0.0, 1.0]])
CROP = (200.0, 100.0, 0.8)  # u0, v0, scale
FOLDERS = ('noObject/0001', 'noObject/0002', 'withObject/0001')


def _global_joints(seed):
    rng = np.random.default_rng(seed)
    xyz = np.empty((21, 3))
    xyz[:, :2] = rng.uniform(-60, 60, (21, 2))
    xyz[:, 2] = rng.uniform(350, 500, 21)
    xyz[[4, 8, 12, 16, 20]] = [[10.0 * f, -10.0, 400.0] for f in range(5)]
    return xyz


def _write_frame(folder_dir, frame, xyz, crop=CROP, global_text=None):
    folder_dir.mkdir(parents=True, exist_ok=True)
    u0, v0, scale = crop
    uvw = xyz @ FULL_K.T
    joint2d = scale * (uvw[:, :2] / uvw[:, 2:] - [u0, v0])
    prefix = folder_dir / frame
    (folder_dir / f'{frame}_joint2D.txt').write_text(
        ','.join(f'{value:.6f}' for value in joint2d.ravel()) + '\n')
    (folder_dir / f'{frame}_joint_pos_global.txt').write_text(
        global_text if global_text is not None else
        ','.join(f'{value:.6f}' for value in xyz.ravel()) + '\n')
    (folder_dir / f'{frame}_crop_params.txt').write_text(
        f'{u0},{v0},{scale}\n')
    # Root-relative normalised positions: present in the release, not read.
    (folder_dir / f'{frame}_joint_pos.txt').write_text(
        ','.join(['0.5'] * 63) + '\n')
    return prefix


def _write_release(root):
    joints = {}
    for number, folder in enumerate(FOLDERS):
        for frame in ('0001', '0002'):
            xyz = _global_joints(10 * number + int(frame))
            _write_frame(root / 'data' / folder, frame, xyz)
            joints[f'{folder}/{frame}'] = xyz
    return joints


def test_seeded_folder_split_count_and_shapes(tmp_path):
    _write_release(tmp_path)
    train = GANeratedDataset(str(tmp_path), split='train')
    test = GANeratedDataset(str(tmp_path), split='test')
    assert (len(train), len(test)) == (4, 2)  # one of three folders is test
    train_ids = {train.get_data_info(i)['img_id'] for i in range(4)}
    test_ids = {test.get_data_info(i)['img_id'] for i in range(2)}
    assert not train_ids & test_ids
    assert len({name.rsplit('/', 1)[0] for name in test_ids}) == 1
    info = test.get_data_info(0)
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints_3d'].shape == (21, 3)
    assert info['keypoints_visible'].shape == (21, )
    assert info['cam_K'].dtype == np.float32
    assert info['img_path'].endswith(info['img_id'].rsplit('/', 1)[1]
                                     + '_color_composed.png')


def test_finger_tips_keep_handkit_indices(tmp_path):
    joints = _write_release(tmp_path)
    dataset = GANeratedDataset(str(tmp_path), split='train')
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        np.testing.assert_allclose(info['keypoints_3d'][[4, 8, 12, 16, 20]],
                                   [[10.0 * f, -10.0, 400.0]
                                    for f in range(5)])
        np.testing.assert_allclose(info['keypoints_3d'],
                                   joints[info['img_id']], atol=1e-4)


def test_crop_camera_by_hand_and_projection_matches_joint2d(tmp_path):
    _write_release(tmp_path)
    dataset = GANeratedDataset(str(tmp_path), split='train')
    info = dataset.get_data_info(0)
    # fx' = 0.8 x 617.173; cx' = 0.8 (315.453 - 200); cy' = 0.8 (242.259 - 100)
    np.testing.assert_allclose(
        info['cam_K'], [[493.7384, 0.0, 92.3624], [0.0, 493.7384, 113.8072],
                        [0.0, 0.0, 1.0]], rtol=1e-6)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        np.testing.assert_allclose(
            project_points(info['keypoints_3d'], info['cam_K']),
            info['keypoints'], atol=1e-2)


def test_joint_file_of_wrong_length_names_file_and_count(tmp_path):
    # A single folder always falls in 'train'.
    folder_dir = tmp_path / 'data' / 'noObject' / '0001'
    _write_frame(folder_dir, '0001', _global_joints(0))
    _write_frame(folder_dir, '0003', _global_joints(1),
                 global_text=','.join(['1'] * 60))
    with pytest.raises(AnnotationError,
                       match=r'0003_joint_pos_global\.txt: expected 63 '
                       r'numbers, found 60'):
        GANeratedDataset(str(tmp_path), subsets=['noObject'])


def test_read_number_file_rejects_text(tmp_path):
    path = tmp_path / '0001_crop_params.txt'
    path.write_text('1,2,abc\n')
    with pytest.raises(AnnotationError,
                       match=r'0001_crop_params\.txt: non-numeric field'):
        read_number_file(str(path), 3)
    path.write_text('1, 2\n3\n')
    np.testing.assert_array_equal(read_number_file(str(path), 3), [1, 2, 3])


def test_seeded_group_split_is_deterministic_and_complementary():
    groups = [f'g{index}' for index in range(20)]
    test = seeded_group_split(groups, 'test', 0.1, seed=3)
    train = seeded_group_split(groups, 'train', 0.1, seed=3)
    assert len(test) == 2 and len(train) == 18
    assert sorted(test + train) == sorted(groups)
    assert seeded_group_split(groups[::-1], 'test', 0.1, seed=3) == test
    assert seeded_group_split(['only'], 'test', 0.1, seed=0) == []


def test_single_folder_leaves_test_empty(tmp_path):
    _write_frame(tmp_path / 'data' / 'noObject' / '0001', '0001',
                 _global_joints(0))
    assert len(GANeratedDataset(str(tmp_path), subsets=['noObject'])) == 1
    with pytest.raises(AnnotationError, match="split 'test' is empty"):
        GANeratedDataset(str(tmp_path), split='test', subsets=['noObject'])


def test_missing_folder_and_bad_arguments(tmp_path):
    (tmp_path / 'data' / 'noObject').mkdir(parents=True)
    with pytest.raises(DataRootNotFoundError, match='withObject'):
        GANeratedDataset(str(tmp_path))
    with pytest.raises(ValueError, match='subsets must be a non-empty list'):
        GANeratedDataset(str(tmp_path), subsets=['object'])
    with pytest.raises(ValueError, match='test_fraction must be in'):
        GANeratedDataset(str(tmp_path), test_fraction=0.0)
