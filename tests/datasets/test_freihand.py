"""FreiHANDDataset on tiny files in FreiHAND's format."""
import json

import cv2
import numpy as np
import pytest

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.freihand import FreiHANDDataset
from handkit.geometry import project_points

K = [[500.0, 0.0, 112.0], [0.0, 502.0, 110.0], [0.0, 0.0, 1.0]]


def _joints(seed):
    """21 x 3 joints in metres; the thumb tip (index 4) at a known place."""
    rng = np.random.default_rng(seed)
    xyz = np.empty((21, 3))
    xyz[:, :2] = rng.uniform(-0.05, 0.05, (21, 2))
    xyz[:, 2] = rng.uniform(0.5, 0.7, 21)
    xyz[4] = [0.02, -0.01, 0.5 + 0.1 * seed]
    return xyz


def _write(root, num_annotations=2, versions=4, set_name='training',
           xyz=None, cam_k=None):
    xyz = ([_joints(seed).tolist() for seed in range(num_annotations)]
           if xyz is None else xyz)
    cam_k = [K] * len(xyz) if cam_k is None else cam_k
    (root / f'{set_name}_xyz.json').write_text(json.dumps(xyz))
    (root / f'{set_name}_K.json').write_text(json.dumps(cam_k))
    rgb = root / set_name / 'rgb'
    rgb.mkdir(parents=True)
    image = np.zeros((8, 8, 3), np.uint8)
    for image_id in range(num_annotations * versions):
        cv2.imwrite(str(rgb / f'{image_id:08d}.jpg'), image)
    return xyz


def test_every_version_uses_annotation_modulo_count(tmp_path):
    xyz = _write(tmp_path)
    (tmp_path / 'training' / 'rgb' / 'notes.txt').write_text('not an image')
    dataset = FreiHANDDataset(str(tmp_path))
    assert len(dataset) == 8
    assert [dataset.get_data_info(i)['ann_id'] for i in range(8)] == [
        0, 1, 0, 1, 0, 1, 0, 1]
    info = dataset.get_data_info(5)
    assert info['img_id'] == 5
    assert info['img_path'].endswith('training/rgb/00000005.jpg')
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints_3d'].shape == (21, 3)
    assert info['keypoints_3d'].dtype == np.float32
    assert info['img_shape'] == (224, 224)
    np.testing.assert_allclose(info['keypoints_3d'],
                               np.asarray(xyz[1]) * 1000, rtol=1e-6)


def test_order_is_kept_and_projection_matches_by_hand(tmp_path):
    _write(tmp_path)
    info = FreiHANDDataset(str(tmp_path)).get_data_info(0)
    # Thumb tip (0.02, -0.01, 0.5) m stays at handkit index 4, in mm ...
    np.testing.assert_allclose(info['keypoints_3d'][4], [20.0, -10.0, 500.0],
                               rtol=1e-6)
    # ... and projects to (112 + 500 * 0.04, 110 - 502 * 0.02).
    np.testing.assert_allclose(info['keypoints'][4], [132.0, 99.96],
                               atol=1e-3)
    np.testing.assert_allclose(
        project_points(info['keypoints_3d'], info['cam_K']), info['keypoints'],
        atol=1e-2)
    np.testing.assert_allclose(info['bbox'][:2], info['keypoints'].min(0))
    np.testing.assert_allclose(info['bbox'][2:], info['keypoints'].max(0))


def test_seeded_holdout_keeps_all_versions_of_a_pose_together(tmp_path):
    _write(tmp_path, num_annotations=4)
    train = FreiHANDDataset(str(tmp_path), holdout_fraction=0.25)
    val = FreiHANDDataset(str(tmp_path), split='val', holdout_fraction=0.25)
    train_poses = {train.get_data_info(i)['ann_id'] for i in range(len(train))}
    val_poses = {val.get_data_info(i)['ann_id'] for i in range(len(val))}
    assert (len(train), len(val)) == (12, 4)
    assert len(val_poses) == 1 and not train_poses & val_poses
    again = FreiHANDDataset(str(tmp_path), split='val', holdout_fraction=0.25)
    assert {again.get_data_info(i)['ann_id'] for i in range(4)} == val_poses
    assert len(FreiHANDDataset(str(tmp_path))) == 16


def test_test_split_reads_evaluation_set(tmp_path):
    _write(tmp_path, num_annotations=3, versions=1, set_name='evaluation')
    dataset = FreiHANDDataset(str(tmp_path), split='test')
    assert len(dataset) == 3
    assert dataset.get_data_info(2)['img_path'].endswith(
        'evaluation/rgb/00000002.jpg')


def test_entry_of_wrong_shape_names_file_entry_and_shape(tmp_path):
    xyz = [_joints(0).tolist(), _joints(1)[:20].tolist()]
    _write(tmp_path, xyz=xyz)
    with pytest.raises(AnnotationError,
                       match=r'training_xyz\.json entry 1: expected keypoints '
                       r'of shape \(21, 3\), got \(20, 3\)'):
        FreiHANDDataset(str(tmp_path))


def test_label_count_mismatch_and_bad_k_are_named(tmp_path):
    _write(tmp_path, cam_k=[K])
    with pytest.raises(AnnotationError,
                       match=r'training_xyz\.json holds 2 entries but .*'
                       r'training_K\.json holds 1'):
        FreiHANDDataset(str(tmp_path))


def test_bad_k_matrix_is_named(tmp_path):
    _write(tmp_path, cam_k=[K, [[1.0, 0.0], [0.0, 1.0]]])
    with pytest.raises(AnnotationError,
                       match=r'training_K\.json entry 1: expected a finite '
                       r'3 x 3 matrix, got shape \(2, 2\)'):
        FreiHANDDataset(str(tmp_path))


def test_missing_files_and_bad_arguments(tmp_path):
    with pytest.raises(DataRootNotFoundError, match='training_xyz.json'):
        FreiHANDDataset(str(tmp_path))
    with pytest.raises(ValueError, match="split 'val' needs holdout_fraction"):
        FreiHANDDataset(str(tmp_path), split='val')
    with pytest.raises(ValueError, match='holdout_fraction must be in'):
        FreiHANDDataset(str(tmp_path), holdout_fraction=1.5)


def _write_mesh(root, count, set_name='training', num_vertices=778):
    """Vertices (m) and MANO fits (1 x 61) in the release's layout."""
    rng = np.random.default_rng(7)
    verts = rng.uniform(-0.1, 0.1, (count, num_vertices, 3))
    mano = rng.normal(0, 0.5, (count, 1, 61))
    (root / f'{set_name}_verts.json').write_text(json.dumps(verts.tolist()))
    (root / f'{set_name}_mano.json').write_text(json.dumps(mano.tolist()))
    return verts, mano


def test_with_mesh_reads_vertices_and_the_mano_fit(tmp_path):
    _write(tmp_path)
    verts, mano = _write_mesh(tmp_path, 2)
    dataset = FreiHANDDataset(str(tmp_path), with_mesh=True)
    info = dataset.get_data_info(3)  # annotation 1
    assert info['vertices'].shape == (778, 3)
    assert info['vertices'].dtype == np.float32
    np.testing.assert_allclose(info['vertices'], verts[1] * 1000, rtol=1e-6)
    # split_theta: 48 pose (global rotation first), 10 shape, uv root, scale
    np.testing.assert_allclose(info['global_orient'], mano[1, 0, :3],
                               rtol=1e-6)
    np.testing.assert_allclose(info['hand_pose'], mano[1, 0, 3:48],
                               rtol=1e-6)
    np.testing.assert_allclose(info['hand_shape'], mano[1, 0, 48:58],
                               rtol=1e-6)
    assert str(tmp_path / 'training_verts.json') in dataset.source_files
    # without with_mesh nothing of it is read
    assert 'vertices' not in FreiHANDDataset(str(tmp_path)).get_data_info(0)


def test_with_mesh_errors_name_the_file(tmp_path):
    _write(tmp_path)
    with pytest.raises(DataRootNotFoundError,
                       match='vertex file \\(with_mesh=True\\) not found'):
        FreiHANDDataset(str(tmp_path), with_mesh=True)
    _write_mesh(tmp_path, 3)
    with pytest.raises(AnnotationError, match='training_verts.json holds 3 '
                       'entries but training_xyz.json holds 2'):
        FreiHANDDataset(str(tmp_path), with_mesh=True)
    mano = np.zeros((2, 1, 60))
    _write_mesh(tmp_path, 2)
    (tmp_path / 'training_mano.json').write_text(json.dumps(mano.tolist()))
    with pytest.raises(AnnotationError, match='training_mano.json: expected '
                       '2 entries of 1 x 61 values each'):
        FreiHANDDataset(str(tmp_path), with_mesh=True)
