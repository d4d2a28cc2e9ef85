"""The mesh mode of the synthetic generator: render_mesh_hand and
SyntheticHandDataset(hand='mesh') (docs/synthetic.md, "Mesh hands")."""
import numpy as np
import pytest
import torch

from handkit.datasets.synthetic import cache
from handkit.datasets.synthetic.hand_model import sample_pose
from handkit.datasets.synthetic.mesh_renderer import (MESH_FIELDS,
                                                      _model, forearm_faces,
                                                      mano_hand_pose,
                                                      render_mesh_hand)
from handkit.rasterizer import rasterize
from handkit.geometry import project_points
from handkit.models.hand_model import HandModelLayer
from handkit.registry import DATASETS

SIZE = (48, 40)  # (width, height)


@pytest.fixture(scope='module')
def layers():
    return {side: HandModelLayer(side=side, pose_type='axis_angle',
                                 output_scale=1000.0, dtype=torch.float64)
            for side in ('right', 'left')}


def test_deterministic_per_seed():
    first = render_mesh_hand(7, SIZE, 'rgbd', occlusion=0.5)
    again = render_mesh_hand(np.random.SeedSequence(7), SIZE, 'rgbd',
                             occlusion=0.5)
    other = render_mesh_hand(8, SIZE, 'rgbd', occlusion=0.5)
    for key in first:
        assert np.array_equal(first[key], again[key]), key
    assert not np.array_equal(first['vertices'], other['vertices'])
    # the geometry does not depend on the modality
    depth = render_mesh_hand(7, SIZE, 'depth', occlusion=0.5)
    for key in first:
        if key != 'image':
            assert np.array_equal(first[key], depth[key]), key


def test_keys_shapes_and_dtypes():
    sample = render_mesh_hand(3, SIZE, 'rgbd', occlusion=0.3)
    width, height = SIZE
    num_vertices = len(_model('right')['v_template'])
    expected = dict(
        image=((height, width, 3), np.uint8),
        depth=((height, width), np.float32),
        mask=((height, width), np.bool_),
        keypoints=((21, 2), np.float32),
        keypoints_3d=((21, 3), np.float32),
        keypoints_visible=((21, ), np.float32),
        occluded=((21, ), np.bool_),
        cam_K=((3, 3), np.float32),
        joint_radii=((21, ), np.float32),
        is_left=((), np.bool_),
        vertices=((num_vertices, 3), np.float32),
        hand_pose=((45, ), np.float32),
        hand_shape=((10, ), np.float32),
        global_orient=((3, ), np.float32),
        transl=((3, ), np.float32),
    )
    for key, (shape, dtype) in expected.items():
        assert sample[key].shape == shape, key
        assert sample[key].dtype == dtype, key
    # the cache's tables describe these arrays
    sizes = dict(H=height, W=width, V=num_vertices)
    for name, (shape, dtype) in {**cache.ARRAYS,
                                 **cache.MESH_ARRAYS}.items():
        assert sample[name].shape == tuple(sizes.get(s, s) for s in shape)
        assert sample[name].dtype == dtype, name
    assert tuple(cache.MESH_ARRAYS) == MESH_FIELDS


def test_keypoints_are_the_projection_of_keypoints_3d():
    for seed in range(4):
        sample = render_mesh_hand(seed, SIZE, occlusion=0.3)
        projected = project_points(sample['keypoints_3d'].astype(np.float64),
                                   sample['cam_K'].astype(np.float64))
        np.testing.assert_allclose(sample['keypoints'], projected, atol=1e-3)


def test_vertices_are_the_layer_of_the_stored_parameters(layers):
    sides = set()
    for seed in range(6):
        sample = render_mesh_hand(seed, SIZE)
        side = 'left' if sample['is_left'] else 'right'
        sides.add(side)
        out = layers[side](
            betas=torch.from_numpy(sample['hand_shape'][None]),
            pose=torch.from_numpy(sample['hand_pose'][None]),
            global_orient=torch.from_numpy(sample['global_orient'][None]),
            transl=torch.from_numpy(sample['transl'][None]))
        np.testing.assert_allclose(out['vertices'][0].numpy(),
                                   sample['vertices'], atol=1e-3)
        np.testing.assert_allclose(out['joints'][0].numpy(),
                                   sample['keypoints_3d'], atol=1e-3)
    assert sides == {'left', 'right'}


def test_the_mask_is_the_hand_coverage_minus_occluders():
    occluded_pixels = 0
    for seed in range(5):
        sample = render_mesh_hand(seed, SIZE, 'rgb', occlusion=0.8)
        side = 'left' if sample['is_left'] else 'right'
        faces = forearm_faces(side)
        drawn = rasterize(np.concatenate([sample['vertices'],
                                          sample['forearm_vertices']]),
                          faces, sample['cam_K'], SIZE, cull_backfaces=True)
        hand = (drawn['face_ids'] >= 0) & (
            drawn['face_ids'] < len(_model(side)['faces']))
        uncovered = sample['depth'] == drawn['depth']  # no occluder there
        np.testing.assert_array_equal(sample['mask'], hand & uncovered)
        occluded_pixels += int((hand & ~uncovered).sum())
        assert sample['mask'].any()
    assert occluded_pixels > 0  # the occluders did hide some of the hand


def test_keypoints_of_a_hand_in_front_of_nothing_are_visible():
    flags = []
    for seed in range(20):
        sample = render_mesh_hand(seed, 96, occlusion=0.0,
                                  fill_range=(0.4, 0.6),
                                  pose_mix=dict(open=1), max_view_angle=20)
        assert sample['keypoints_visible'].all()
        # a keypoint whose pixel shows no surface is never occluded
        pixel = np.round(sample['keypoints']).astype(int)
        background = sample['depth'][pixel[:, 1], pixel[:, 0]] == 0
        assert not sample['occluded'][background].any()
        flags.append(sample['occluded'])
    # open hands, palm or back toward the camera: the fingers rarely cover
    # a keypoint (the thumb seen edge-on does, now and then)
    assert np.mean(flags) < 0.03


def test_left_hands_are_mirrored():
    right = render_mesh_hand(11, SIZE, left_ratio=0.0)
    left = render_mesh_hand(11, SIZE, left_ratio=1.0)
    assert not right['is_left'] and left['is_left']
    np.testing.assert_array_equal(left['hand_shape'], right['hand_shape'])
    np.testing.assert_allclose(left['hand_pose'], right['hand_pose'] *
                               np.tile([1.0, -1.0, -1.0], 15), atol=1e-6)
    np.testing.assert_allclose(left['global_orient'],
                               right['global_orient'], atol=1e-6)
    # in the hand frame (the view turned back, wrist at the origin) the
    # left mesh is the right one mirrored in x
    from scipy.spatial.transform import Rotation

    def hand_frame(sample):
        rotation = Rotation.from_rotvec(sample['global_orient']).as_matrix()
        points = sample['vertices'].astype(np.float64)
        return (points - sample['keypoints_3d'][0]) @ rotation

    np.testing.assert_allclose(hand_frame(left),
                               hand_frame(right) * [-1.0, 1.0, 1.0],
                               atol=1e-2)


def test_a_mirrored_left_hands_parameters_pose_the_right_model(layers):
    """TopdownAffine(mirror_side='left') mirrors the parameters with the
    mesh: the right model posed by them gives the mirrored vertices (the
    targets of Boukhayma et al.'s parameter terms, HandModelParams)."""
    from handkit.datasets.transforms import TopdownAffine
    sample = render_mesh_hand(11, SIZE, left_ratio=1.0)
    results = TopdownAffine(input_size=(32, 32), mirror_side='left')(dict(
        img=sample['image'], hand_side='left',
        keypoints=sample['keypoints'][None],
        keypoints_visible=np.ones((1, 21), np.float32),
        keypoints_3d=sample['keypoints_3d'], vertices=sample['vertices'],
        global_orient=sample['global_orient'], hand_pose=sample['hand_pose'],
        hand_shape=sample['hand_shape'],
        bbox_center=np.array([24.0, 20.0], np.float32), bbox_size=40.0))
    assert results['hand_side'] == 'right' and results['hand_mirrored']
    np.testing.assert_allclose(results['global_orient'],
                               sample['global_orient'] * [1, -1, -1])
    out = layers['right'](*(torch.from_numpy(np.asarray(results[key],
                                                        np.float64))[None]
                            for key in ('hand_shape', 'hand_pose',
                                        'global_orient')))
    posed = out['vertices'][0].numpy() - out['joints'][0, :1].numpy()
    mirrored = results['vertices'] - results['keypoints_3d'][:1]
    np.testing.assert_allclose(posed, mirrored, atol=1e-2)  # mm


def test_the_pose_mapping_is_the_open_hand_builders():
    from handkit.models.hand_model.open_hand_builder import \
        synthetic_mano_poses
    model = _model('right')
    joints = model['J_regressor'] @ model['v_template']
    tails = np.zeros_like(joints)
    for f, finger in enumerate(('thumb', 'index', 'middle', 'ring',
                                'little')):
        from handkit.datasets.synthetic.mesh_renderer import _mano_index
        tails[_mano_index(finger, 2)] = model['v_template'][model['tips'][f]]
    pose = sample_pose(np.random.default_rng(0), 16)
    np.testing.assert_allclose(mano_hand_pose(pose),
                               synthetic_mano_poses(joints, tails, pose),
                               atol=1e-9)


def test_the_skin_is_skin_coloured():
    for seed in range(6):
        sample = render_mesh_hand(seed, 64, occlusion=0.0)
        mean = sample['image'][sample['mask']].astype(np.float64).mean(0)
        assert mean[2] > mean[0], (seed, mean)  # BGR: red above blue


def _config(tmp_path, **kwargs):
    return dict(type='SyntheticHandDataset', hand='mesh', num_samples=3,
                split='val', seed=1, image_size=(32, 24), occlusion=0.3,
                **kwargs)


def test_the_mesh_dataset_builds_and_its_cache_reloads_equal(tmp_path):
    fresh = DATASETS.build(_config(tmp_path))
    cached = DATASETS.build(_config(tmp_path, cache_dir=str(tmp_path)))
    reloaded = DATASETS.build(_config(tmp_path, cache_dir=str(tmp_path)))
    entries = [name for name in tmp_path.iterdir() if name.is_dir()]
    assert len(entries) == 1
    assert cache.check_entry(str(entries[0]), __import__('json').load(
        open(entries[0] / 'args.json'))) is None
    for index in range(3):
        infos = [dataset.get_data_info(index)
                 for dataset in (fresh, cached, reloaded)]
        for key in ('img', 'keypoints', 'keypoints_3d', 'cam_K',
                    'hand_mask', 'occluded') + MESH_FIELDS:
            for info in infos[1:]:
                np.testing.assert_array_equal(infos[0][key], info[key],
                                              err_msg=key)
        assert infos[0]['vertices'].shape[1] == 3
    # a capsule dataset of the same arguments is cached apart, keyed as
    # before the mesh mode (no 'hand' in its render arguments)
    capsule = DATASETS.build(dict(_config(tmp_path, cache_dir=str(tmp_path)),
                                  hand='capsule'))
    assert 'hand' not in capsule.render_args
    assert 'vertices' not in capsule.get_data_info(0)
    assert len([name for name in tmp_path.iterdir() if name.is_dir()]) == 2


def test_a_bad_hand_is_one_line():
    with pytest.raises(ValueError, match="hand must be 'capsule' or 'mesh'"):
        DATASETS.build(dict(type='SyntheticHandDataset', hand='mano',
                            num_samples=1))
