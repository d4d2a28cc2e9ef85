"""HandInferencer: MediaPipe Hands' palm detector + landmark model.

Two kinds of tests:

* without the converted models: the ROI geometry by hand, and the whole
  inferencer on the released full models' raw outputs for two photos
  (``tests/data/mediapipe/tflite_full_outputs.npz``, replayed by stand-in
  models that carry the real configs' pipelines);
* with the converted models (``python tools/convert_mediapipe.py``): every
  labelled hand of ``tests/data/panoptic_coco``. Without them these tests
  FAIL with the one line of ``converted_checkpoint``; they never skip.
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from handkit.apis import HandInferencer, inference, init_model
from handkit.apis.hand_inferencer import (landmarks_to_roi, palm_to_roi,
                                          roi_to_bbox)
from handkit.engine.config import load_config_file
from handkit.geometry import apply_affine, get_warp_matrix
from handkit.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / 'tests' / 'data'
FIXTURE = DATA / 'mediapipe' / 'tflite_full_outputs.npz'
PANOPTIC = DATA / 'panoptic_coco'
EX2 = PANOPTIC / 'ex2_2.flv_000040_l.jpg'  # 400 x 300, two hands
HAND_KEYS = ['bbox', 'handedness', 'handedness_score', 'keypoints',
             'keypoints_3d', 'scores']


def labelled_hands(folder=PANOPTIC, name='test_panoptic.json'):
    """{file name: [(keypoints (21, 2), visible (21,), side)]}."""
    data = json.loads((folder / name).read_text())
    names = {image['id']: image['file_name'] for image in data['images']}
    hands = {}
    for item in data['annotations']:
        labels = np.reshape(item['keypoints'], (21, 3)).astype(np.float64)
        file_name = names[item['image_id']]
        side = 'left' if file_name.endswith('_l.jpg') else 'right'
        hands.setdefault(file_name, []).append(
            (labels[:, :2], labels[:, 2] > 0, side))
    return hands


def box_of(points):
    return np.concatenate([points.min(0), points.max(0)])


def iou(box_a, box_b):
    inter = np.prod(np.clip(np.minimum(box_a[2:], box_b[2:])
                            - np.maximum(box_a[:2], box_b[:2]), 0, None))
    area = np.prod(box_a[2:] - box_a[:2]) + np.prod(box_b[2:] - box_b[:2])
    return inter / (area - inter)


def match(hands, keypoints, visible):
    """(IoU, PCK@0.2 of the box's longer side, hand) of the detected hand
    best overlapping the labelled keypoint box."""
    truth = box_of(keypoints[visible])
    best = max(hands, key=lambda hand: iou(hand['bbox'], truth),
               default=None)
    if best is None:
        return 0.0, 0.0, None
    errors = np.linalg.norm(best['keypoints'] - keypoints, axis=1)[visible]
    pck = float((errors <= 0.2 * np.ptp(keypoints[visible], 0).max()).mean())
    return float(iou(best['bbox'], truth)), pck, best


# ------------------------------------------------------------ geometry
def test_palm_to_roi_by_hand():
    # a palm box 20 x 20 at (100, 100), wrist below the middle MCP
    box = np.array([[90, 90, 110, 110]], np.float64)
    upright = np.zeros((1, 7, 2))
    upright[0, 0], upright[0, 2] = (100, 110), (100, 90)
    center, size, rotation = palm_to_roi(box, upright)
    # no rotation; shifted by half the height toward the fingers; x 2.6
    np.testing.assert_allclose(center, [[100, 90]], atol=1e-9)
    np.testing.assert_allclose(size, [52])
    np.testing.assert_allclose(rotation, [0], atol=1e-9)
    # fingers pointing right: the ROI turns by 90 degrees, shifts right
    right = np.zeros((1, 7, 2))
    right[0, 0], right[0, 2] = (90, 100), (110, 100)
    center, size, rotation = palm_to_roi(box, right)
    np.testing.assert_allclose(center, [[110, 100]], atol=1e-9)
    np.testing.assert_allclose(rotation, [90])
    # TopdownAffine's crop of that ROI shows the fingers up
    warp = get_warp_matrix(center[0], size[0], rotation[0], (224, 224))
    wrist, mcp = apply_affine(right[0, [0, 2]], warp)
    assert mcp[1] < wrist[1] - 10 and abs(mcp[0] - wrist[0]) < 1e-3


def test_landmarks_to_roi_by_hand():
    # an upright hand: wrist (50, 100), the palm and lower finger joints
    # inside x 40..60, y 60..100
    keypoints = np.zeros((1, 21, 2))
    keypoints[0, 0] = (50, 100)
    for finger, x in enumerate((40, 45, 50, 55, 60)):
        for joint in range(4):
            keypoints[0, 1 + 4 * finger + joint] = (x, 80 - 10 * joint)
    center, size, rotation = landmarks_to_roi(keypoints)
    np.testing.assert_allclose(rotation, [0], atol=1e-9)
    # subset box x 40..60, y 60..100 (rows 0-1 of each finger, wrist):
    # centre (50, 80), 20 x 40; shift -0.1 x 40; side 2 x 40
    np.testing.assert_allclose(center, [[50, 76]], atol=1e-9)
    np.testing.assert_allclose(size, [80])


def test_roi_to_bbox_gives_inference_the_roi_square():
    from handkit.apis.inference import BBOX_PADDING
    box = roi_to_bbox((100, 50), 80)
    np.testing.assert_allclose(box[2] - box[0], 80 / BBOX_PADDING)
    np.testing.assert_allclose((box[:2] + box[2:]) / 2, (100, 50))


# ------------------------------------------- replayed released outputs
class Replay(nn.Module):
    """A stand-in for a converted MediaPipe model: the real config's test
    pipeline and data preprocessor, outputs replayed from the fixture
    (``None``: nothing detected), the batch sizes it was given recorded."""

    def __init__(self, config, outputs):
        super().__init__()
        self.cfg = load_config_file(str(ROOT / 'configs' / 'mediapipe' /
                                        config))
        self.data_preprocessor = MODELS.build(self.cfg.model.data_preprocessor)
        self.outputs = outputs
        self.batches = []
        self.inputs = []

    def predict_tensors(self, inputs):
        self.batches.append(len(inputs))
        self.inputs.append(inputs)
        if self.outputs is None:  # a palm detector that finds nothing
            return {'palms.boxes': torch.zeros(len(inputs), 2016, 18),
                    'palms.scores': torch.full((len(inputs), 2016, 1), -9.)}
        return {name: torch.as_tensor(value[:len(inputs)])
                for name, value in self.outputs.items()}


def replayed(key, **kwargs):
    data = np.load(FIXTURE)
    boxes = np.zeros((1, 2016, 18), np.float32)
    scores = np.full((1, 2016, 1), -100.0, np.float32)
    index = data[f'{key}.palm_anchor_indices'].astype(int)
    boxes[0, index] = data[f'{key}.palm_raw_boxes']
    scores[0, index] = data[f'{key}.palm_raw_scores']
    detector = Replay('palm_detection_full.py',
                      {'palms.boxes': boxes, 'palms.scores': scores})
    landmarks = Replay('hand_landmark_full.py', {
        f'landmarks.{name}': data[f'{key}.{name}'] for name in (
            'landmarks', 'presence', 'handedness', 'world_landmarks')})
    return HandInferencer(detector=detector, landmarks=landmarks,
                          **dict(dict(refine=0), **kwargs)), data


def test_released_outputs_give_both_hands_of_a_photo():
    inferencer, data = replayed('panoptic_ex2')
    hands = inferencer(str(EX2))
    assert len(hands) == 2
    assert sorted(hands[0]) == HAND_KEYS
    # the palm detector saw one 192 x 192 RGB [0, 1] letterbox; the
    # landmark model both hands' 224 x 224 crops in one batch
    assert inferencer.detector.model.batches == [1]
    assert inferencer.landmarks.model.batches == [2]
    assert inferencer.landmarks.model.inputs[0].shape == (2, 3, 224, 224)
    assert 0 <= float(inferencer.detector.model.inputs[0].min()) and \
        float(inferencer.detector.model.inputs[0].max()) <= 1
    np.testing.assert_allclose(np.stack([hand['keypoints']
                                         for hand in hands]),
                               data['panoptic_ex2.keypoints'], atol=0.05)
    for keypoints, visible, side in labelled_hands()[EX2.name]:
        overlap, pck, hand = match(hands, keypoints, visible)
        assert overlap >= 0.5 and pck >= 0.8, (side, overlap, pck)
        # a photo, not a selfie: the true side (MediaPipe says the other)
        assert hand['handedness'] == side
        assert 0.5 <= hand['handedness_score'] <= 1
        np.testing.assert_allclose(hand['bbox'], box_of(hand['keypoints']))
        assert hand['keypoints_3d'].shape == (21, 3)
        # world landmarks in mm: a wrist -> middle-MCP bone of 5 to 15 cm
        bone = np.linalg.norm(hand['keypoints_3d'][9]
                              - hand['keypoints_3d'][0])
        assert 50 < bone < 150
    mirrored, _ = replayed('panoptic_ex2', mirrored=True)
    assert [hand['handedness'] for hand in mirrored(str(EX2))] == [
        {'left': 'right', 'right': 'left'}[hand['handedness']]
        for hand in hands]


def test_released_outputs_on_a_onehand10k_photo():
    inferencer, data = replayed('onehand10k_9', max_hands=1)
    hands = inferencer(str(DATA / 'onehand10k_coco' / '9.jpg'))
    assert len(hands) == 1
    keypoints, visible, _ = labelled_hands(DATA / 'onehand10k_coco',
                                           'test_onehand10k.json')['9.jpg'][0]
    overlap, pck, _ = match(hands, keypoints, visible)
    assert overlap >= 0.8 and pck == 1.0


def test_wide_frames_are_tiled_in_the_same_detector_batch():
    inferencer = HandInferencer(
        detector=Replay('palm_detection_full.py', None),
        landmarks=Replay('hand_landmark_full.py', None))
    grey = np.full((720, 1280, 3), 128, np.uint8)
    assert inferencer(grey) == []
    # the letterboxed frame and 3 square tiles of 720, one batch
    assert inferencer.detector.model.batches == [4]
    assert inferencer.landmarks.model.batches == []
    inferencer.detector.model.batches.clear()
    assert inferencer(np.full((300, 400, 3), 128, np.uint8)) == []
    assert inferencer.detector.model.batches == [1]


def test_missing_conversions_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv('HANDKIT_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        HandInferencer()
    assert '\n' not in str(error.value)
    assert 'python tools/convert_mediapipe.py' in str(error.value)


def test_pose_model_replaces_the_keypoints(tiny_trained):
    _, config, checkpoint = tiny_trained
    inferencer, _ = replayed('panoptic_ex2', pose=(str(config),
                                                   str(checkpoint)))
    plain, _ = replayed('panoptic_ex2')
    image = cv2.imread(str(EX2))
    hands, mediapipe = inferencer(image), plain(image)
    assert len(hands) == 2
    pose = init_model(str(config), str(checkpoint))
    for hand, reference in zip(hands, mediapipe):
        assert hand['handedness'] == reference['handedness']
        assert hand['keypoints_3d'] is None  # a 2D model
        # the ROI square of the landmark pass, axis-aligned
        center, size, _ = palm_to_roi(*_palm_of(plain, image, reference))
        expected = inference(pose, image, bbox=roi_to_bbox(center[0],
                                                           size[0]))
        np.testing.assert_allclose(hand['keypoints'],
                                   expected['keypoints'], atol=1e-3)
        np.testing.assert_allclose(hand['scores'], expected['scores'],
                                   atol=1e-4)


def test_a_mesh_pose_model_gives_each_hand_its_vertices(tmp_path):
    """Boukhayma et al. on the detected hands: the mesh comes with the
    keypoints, and draw_mesh places it where the keypoints are."""
    from handkit.visualization.draw3d import draw_mesh, model_faces
    config = str(ROOT / 'configs/boukhayma/boukhayma_synthetic_mesh.py')
    torch.manual_seed(0)
    model = init_model(config)
    checkpoint = tmp_path / 'mesh.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    inferencer, _ = replayed('panoptic_ex2', pose=(config, str(checkpoint)))
    image = cv2.imread(str(EX2))
    hands = inferencer(image)
    assert len(hands) == 2
    faces = model_faces(inferencer.pose)
    for hand in hands:
        assert hand['vertices'].shape == (1686, 3)
        assert hand['keypoints_3d'].shape == (21, 3)
        drawn = draw_mesh(image, hand['vertices'], faces,
                          hand['keypoints_3d'], hand['keypoints'])
        rows, cols = np.nonzero((drawn != image).any(-1))
        # the mesh covers the hand's keypoints' box, give or take
        low, high = hand['keypoints'].min(0), hand['keypoints'].max(0)
        margin = 0.5 * (high - low).max()
        assert low[0] - margin <= cols.mean() <= high[0] + margin
        assert low[1] - margin <= rows.mean() <= high[1] + margin


def _palm_of(inferencer, image, hand):
    """The palm (box (1, 4), keypoints (1, 7, 2)) whose landmarks became
    ``hand`` (refine=0: the palm nearest to its wrist)."""
    palms = inferencer.detect_palms(image)
    nearest = np.argmin(np.linalg.norm(
        palms['palm_keypoints'][:, 0] - hand['keypoints'][0], axis=1))
    return (palms['palm_boxes'][nearest:nearest + 1],
            palms['palm_keypoints'][nearest:nearest + 1])


_spec = importlib.util.spec_from_file_location('demo', ROOT / 'tools' /
                                               'demo.py')
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)


def run_demo(*args):
    try:
        demo.main([str(arg) for arg in args])
    except SystemExit as exit_:
        return exit_.code
    return 0


def write_clip(path, image, num_frames):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (image.shape[1], image.shape[0]))
    for _ in range(num_frames):
        writer.write(image)
    writer.release()
    return path


def test_demo_without_config_writes_the_hands_json(tmp_path, monkeypatch,
                                                   capsys):
    """The demo's default mode, on the replayed models."""
    import handkit.tools.demo as demo_module
    monkeypatch.setattr(
        demo_module, 'HandInferencer',
        lambda **kwargs: replayed('panoptic_ex2')[0])
    assert run_demo('--input', EX2, '--out', tmp_path / 'out') == 0
    written = json.loads((tmp_path / 'out' / (EX2.stem + '.json'))
                         .read_text())
    assert list(written) == ['hands'] and len(written['hands']) == 2
    assert sorted(written['hands'][0]) == HAND_KEYS
    assert np.shape(written['hands'][0]['keypoints']) == (21, 2)
    drawn = cv2.imread(str(tmp_path / 'out' / (EX2.stem + '.png')))
    assert (drawn != cv2.imread(str(EX2))).any(axis=2).sum() > 200
    clip = write_clip(tmp_path / 'clip.avi', cv2.imread(str(EX2)), 2)
    assert run_demo('--input', clip, '--out', tmp_path / 'out') == 0
    frames = json.loads((tmp_path / 'out' / 'clip.json').read_text())[
        'frames']
    assert len(frames) == 2 and len(frames[1]['hands']) == 2
    # outputs exist now: refused without --overwrite, one line
    assert run_demo('--input', EX2, '--out', tmp_path / 'out') == 2
    assert capsys.readouterr().err.count('\n') == 1
    assert run_demo('--input', EX2, '--out', tmp_path / 'out', '--bbox',
                    1, 2, 3, 4) == 2
    assert 'handkit: error: --bbox needs CONFIG and CHECKPOINT' in \
        capsys.readouterr().err


def test_demo_webcam_until_the_camera_stops(tmp_path, monkeypatch, capsys):
    import handkit.tools.demo as demo_module
    monkeypatch.setattr(
        demo_module, 'HandInferencer',
        lambda **kwargs: replayed('panoptic_ex2')[0])
    frame = cv2.imread(str(EX2))

    class Camera:
        """Camera 3 giving 2 frames, then Ctrl-C."""

        def __init__(self, index):
            assert index == 3
            self.left = 2

        def isOpened(self):
            return True

        def read(self):
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            return True, frame.copy()

        def get(self, prop):
            return 30.0

        def release(self):
            pass

    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.setattr(cv2, 'VideoCapture', Camera)
    assert run_demo('--webcam', 3, '--out', tmp_path) == 0
    assert '2 frames ->' in capsys.readouterr().out
    frames = json.loads((tmp_path / 'webcam_3.json').read_text())['frames']
    assert [len(frame['hands']) for frame in frames] == [2, 2]
    assert (tmp_path / 'webcam_3.mp4').stat().st_size > 0


def test_demo_warns_once_when_the_whole_image_is_the_crop(tiny_trained,
                                                          tmp_path, capsys):
    _, config, checkpoint = tiny_trained
    folder = tmp_path / 'in'
    folder.mkdir()
    for name in ('9.jpg', '33.jpg'):
        (folder / name).write_bytes((DATA / 'onehand10k_coco' /
                                     name).read_bytes())
    assert run_demo(config, checkpoint, '--input', folder, '--out',
                    tmp_path / 'out') == 0
    err = capsys.readouterr().err
    assert err.count('whole image is taken as the hand crop') == 1
    assert err.count('\n') == 1
    assert run_demo(config, checkpoint, '--input', folder / '9.jpg', '--out',
                    tmp_path / 'out2', '--bbox', 20, 60, 200, 300) == 0
    assert 'warning' not in capsys.readouterr().err


# --------------------------------------------- the converted models
_CONVERTED = {}


def converted_hands():
    """HandInferencer() on the converted full models, built once; a missing
    conversion FAILS the test calling it (one line), never skips."""
    if 'hands' not in _CONVERTED:
        try:
            _CONVERTED['hands'] = HandInferencer()
        except FileNotFoundError as error:
            pytest.fail(str(error), pytrace=False)
    return _CONVERTED['hands']


def test_every_panoptic_hand_is_found():
    mediapipe_hands = converted_hands()
    """Each labelled hand: a detected hand of IoU >= 0.5 with its keypoint
    box; PCK@0.2 (of the box's longer side) >= 0.8 for each hand and >= 0.9
    over all labelled keypoints."""
    hits, total = 0, 0
    for name, labelled in labelled_hands().items():
        hands = mediapipe_hands(str(PANOPTIC / name))
        assert 1 <= len(hands) <= 2
        for keypoints, visible, side in labelled:
            overlap, pck, hand = match(hands, keypoints, visible)
            assert overlap >= 0.5, (name, side, overlap)
            assert pck >= 0.8, (name, side, pck)
            assert hand['handedness'] == side, (name, side)
            hits += pck * visible.sum()
            total += visible.sum()
    assert hits / total >= 0.9


def test_no_hand_in_a_grey_image():
    assert converted_hands()(np.full((480, 640, 3), 128, np.uint8)) == []


def test_demo_folder_and_video_with_the_converted_models(tmp_path):
    converted_hands()
    folder = tmp_path / 'in'
    folder.mkdir()
    for name in ('005880453_01_l.jpg', EX2.name):
        (folder / name).write_bytes((PANOPTIC / name).read_bytes())
    result = subprocess.run(
        [sys.executable, 'tools/demo.py', '--input', str(folder), '--out',
         str(tmp_path / 'out')], cwd=ROOT, capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ('005880453_01_l', EX2.stem):
        written = json.loads((tmp_path / 'out' / f'{name}.json').read_text())
        assert len(written['hands']) == 2
        assert sorted(written['hands'][0]) == HAND_KEYS
        assert (tmp_path / 'out' / f'{name}.png').is_file()
    clip = write_clip(tmp_path / 'clip.avi', cv2.imread(str(EX2)), 2)
    assert run_demo('--input', clip, '--out', tmp_path / 'video') == 0
    frames = json.loads((tmp_path / 'video' / 'clip.json').read_text())[
        'frames']
    assert [len(frame['hands']) for frame in frames] == [2, 2]
