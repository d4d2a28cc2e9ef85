"""HandModelLayer and the MANO loader, on a synthetic MANO-structured model
(tests/tools/fake_mano.py): no MANO file is needed, none is shipped."""
import os
import pickle

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from fake_mano import (PARENTS, TIPS, descendants, mirrored,
                       synthetic_model, write_mano_pickle)
from handkit.fileio import UnsafeFileError
from handkit.models.hand_model import (HandModelFileError, HandModelLayer,
                                       HandModelNotFoundError,
                                       load_hand_model)
from handkit.registry import MODELS

# handkit keypoint i is entry HANDKIT[i] of joints16 + tips (16 + finger):
# wrist; thumb cmc, mcp, ip (MANO 13-15), tip; index (1-3), tip; middle
# (4-6); ring (10-12); little (MANO's pinky, 7-9)
HANDKIT = [0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19,
           7, 8, 9, 20]


def reference_mesh(data, betas, hand_pose, global_orient, transl):
    """A plain transcription of MANO's equations, one vertex and one joint
    at a time (scipy's exact Rodrigues), for one sample."""
    num_betas = len(betas)
    v_shaped = data.v_template + data.shapedirs[..., :num_betas] @ betas
    joints = data.J_regressor @ v_shaped
    full = np.concatenate([global_orient, hand_pose]).reshape(16, 3)
    rotations = Rotation.from_rotvec(full).as_matrix()
    feature = np.concatenate([(rotations[k] - np.eye(3)).ravel()
                              for k in range(1, 16)])
    v_posed = v_shaped + data.posedirs @ feature
    world = [None] * 16
    for k in range(16):
        local = np.eye(4)
        local[:3, :3] = rotations[k]
        local[:3, 3] = joints[k] - (joints[PARENTS[k]] if k else 0)
        world[k] = local if k == 0 else world[PARENTS[k]] @ local
    relative = []
    for k in range(16):
        rest = np.eye(4)
        rest[:3, 3] = joints[k]
        relative.append(world[k] @ np.linalg.inv(rest))
    vertices = np.empty_like(v_posed)
    for v in range(len(v_posed)):
        blend = sum(data.weights[v, k] * relative[k] for k in range(16))
        vertices[v] = (blend @ np.append(v_posed[v], 1.0))[:3]
    joints16 = np.stack([world[k][:3, 3] for k in range(16)])
    return vertices + transl, joints16 + transl


@pytest.fixture
def data():
    return synthetic_model()


def layer_of(data, dtype=torch.float64, **kwargs):
    return HandModelLayer(model_data=data, dtype=dtype, **kwargs)


def random_inputs(batch=3, seed=1, pca=None):
    rng = np.random.default_rng(seed)
    inputs = dict(betas=rng.normal(0, 1, (batch, 10)),
                  pose=rng.normal(0, 0.5, (batch, pca or 45)),
                  global_orient=rng.normal(0, 1, (batch, 3)),
                  transl=rng.normal(0, 0.1, (batch, 3)))
    return {k: torch.tensor(v) for k, v in inputs.items()}


def test_matches_a_per_vertex_transcription_of_the_equations(data):
    inputs = random_inputs()
    out = layer_of(data, pose_type='axis_angle')(**inputs)
    for b in range(3):
        vertices, joints16 = reference_mesh(
            data, *(inputs[k][b].numpy() for k in
                    ('betas', 'pose', 'global_orient', 'transl')))
        np.testing.assert_allclose(out['vertices'][b].numpy(), vertices,
                                   atol=1e-8)
        np.testing.assert_allclose(out['joints16'][b].numpy(), joints16,
                                   atol=1e-8)


def test_zero_pose_and_shape_give_the_template(data):
    layer = layer_of(data, pose_type='axis_angle')
    out = layer(pose=torch.zeros(2, 45))
    np.testing.assert_allclose(out['vertices'].numpy(),
                               np.broadcast_to(data.v_template, (2, 40, 3)),
                               atol=1e-9)
    template_joints = data.J_regressor @ data.v_template
    np.testing.assert_allclose(out['joints16'][0].numpy(), template_joints,
                               atol=1e-9)
    # handkit's order: 16 joints mapped by name, tips from the vertices
    stacked = np.concatenate([template_joints, data.v_template[TIPS]])
    np.testing.assert_allclose(out['joints'][1].numpy(), stacked[HANDKIT],
                               atol=1e-9)
    # flat PCA: zero coefficients without the mean are the same hand
    flat = layer_of(data, pose_type='pca', flat_hand_mean=True)(
        pose=torch.zeros(2, 6), betas=torch.zeros(2, 10))
    np.testing.assert_allclose(flat['vertices'].numpy(),
                               out['vertices'].numpy(), atol=1e-12)


@pytest.mark.parametrize('joint', [1, 4, 7, 10, 13, 2, 14, 15])
def test_rotating_a_joint_moves_only_its_descendants_vertices(data, joint):
    layer = layer_of(data, pose_type='axis_angle')
    betas = torch.tensor(np.random.default_rng(2).normal(0, 1, (1, 10)))
    rest = layer(betas=betas, pose=torch.zeros(1, 45))
    pose = torch.zeros(1, 45, dtype=torch.float64)
    pose[0, 3 * (joint - 1):3 * joint] = torch.tensor([0.4, -0.3, 0.5])
    moved = layer(betas=betas, pose=pose)
    below = descendants(joint)
    affected = data.weights[:, below].sum(1) > 0
    shift = (moved['vertices'] - rest['vertices'])[0].norm(dim=-1).numpy()
    assert shift[~affected].max() < 1e-9
    assert shift[affected].min() > 1e-6
    joint_shift = (moved['joints16'] - rest['joints16'])[0].norm(
        dim=-1).numpy()
    children = [j for j in below if j != joint]
    assert joint_shift[[j for j in range(16) if j not in children]].max() \
        < 1e-9
    if children:  # a fingertip joint (15) has none
        assert joint_shift[children].min() > 1e-6


def test_pca_and_axis_angle_paths_agree(data):
    inputs = random_inputs(pca=12)
    pca = layer_of(data, pose_type='pca')(**inputs)
    pose = (torch.tensor(data.hands_mean)
            + inputs['pose'] @ torch.tensor(data.hands_components[:12]))
    axis_angle = layer_of(data, pose_type='axis_angle')(
        **dict(inputs, pose=pose))
    for key in ('vertices', 'joints', 'joints16'):
        torch.testing.assert_close(pca[key], axis_angle[key], rtol=0,
                                   atol=1e-12)


def test_left_is_the_mirrored_right(data):
    left_data = mirrored(data)
    inputs = random_inputs(pca=45)
    sign = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
    right = layer_of(data, pose_type='pca')(**inputs)
    mirrored_inputs = dict(inputs, global_orient=inputs['global_orient']
                           * sign, transl=inputs['transl'] * -sign)
    left = layer_of(left_data, pose_type='pca')(**mirrored_inputs)
    x_mirror = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    for key in ('vertices', 'joints'):
        torch.testing.assert_close(left[key], right[key] * x_mirror,
                                   rtol=0, atol=1e-12)
    # the same through axis-angle: (x, -y, -z) per joint
    hand = data.hands_mean + inputs['pose'].numpy() @ data.hands_components
    aa_right = layer_of(data, pose_type='axis_angle')(
        **dict(inputs, pose=torch.tensor(hand)))
    aa_left = layer_of(left_data, pose_type='axis_angle')(
        **dict(mirrored_inputs, pose=torch.tensor(hand) * sign.repeat(15)))
    torch.testing.assert_close(aa_left['vertices'],
                               aa_right['vertices'] * x_mirror, rtol=0,
                               atol=1e-12)


def test_float32_and_float64_agree(data):
    inputs = random_inputs(pca=10)
    out64 = layer_of(data, torch.float64)(**inputs)
    layer32 = layer_of(data, torch.float64).to(torch.float32)
    assert layer32.v_template.dtype == torch.float32
    assert HandModelLayer(model_data=data).posedirs.dtype == torch.float32
    assert layer32.faces.dtype == torch.int64
    out32 = layer32(**{k: v.float() for k, v in inputs.items()})
    for key in out64:
        assert out32[key].dtype == torch.float32
        np.testing.assert_allclose(out32[key].double().numpy(),
                                   out64[key].numpy(), atol=1e-5)


def test_gradients_flow_gradcheck(data):
    small = synthetic_model(num_vertices=30, seed=3)
    layer = layer_of(small, pose_type='pca')
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(1, n, dtype=torch.float64, generator=generator,
                          requires_grad=True) * s for n, s in
              ((4, 1.0), (6, 0.5), (3, 1.0), (3, 0.1))]
    inputs = [t.detach().requires_grad_() for t in inputs]

    def mesh(betas, pose, global_orient, transl):
        out = layer(betas=betas, pose=pose, global_orient=global_orient,
                    transl=transl)
        return out['vertices'], out['joints']

    assert torch.autograd.gradcheck(mesh, inputs, eps=1e-6, atol=1e-6)


def test_fewer_betas_and_registry_build(data, tmp_path):
    path = tmp_path / 'hand.npz'
    np.savez(path, **data.to_npz_arrays())
    layer = MODELS.build(dict(type='HandModelLayer', model_path=str(path),
                              pose_type='axis_angle', dtype='float64'))
    inputs = random_inputs(batch=2)
    three = layer(betas=inputs['betas'][:, :3], pose=inputs['pose'])
    padded = torch.cat([inputs['betas'][:, :3],
                        torch.zeros(2, 7, dtype=torch.float64)], 1)
    full = layer(betas=padded, pose=inputs['pose'])
    torch.testing.assert_close(three['vertices'], full['vertices'])
    with pytest.raises(ValueError, match='11 betas'):
        layer(betas=torch.zeros(1, 11), pose=torch.zeros(1, 45))


# ---------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------

ARRAYS = ('v_template', 'faces', 'shapedirs', 'posedirs', 'weights',
          'J_regressor', 'kintree_parents', 'hands_components', 'hands_mean')


def assert_same_arrays(loaded, data):
    for key in ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, key),
                                      getattr(data, key), err_msg=key)


def test_mano_pickle_loads_without_chumpy(data, tmp_path):
    import sys
    assert 'chumpy' not in sys.modules
    path = write_mano_pickle(tmp_path / 'MANO_RIGHT.pkl', data)
    loaded = load_hand_model(path, tip_vertex_ids=TIPS)
    assert_same_arrays(loaded, data)
    assert loaded.side == 'right' and not loaded.shapedirs_x_sign_fixed
    assert loaded.source == 'MANO_RIGHT.pkl' and 'mano.is.tue.mpg.de' in \
        loaded.licence
    assert 'chumpy' not in sys.modules


def test_old_scipy_csc_path_loads(data, tmp_path):
    path = write_mano_pickle(tmp_path / 'MANO_RIGHT.pkl', data,
                             old_scipy=True)
    np.testing.assert_array_equal(
        load_hand_model(path, tip_vertex_ids=TIPS).J_regressor,
        data.J_regressor)


def test_pickle_tip_ids_default_to_boukhayma(tmp_path):
    big = synthetic_model(num_vertices=778, seed=4)
    path = write_mano_pickle(tmp_path / 'MANO_RIGHT.pkl', big)
    assert load_hand_model(path).tip_vertex_ids.tolist() == [
        745, 333, 444, 555, 672]
    assert load_hand_model(path, tip_vertex_ids=(744, 320, 443, 554, 671)
                           ).tip_vertex_ids.tolist() == [744, 320, 443, 554,
                                                         671]


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_a_reduce_payload_is_refused_in_one_line(data, tmp_path):
    marker = tmp_path / 'marker'
    path = write_mano_pickle(tmp_path / 'MANO_RIGHT.pkl', data,
                             extra={'hands_coeffs': _Payload(marker)})
    with pytest.raises(UnsafeFileError) as error:
        load_hand_model(path, tip_vertex_ids=TIPS)
    message = str(error.value)
    assert '\n' not in message and 'system' in message
    assert not marker.exists()
    # the same payload as the whole file
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(UnsafeFileError):
        load_hand_model(path, tip_vertex_ids=TIPS)
    assert not marker.exists()


def test_left_file_shapedirs_fix_flips_x_and_is_recorded(data, tmp_path):
    path = write_mano_pickle(tmp_path / 'MANO_LEFT.pkl', data)
    fixed = load_hand_model(path, tip_vertex_ids=TIPS)
    assert fixed.side == 'left' and fixed.shapedirs_x_sign_fixed
    np.testing.assert_array_equal(fixed.shapedirs[:, 0],
                                  -data.shapedirs[:, 0])
    np.testing.assert_array_equal(fixed.shapedirs[:, 1:],
                                  data.shapedirs[:, 1:])
    raw = load_hand_model(path, tip_vertex_ids=TIPS,
                          fix_left_shapedirs=False)
    assert not raw.shapedirs_x_sign_fixed
    np.testing.assert_array_equal(raw.shapedirs, data.shapedirs)
    # an .npz that records the fix is not flipped twice
    npz = tmp_path / 'left.npz'
    np.savez(npz, **fixed.to_npz_arrays())
    again = load_hand_model(npz)
    np.testing.assert_array_equal(again.shapedirs, fixed.shapedirs)
    assert again.shapedirs_x_sign_fixed
    # the right file is never touched
    right = load_hand_model(write_mano_pickle(
        tmp_path / 'MANO_RIGHT.pkl', data), tip_vertex_ids=TIPS)
    np.testing.assert_array_equal(right.shapedirs, data.shapedirs)


def assert_mano_paragraph(message, path):
    assert '\n' not in message and message.startswith(str(path))
    for part in ('MANO', 'Romero', 'mano.is.tue.mpg.de', 'registering',
                 'model_path'):
        assert part in message, part


def test_missing_file_is_the_paragraph(tmp_path):
    missing = tmp_path / 'MANO_RIGHT.pkl'
    with pytest.raises(HandModelNotFoundError) as error:
        load_hand_model(missing)
    assert isinstance(error.value, FileNotFoundError)
    assert_mano_paragraph(str(error.value), missing)
    with pytest.raises(HandModelNotFoundError):
        HandModelLayer(model_path=str(missing))


def test_missing_key_is_the_paragraph(data, tmp_path):
    arrays = data.to_npz_arrays()
    del arrays['posedirs']
    npz = tmp_path / 'hand.npz'
    np.savez(npz, **arrays)
    with pytest.raises(HandModelFileError) as error:
        load_hand_model(npz)
    assert_mano_paragraph(str(error.value), npz)
    assert 'posedirs' in str(error.value)
    # a pickle whose weights are missing
    broken = tmp_path / 'broken_right.pkl'
    write_mano_pickle(broken, data, drop=('weights', ))
    with pytest.raises(HandModelFileError) as error:
        load_hand_model(broken, tip_vertex_ids=TIPS)
    assert_mano_paragraph(str(error.value), broken)
    assert 'weights' in str(error.value)
    # not a pickle at all
    junk = tmp_path / 'junk_right.pkl'
    junk.write_bytes(b'not a pickle')
    with pytest.raises(HandModelFileError) as error:
        load_hand_model(junk)
    assert_mano_paragraph(str(error.value), junk)


def test_npz_with_an_object_array_is_refused(data, tmp_path):
    arrays = data.to_npz_arrays()
    arrays['source'] = np.array([{'a': 1}], dtype=object)
    npz = tmp_path / 'hand.npz'
    np.savez(npz, **arrays)
    with pytest.raises(HandModelFileError, match='pickled objects'):
        load_hand_model(npz)
