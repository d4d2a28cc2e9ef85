"""tools/convert_mano.py: MANO's .pkl -> handkit's .npz, on a synthetic
MANO-structured file (tests/tools/fake_mano.py)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fake_mano import TIPS, synthetic_model, write_mano_pickle
from handkit.models.hand_model import HandModelLayer, load_hand_model
from handkit.tools import convert_mano
from tiny_setup import exit_code

ROOT = Path(__file__).resolve().parents[2]
TIP_ARGS = ['--tip-vertex-ids'] + [str(t) for t in TIPS]
KEYS = ('v_template', 'faces', 'shapedirs', 'posedirs', 'weights',
        'J_regressor', 'kintree_parents', 'hands_components', 'hands_mean',
        'tip_vertex_ids')


@pytest.fixture
def data():
    return synthetic_model()


def test_round_trip_pkl_npz_load_equals(data, tmp_path):
    pkl = write_mano_pickle(tmp_path / 'MANO_RIGHT.pkl', data)
    assert exit_code(convert_mano.main, [pkl] + TIP_ARGS) == 0
    npz = tmp_path / 'MANO_RIGHT.npz'
    from_pkl = load_hand_model(pkl, tip_vertex_ids=TIPS)
    from_npz = load_hand_model(npz)
    for key in KEYS:
        np.testing.assert_array_equal(getattr(from_npz, key),
                                      getattr(from_pkl, key), err_msg=key)
    assert from_npz.joint_order == from_pkl.joint_order
    assert (from_npz.side, from_npz.source, from_npz.licence) == (
        'right', 'MANO_RIGHT.pkl', from_pkl.licence)
    # the .npz holds no pickled object
    with np.load(npz, allow_pickle=False) as arrays:
        assert set(arrays.files) >= set(KEYS) | {
            'joint_order', 'side', 'licence', 'source',
            'shapedirs_x_sign_fixed'}
        assert all(arrays[key].dtype != object for key in arrays.files)
    # both give the same mesh
    pose = torch.randn(2, 9, dtype=torch.float64)
    meshes = [HandModelLayer(model_path=str(path), tip_vertex_ids=TIPS
                             if path == pkl else None,
                             dtype=torch.float64)(pose=pose)['vertices']
              for path in (pkl, npz)]
    torch.testing.assert_close(meshes[0], meshes[1], rtol=0, atol=0)


def test_left_file_fix_is_recorded_in_the_npz(data, tmp_path):
    pkl = write_mano_pickle(tmp_path / 'MANO_LEFT.pkl', data)
    out = tmp_path / 'left.npz'
    assert exit_code(convert_mano.main, [pkl, out] + TIP_ARGS) == 0
    left = load_hand_model(out)
    assert left.side == 'left' and left.shapedirs_x_sign_fixed
    np.testing.assert_array_equal(left.shapedirs[:, 0],
                                  -data.shapedirs[:, 0])
    raw = tmp_path / 'left_raw.npz'
    assert exit_code(convert_mano.main, [pkl, raw, '--no-fix-left-shapedirs']
                     + TIP_ARGS) == 0
    with np.load(raw) as arrays:
        assert not bool(arrays['shapedirs_x_sign_fixed'])
    # loading the unfixed .npz fixes it then (and says so)
    assert load_hand_model(raw).shapedirs_x_sign_fixed


def test_existing_output_needs_overwrite_and_input_is_never_overwritten(
        data, tmp_path, capsys):
    pkl = write_mano_pickle(tmp_path / 'MANO_RIGHT.pkl', data)
    out = tmp_path / 'hand.npz'
    out.write_bytes(b'previous')
    assert exit_code(convert_mano.main, [pkl, out] + TIP_ARGS) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('handkit: error: ') and '\n' not in err
    assert '--overwrite' in err and out.read_bytes() == b'previous'
    assert exit_code(convert_mano.main, [pkl, out, '--overwrite']
                     + TIP_ARGS) == 0
    assert load_hand_model(out).num_vertices == 40
    # the input, even with --overwrite (a .npz input converted onto itself)
    before = out.read_bytes()
    assert exit_code(convert_mano.main, [out, out, '--overwrite']) == 2
    err = capsys.readouterr().err.strip()
    assert 'would overwrite the input' in err and '\n' not in err
    assert out.read_bytes() == before


def test_bad_inputs_are_one_line_exit_2(data, tmp_path, capsys):
    missing = tmp_path / 'MANO_RIGHT.pkl'
    assert exit_code(convert_mano.main, [missing]) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'mano.is.tue.mpg.de' in err
    assert 'model_path' in err
    broken = write_mano_pickle(tmp_path / 'broken_right.pkl', data,
                               drop=('posedirs', ))
    assert exit_code(convert_mano.main, [broken] + TIP_ARGS) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'posedirs' in err and 'Romero' in err
    assert not (tmp_path / 'broken_right.npz').exists()
    marker = tmp_path / 'marker'

    class Payload:
        def __reduce__(self):
            import os
            return os.system, (f'touch {marker}', )

    evil = write_mano_pickle(tmp_path / 'evil_right.pkl', data,
                             extra={'hands_coeffs': Payload()})
    assert exit_code(convert_mano.main, [evil] + TIP_ARGS) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'refused' in err and not marker.exists()
    assert exit_code(convert_mano.main, [evil, tmp_path / 'x.txt']) == 2
    assert '.npz' in capsys.readouterr().err


def test_the_script_runs(data, tmp_path):
    pkl = write_mano_pickle(tmp_path / 'MANO_RIGHT.pkl', data)
    result = subprocess.run(
        [sys.executable, 'tools/convert_mano.py', str(pkl),
         str(tmp_path / 'out.npz')] + TIP_ARGS, cwd=ROOT,
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'right hand, 40 vertices' in result.stdout
