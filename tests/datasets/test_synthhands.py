"""SynthHandsDataset on tiny per-frame joint files in SynthHands' format."""
import numpy as np
import pytest

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.synthhands import (SYNTHHANDS_SUBSETS,
                                         SynthHandsDataset)
from handkit.geometry import project_points

FOLDERS = ('female_noobject/seq01/cam01/01', 'female_noobject/seq01/cam02/01',
           'male_object/seq03/cam05/02')
TIPS = [[20.0, -10.0, 400.0], [30.0, -5.0, 410.0], [40.0, 0.0, 420.0],
        [50.0, 5.0, 430.0], [60.0, 10.0, 440.0]]


def _joints(seed):
    rng = np.random.default_rng(seed)
    xyz = np.empty((21, 3))
    xyz[:, :2] = rng.uniform(-80, 80, (21, 2))
    xyz[:, 2] = rng.uniform(300, 600, 21)
    xyz[[4, 8, 12, 16, 20]] = TIPS
    return xyz


def _write_frame(folder_dir, frame, text):
    folder_dir.mkdir(parents=True, exist_ok=True)
    (folder_dir / f'{frame}_joint_pos.txt').write_text(text)


def _joint_text(xyz):
    return ','.join(f'{value:.4f}' for value in np.ravel(xyz)) + '\n'


def _write_release(root):
    for subset in SYNTHHANDS_SUBSETS:
        (root / subset).mkdir()
    for number, folder in enumerate(FOLDERS):
        for frame in ('00000000', '00000001'):
            _write_frame(root / folder, frame,
                         _joint_text(_joints(10 * number + int(frame))))


def test_seeded_folder_split_count_shapes_and_paths(tmp_path):
    _write_release(tmp_path)
    train = SynthHandsDataset(str(tmp_path), split='train')
    test = SynthHandsDataset(str(tmp_path), split='test')
    assert (len(train), len(test)) == (4, 2)
    test_folders = {test.get_data_info(i)['img_id'].rsplit('/', 1)[0]
                    for i in range(2)}
    train_folders = {train.get_data_info(i)['img_id'].rsplit('/', 1)[0]
                     for i in range(4)}
    assert len(test_folders) == 1 and not test_folders & train_folders
    assert test_folders | train_folders == set(FOLDERS)
    info = train.get_data_info(1)
    assert info['img_path'].endswith('00000001_color_on_depth.png')
    assert info['depth_path'].endswith('00000001_depth.png')
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints_3d'].shape == (21, 3)
    assert info['keypoints_3d'].dtype == np.float32
    assert info['img_shape'] == (480, 640)


def test_tips_keep_handkit_indices_and_project_by_hand(tmp_path):
    _write_release(tmp_path)
    dataset = SynthHandsDataset(str(tmp_path), split='train')
    info = dataset.get_data_info(0)
    np.testing.assert_allclose(info['keypoints_3d'][[4, 8, 12, 16, 20]],
                               TIPS)
    # Thumb tip (20, -10, 400): u = 311.125 + 475.62 / 20,
    # v = 245.965 - 475.62 / 40.
    np.testing.assert_allclose(info['keypoints'][4], [334.906, 234.0745],
                               atol=1e-3)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        np.testing.assert_allclose(
            project_points(info['keypoints_3d'], info['cam_K']),
            info['keypoints'], atol=1e-2)
        np.testing.assert_allclose(info['bbox'][:2], info['keypoints'].min(0))


def test_joint_file_of_wrong_length_names_file_and_count(tmp_path):
    # A single folder always falls in 'train'.
    folder = tmp_path / 'male_noobject' / 'seq01' / 'cam01' / '01'
    _write_frame(folder, '00000000', _joint_text(_joints(0)))
    _write_frame(folder, '00000001', _joint_text(_joints(1)[:20]))
    with pytest.raises(AnnotationError,
                       match=r'00000001_joint_pos\.txt: expected 63 numbers, '
                       r'found 60'):
        SynthHandsDataset(str(tmp_path), subsets=['male_noobject'])


def test_joint_behind_camera_is_named(tmp_path):
    folder = tmp_path / 'male_noobject' / 'seq01' / 'cam01' / '01'
    xyz = _joints(0)
    xyz[3, 2] = -5.0
    _write_frame(folder, '00000000', _joint_text(xyz))
    with pytest.raises(AnnotationError,
                       match=r'00000000_joint_pos\.txt: joints must lie in '
                       r'front of the camera'):
        SynthHandsDataset(str(tmp_path), subsets=['male_noobject'])


def test_missing_subset_and_bad_arguments(tmp_path):
    (tmp_path / 'female_noobject').mkdir()
    with pytest.raises(DataRootNotFoundError, match='female_object'):
        SynthHandsDataset(str(tmp_path))
    with pytest.raises(AnnotationError, match='no frame folders'):
        SynthHandsDataset(str(tmp_path), subsets=['female_noobject'])
    with pytest.raises(ValueError, match='subsets must be a non-empty list'):
        SynthHandsDataset(str(tmp_path), subsets='female_noobject')
