"""tools/demo.py on an image, a folder and a video, and its clear errors."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from handkit.apis.demo_runner import output_paths
from handkit.visualization.draw import caption_height

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / 'tests' / 'data' / \
    'onehand10k_coco'  # 9.jpg is 238 x 358, 33.jpg 226 x 346 (w x h)

_spec = importlib.util.spec_from_file_location('demo', ROOT / 'tools' /
                                               'demo.py')
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)


@pytest.fixture(scope='module')
def trained(tiny_trained):
    _, config, checkpoint = tiny_trained
    return str(config), str(checkpoint)


def run_demo(trained, *args):
    """demo.main in this process; the exit code (0 when it returned)."""
    try:
        demo.main([*trained, *map(str, args)])
    except SystemExit as exit_:
        return exit_.code
    return 0


def test_image_from_the_command_line(trained, tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/demo.py', *trained, '--input',
         str(DATA / '9.jpg'), '--out', str(tmp_path), '--score-thr', '0'],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = cv2.imread(str(tmp_path / '9.png'))
    original = cv2.imread(str(DATA / '9.jpg'))
    assert drawn.shape == original.shape
    assert (drawn != original).any(axis=2).sum() > 100  # skeleton + scores


def test_show_maps_puts_the_g1_g6_tiles_beside_the_image(trained, tmp_path):
    assert run_demo(trained, '--input', DATA / '9.jpg', '--out', tmp_path,
                    '--show-maps', '--bbox', 20, 60, 200, 300) == 0
    drawn = cv2.imread(str(tmp_path / '9.png'))
    # image | 7 tiles of 96 (hand, 5 fingers, palm) with captions
    assert drawn.shape == (358, 238 + 4 + 7 * 96 + 6 * 4, 3)
    assert (drawn[96 + caption_height(96):, 242:] == 0).all()


def test_folder_skips_non_images(trained, tmp_path, capsys):
    folder = tmp_path / 'in'
    folder.mkdir()
    for name in ('9.jpg', '33.jpg'):
        shutil.copy(DATA / name, folder / name)
    (folder / 'notes.txt').write_text('not an image')
    (folder / 'sub').mkdir()
    assert run_demo(trained, '--input', folder, '--out', tmp_path / 'out') \
        == 0
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == \
        ['33.json', '33.png', '9.json', '9.png']
    assert cv2.imread(str(tmp_path / 'out' / '33.png')).shape == \
        (346, 226, 3)
    # the whole image is the crop: one hand, the image's box, no side
    hand, = json.loads((tmp_path / 'out' / '33.json').read_text())['hands']
    assert hand['bbox'] == [0, 0, 225, 345]
    assert np.shape(hand['keypoints']) == (21, 2)
    assert hand['handedness'] is None and hand['keypoints_3d'] is None
    assert (f'skipped {folder / "notes.txt"}: cannot decode image: '
            f'{folder / "notes.txt"}') in capsys.readouterr().out


def test_folder_without_images_exits_2(trained, tmp_path, capsys):
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert run_demo(trained, '--input', empty, '--out', tmp_path / 'o') == 2
    assert f'handkit: error: no images in {empty}' in capsys.readouterr().err
    (empty / 'notes.txt').write_text('not an image')
    assert run_demo(trained, '--input', empty, '--out', tmp_path / 'o') == 2
    captured = capsys.readouterr()
    assert 'skipped' in captured.out and 'no images in' in captured.err


def write_clip(path, num_frames):
    """An 80 x 60 MJPG clip of ``num_frames`` random frames at ``path``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (80, 60))
    rng = np.random.default_rng(0)
    for _ in range(num_frames):
        writer.write(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    writer.release()
    return path


def test_video_gets_a_drawn_frame_per_frame(trained, tmp_path, capsys):
    clip = write_clip(tmp_path / 'clip.avi', 3)
    assert run_demo(trained, '--input', clip, '--out', tmp_path / 'out') == 0
    capture = cv2.VideoCapture(str(tmp_path / 'out' / 'clip.mp4'))
    frames = []
    ok, frame = capture.read()
    while ok:
        frames.append(frame)
        ok, frame = capture.read()
    capture.release()
    assert len(frames) == 3 and frames[0].shape == (60, 80, 3)
    assert '3 frames ->' in capsys.readouterr().out


def test_bad_inputs_exit_2_with_one_line(trained, tmp_path, capsys):
    corrupt = tmp_path / 'broken.mp4'
    corrupt.write_bytes(b'not a video' * 100)
    assert run_demo(trained, '--input', corrupt, '--out',
                    tmp_path / 'o') == 2
    assert f'handkit: error: cannot open video {corrupt}' in \
        capsys.readouterr().err
    assert run_demo(trained, '--input', tmp_path / 'none.jpg', '--out',
                    tmp_path) == 2
    assert 'handkit: error: input not found' in capsys.readouterr().err
    assert run_demo(trained, '--input', DATA / '9.jpg', '--out', tmp_path,
                    '--bbox', 500, 500, 600, 600) == 2
    assert 'lies outside the image of size 238 x 358' in \
        capsys.readouterr().err


def test_outputs_never_overwrite_an_input(trained, tmp_path, capsys):
    # --out is the input folder, which holds a.png: its output would be
    # a.png itself. Refused before the model is built; nothing written.
    folder = tmp_path / 'photos'
    folder.mkdir()
    shutil.copy(DATA / '9.jpg', folder / 'b.jpg')
    cv2.imwrite(str(folder / 'a.png'), cv2.imread(str(DATA / '9.jpg')))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert run_demo(trained, '--input', folder, '--out', folder) == 2
    assert capsys.readouterr().err.strip() == (
        f"handkit: error: the output {folder / 'a.png'} would overwrite the "
        f"input {folder / 'a.png'}; choose another --out")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    # A single image as well.
    assert run_demo(trained, '--input', folder / 'a.png', '--out',
                    folder) == 2
    assert 'would overwrite the input' in capsys.readouterr().err


def test_inputs_sharing_a_name_keep_their_outputs_apart(trained, tmp_path):
    assert output_paths(['in/a.jpg', 'in/a.png', 'in/b.jpg', 'in/c.mp4'],
                        'out') == {
        'in/a.jpg': 'out/a_jpg.png', 'in/a.png': 'out/a_png.png',
        'in/b.jpg': 'out/b.png', 'in/c.mp4': 'out/c.mp4'}
    folder = tmp_path / 'photos'
    folder.mkdir()
    shutil.copy(DATA / '9.jpg', folder / 'a.jpg')
    cv2.imwrite(str(folder / 'a.png'), cv2.imread(str(DATA / '33.jpg')))
    assert run_demo(trained, '--input', folder, '--out', tmp_path / 'out') \
        == 0
    out = tmp_path / 'out'
    assert sorted(p.name for p in out.iterdir()) == [
        'a_jpg.json', 'a_jpg.png', 'a_png.json', 'a_png.png']
    assert cv2.imread(str(out / 'a_jpg.png')).shape == (358, 238, 3)
    assert cv2.imread(str(out / 'a_png.png')).shape == (346, 226, 3)


@pytest.fixture(scope='module')
def chain_files(tmp_path_factory):
    """Config and checkpoint files of a tiny HandSegNet, PoseNet +
    PosePrior, DetNet and IKNet (random weights)."""
    sys.path.insert(0, str(ROOT / 'tests' / 'deploy'))
    import torch
    from tiny_models import tiny_checkpoint, write_tiny_config

    from handkit.apis import init_model
    root = tmp_path_factory.mktemp('chain')
    files = {}
    for family in ('handsegnet', 'zimmermann_brox', 'detnet'):
        files[family] = (
            str(write_tiny_config(family, root / f'{family}.py')),
            str(root / f'{family}.pth'))
        tiny_checkpoint(family, files[family][1])
    iknet_config = root / 'iknet.py'
    iknet_config.write_text(f"_base_ = ['{ROOT}/configs/zhou/"
                            f"iknet_synthetic.py']\nmodel = dict(width=16)\n")
    torch.manual_seed(0)
    iknet = init_model(str(iknet_config))
    torch.save(dict(state_dict=iknet.state_dict(), meta={}),
               root / 'iknet.pth')
    files['iknet'] = (str(iknet_config), str(root / 'iknet.pth'))
    return files


def test_hand_seg_finds_the_box_of_posenet_and_poseprior(chain_files,
                                                         tmp_path):
    from handkit.apis import detect_hand, init_model
    image = cv2.imread(str(DATA / '9.jpg'))
    assert run_demo(chain_files['zimmermann_brox'], '--input',
                    DATA / '9.jpg', '--out', tmp_path, '--hand-seg',
                    *chain_files['handsegnet'], '--hand-side', 'left',
                    '--iknet', *chain_files['iknet']) == 0
    assert cv2.imread(str(tmp_path / '9.png')).shape == image.shape
    written = json.loads((tmp_path / '9.json').read_text())['hands'][0]
    assert sorted(written) == ['bbox', 'handedness', 'handedness_score',
                               'keypoints', 'keypoints_3d', 'quaternions',
                               'scores']
    assert written['handedness'] == 'left'
    hand = detect_hand(init_model(*chain_files['handsegnet']), image)
    np.testing.assert_allclose(written['bbox'], hand['bbox'], atol=1e-3)
    assert np.shape(written['quaternions']) == (21, 4)
    np.testing.assert_allclose(np.linalg.norm(written['quaternions'],
                                              axis=1), 1.0, atol=1e-3)


def test_iknet_adds_rotations_to_detnet_per_video_frame(chain_files,
                                                        tmp_path, capsys):
    clip = write_clip(tmp_path / 'clip.avi', 2)
    assert run_demo(chain_files['detnet'], '--input', clip, '--out',
                    tmp_path / 'out', '--iknet', *chain_files['iknet']) == 0
    frames = json.loads((tmp_path / 'out' / 'clip.json').read_text())[
        'frames']
    assert len(frames) == 2
    hand = frames[0]['hands'][0]
    assert sorted(hand) == ['bbox', 'handedness', 'handedness_score',
                            'keypoints', 'keypoints_3d', 'quaternions',
                            'scores']
    assert hand['handedness'] is None  # no --hand-side given
    assert np.shape(frames[1]['hands'][0]['keypoints_3d']) == (21, 3)
    assert f"2 frames -> {tmp_path / 'out' / 'clip.json'}" in \
        capsys.readouterr().out


def test_show_3d_puts_the_joint_views_beside_a_3d_models_drawing(
        chain_files, trained, tmp_path, capsys):
    assert run_demo(chain_files['detnet'], '--input', DATA / '9.jpg',
                    '--out', tmp_path, '--show-3d') == 0
    drawn = cv2.imread(str(tmp_path / '9.png'))
    # image (238 x 358) | front and side views, each 358 square
    assert drawn.shape == (358, 238 + 4 + 2 * 358 + 4, 3)
    hand = json.loads((tmp_path / '9.json').read_text())['hands'][0]
    assert np.shape(hand['keypoints_3d']) == (21, 3)
    assert run_demo(trained, '--input', DATA / '9.jpg', '--out',
                    tmp_path / 'two_d', '--show-3d') == 2
    assert 'handkit: error: --show-3d: the model predicts no 3D joints (a ' \
        '2D model)' in capsys.readouterr().err
    assert not (tmp_path / 'two_d' / '9.png').exists()


def test_mesh_faces_come_from_the_models_hand_model():
    from handkit.apis import init_model
    from handkit.models.hand_model import HandModelLayer
    from handkit.visualization.draw3d import model_faces
    sys.path.insert(0, str(ROOT / 'tests' / 'deploy'))
    from tiny_models import tiny_model
    faces = HandModelLayer().faces.numpy()
    assert faces.shape == (3368, 3)  # the open hand's triangles
    for config in ('boukhayma/boukhayma_synthetic.py', 'ge/ge_synthetic.py'):
        model = init_model(str(ROOT / 'configs' / config))
        np.testing.assert_array_equal(model_faces(model), faces)
    assert model_faces(tiny_model('detnet')) is None


def test_chain_options_errors_exit_2(trained, chain_files, tmp_path,
                                     capsys):
    assert run_demo(trained, '--input', DATA / '9.jpg', '--out', tmp_path,
                    '--iknet', *chain_files['iknet']) == 2
    assert "handkit: error: inverse_kinematics: the result has no " \
        "'keypoints_3d'" in capsys.readouterr().err
    assert not (tmp_path / '9.png').exists()
    assert run_demo(chain_files['detnet'], '--input', DATA / '9.jpg',
                    '--out', tmp_path, '--hand-seg',
                    *chain_files['detnet']) == 2
    assert 'handkit: error: detect_hand: the model predicts no hand mask' \
        in capsys.readouterr().err
    assert run_demo(trained, '--input', DATA / '9.jpg', '--out', tmp_path,
                    '--bbox', 1, 2, 3, 4, '--hand-seg',
                    *chain_files['handsegnet']) == 2
    assert 'argument --hand-seg: not allowed with argument --bbox' in \
        capsys.readouterr().err


def test_images_and_videos_over_the_pixel_limit_are_one_line(
        trained, tmp_path, capsys, monkeypatch):
    """A frame or an image larger than HANDKIT_MAX_IMAGE_PIXELS is refused
    before it is decoded: one line, exit 2, no output."""
    monkeypatch.setenv('HANDKIT_MAX_IMAGE_PIXELS', '4000')
    clip = write_clip(tmp_path / 'clip.avi', 2)
    assert run_demo(trained, '--input', clip, '--out', tmp_path / 'o') == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: video {clip} frames are 80 x 60 pixels (0.0048 '
        "megapixels), over handkit's limit of 0.004 megapixels "
        '(HANDKIT_MAX_IMAGE_PIXELS)')
    assert run_demo(trained, '--input', DATA / '9.jpg', '--out',
                    tmp_path / 'o') == 2
    assert capsys.readouterr().err.strip() == (
        f"handkit: error: image {DATA / '9.jpg'} is 238 x 358 pixels "
        "(0.0852 megapixels), over handkit's limit of 0.004 megapixels "
        '(HANDKIT_MAX_IMAGE_PIXELS)')
    assert not list((tmp_path / 'o').glob('*'))
