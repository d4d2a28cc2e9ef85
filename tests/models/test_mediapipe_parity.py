"""handkit's MediaPipe Hands models equal the TFLite originals.

The checkpoints come from ``python tools/convert_mediapipe.py`` (run before
pytest: they are read from ``$HANDKIT_HOME/mediapipe``); a missing one
fails the test with the command to run, it is never skipped. The
references are the TFLite interpreter's outputs on the repository's test
photos, stored by ``benchmarks/make_mediapipe_fixtures.py`` in
``tests/data/mediapipe/reference_outputs.npz``; the inputs are recomputed
here from the photos (``parity_inputs``).

Tolerance: 1e-4, relative to the output's largest |value| where that is
above 1 (``parity_tolerance``): the pixel-valued outputs (palm boxes up to
~144 px, landmarks up to ~194 px) and the palm logits cannot be matched to
1e-4 absolute in float32, where TFLite's own XNNPACK and reference kernels
already disagree by up to 6e-4 (stored as ``<output>/spread``); presence,
handedness and world landmarks (all within [-1, 1]) are held to 1e-4
absolute.
"""
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch

from handkit.apis.mediapipe_files import (CONVERT_COMMAND, MODEL_FILES,
                                          converted_checkpoint)
from handkit.engine.checkpoint import load_checkpoint_file, load_weights_into
from handkit.convert.mediapipe import OUTPUT_NAMES, build_model
from handkit.convert.mediapipe_parity import (ATOL, parity_inputs,
                                              parity_tolerance, run_torch)

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / 'tests' / 'data' / 'mediapipe' / 'reference_outputs.npz'
MODELS = [f'{name}_{variant}' for name, variant in MODEL_FILES]


@pytest.fixture(scope='module')
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _converted(model_name, variant):
    """The converted model, or a failure naming the converter."""
    try:
        path, missing = converted_checkpoint(model_name, variant), None
    except FileNotFoundError as error:
        missing = str(error)
    if missing:
        pytest.fail(missing, pytrace=False)
    model = build_model(model_name, variant)
    load_weights_into(model, path)
    return model.eval(), load_checkpoint_file(path)['meta']


def _split(key):
    name, _, variant = key.rpartition('_')
    return name, variant


def test_fixture_is_small():
    assert FIXTURE.stat().st_size < 300_000


def test_missing_conversion_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv('HANDKIT_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        converted_checkpoint('hand_landmark', 'lite')
    message = str(error.value)
    assert '\n' not in message
    assert CONVERT_COMMAND in message
    assert str(tmp_path / 'mediapipe' / 'hand_landmark_lite.pth') in message


@pytest.mark.parametrize('key', MODELS)
def test_matches_tflite(key, reference):
    model_name, variant = _split(key)
    model, meta = _converted(model_name, variant)
    assert meta['sha256'] == str(reference[f'{key}/sha256'])
    assert meta['licence'] == 'Apache-2.0 (MediaPipe, Google LLC)'
    paths = [str(ROOT / 'tests' / 'data' / name)
             for name in reference['images']]
    ours = {key: [] for key in OUTPUT_NAMES[model_name]}
    for _, array in parity_inputs(model_name, paths):
        outputs = run_torch(model, array)
        for name, tflite_name in OUTPUT_NAMES[model_name].items():
            ours[name].append(outputs[tflite_name][0])
    ours = {name: np.stack(values) for name, values in ours.items()}
    if model_name == 'palm_detection':
        top = reference[f'{key}/top_indices'].astype(np.int64)
        compared = {
            'scores': (ours['scores'][..., 0], reference[f'{key}/scores']),
            'boxes': (np.take_along_axis(ours['boxes'], top[..., None], 1),
                      reference[f'{key}/top_boxes'])}
    else:
        compared = {name: (ours[name], reference[f'{key}/{name}'])
                    for name in OUTPUT_NAMES[model_name]}
    report = []
    for name, (found, expected) in compared.items():
        assert found.shape == expected.shape, name
        difference = float(np.abs(found.astype(np.float64)
                                  - expected).max())
        tolerance = parity_tolerance(float(np.abs(expected).max()), ATOL)
        spread = float(reference[f'{key}/{name}/spread'].max())
        report.append(f'{name}: {difference:.2e} (tolerance '
                      f'{tolerance:.2e}, TFLite kernels {spread:.2e})')
        assert difference <= tolerance, '; '.join(report)
    # the palm detector's outputs are MediaPipe's layout, anchor by anchor:
    # the best anchors are the same ones
    if model_name == 'palm_detection':
        best = np.argsort(-ours['scores'][..., 0], axis=1,
                          kind='stable')[:, :5]
        assert np.array_equal(best, top[:, :5])


def test_checkpoints_hold_plain_data_only():
    """weights_only=True loads them (tensors and builtins)."""
    for model_name, variant in MODEL_FILES:
        path = converted_checkpoint(model_name, variant, must_exist=False)
        if not osp.isfile(path):
            pytest.fail(f'{path} is missing; run {CONVERT_COMMAND}',
                        pytrace=False)
        checkpoint = torch.load(path, weights_only=True)
        assert set(checkpoint) == {'state_dict', 'meta'}
        assert all(isinstance(value, torch.Tensor)
                   for value in checkpoint['state_dict'].values())
        assert checkpoint['meta']['source'] == MODEL_FILES[(model_name,
                                                            variant)][0]


def _onehand10k_hands():
    import json
    folder = ROOT / 'tests' / 'data' / 'onehand10k_coco'
    data = json.loads((folder / 'test_onehand10k.json').read_text())
    files = {image['id']: image['file_name'] for image in data['images']}
    for annotation in data['annotations']:
        keypoints = np.array(annotation['keypoints'],
                             np.float32).reshape(21, 3)
        yield (str(folder / files[annotation['image_id']]),
               np.array(annotation['bbox'], np.float32), keypoints)


def _run_config(model_name, variant, results):
    """The config's test pipeline, hand_collate, the data preprocessor
    and mode='predict' (codec decoding included) on one image."""
    from mmcv.transforms import Compose

    from handkit.apis import init_model
    from handkit.apis.mediapipe_files import config_file
    from handkit.datasets.base import pipeline_steps
    from handkit.datasets.collate import hand_collate
    from handkit.registry import TRANSFORMS
    _converted(model_name, variant)  # fails naming the converter if absent
    model = init_model(config_file(model_name, variant),
                       converted_checkpoint(model_name, variant))
    pipeline = Compose([TRANSFORMS.build(step) for step in pipeline_steps(
        model.cfg.test_pipeline)])
    data = model.data_preprocessor(hand_collate([pipeline(results)]), False)
    with torch.no_grad():
        return model(data['inputs'], data['data_samples'], mode='predict')[0]


@pytest.mark.parametrize('variant', ['full', 'lite'])
def test_configs_find_the_palms_of_real_photos(variant):
    """Whole image -> letterbox -> palm detector -> anchors + NMS: the best
    palm of each OneHand10K photo lies inside the annotated hand box."""
    from handkit.geometry import apply_affine, invert_affine
    for path, (x, y, w, h), _ in _onehand10k_hands():
        pred = _run_config('palm_detection', variant, dict(img_path=path))
        scores, boxes = pred['pred_palm_scores'], pred['pred_palm_boxes']
        assert len(scores) >= 1 and scores.max() > 0.5, path
        best = boxes[np.argmax(scores)]
        centre = apply_affine(((best[:2] + best[2:]) / 2)[None],
                              invert_affine(pred['warp_mat']))[0]
        assert x <= centre[0] <= x + w and y <= centre[1] <= y + h, path


@pytest.mark.parametrize('variant', ['full', 'lite'])
def test_configs_find_the_landmarks_of_real_hands(variant):
    """A square of 1.5 x the annotated box -> the landmark model: a hand is
    present and the 21 keypoints land within 15 % of the box size on
    average (MediaPipe's keypoint order is handkit's)."""
    for path, (x, y, w, h), keypoints in _onehand10k_hands():
        pred = _run_config('hand_landmark', variant, dict(
            img_path=path, bbox_center=np.array([x + w / 2, y + h / 2],
                                                np.float32),
            bbox_size=1.5 * float(max(w, h)), bbox_rotation=0.0))
        assert float(np.ravel(pred['pred_presence'])[0]) > 0.9, path
        visible = keypoints[:, 2] > 0
        error = np.linalg.norm(pred['pred_keypoints'][visible]
                               - keypoints[visible, :2], axis=1).mean()
        assert error < 0.15 * max(w, h), path


@pytest.mark.parametrize('key', MODELS)
def test_decoded_boxes_and_keypoints_match_tflite_within_0_1_px(key,
                                                                 reference):
    """The issue's second parity figure: decoded through handkit's codecs,
    TFLite's outputs and handkit's give the same palms (boxes and 7 palm
    keypoints) and the same 21 landmarks to 0.1 input pixel."""
    from handkit.codecs.mediapipe_landmarks import MediaPipeLandmarks
    from handkit.codecs.mediapipe_palm import MediaPipePalmAnchors
    model_name, variant = _split(key)
    model, _ = _converted(model_name, variant)
    paths = [str(ROOT / 'tests' / 'data' / name)
             for name in reference['images']]
    worst = 0.0
    for index, (_, array) in enumerate(parity_inputs(model_name, paths)):
        outputs = run_torch(model, array)
        ours = {name: outputs[tflite_name]
                for name, tflite_name in OUTPUT_NAMES[model_name].items()}
        if model_name == 'palm_detection':
            # the fixture holds TFLite's regressors of its 50 best anchors:
            # both sides decode those anchors (every palm above the score
            # threshold is among them)
            top = reference[f'{key}/top_indices'][index].astype(np.int64)
            codec = MediaPipePalmAnchors()
            theirs_boxes = np.zeros_like(ours['boxes'])
            theirs_boxes[0, top] = reference[f'{key}/top_boxes'][index]
            keep = np.zeros(ours['scores'].shape[1], bool)
            keep[top] = True
            masked = lambda s: np.where(keep[None, :, None], s, -100.0)
            theirs = codec.decode(theirs_boxes, masked(
                reference[f'{key}/scores'][index][None, :, None]))
            mine = codec.decode(np.where(keep[None, :, None], ours['boxes'],
                                         0.0), masked(ours['scores']))
            assert len(mine['palm_scores'][0]) == len(
                theirs['palm_scores'][0]) >= 1
            for name in ('palm_boxes', 'palm_keypoints'):
                worst = max(worst, float(np.abs(
                    mine[name][0] - theirs[name][0]).max()))
        else:
            codec = MediaPipeLandmarks()
            theirs = codec.decode(*(reference[f'{key}/{name}'][index][None]
                                    for name in OUTPUT_NAMES[model_name]))
            mine = codec.decode(*(ours[name]
                                  for name in OUTPUT_NAMES[model_name]))
            worst = max(worst, float(np.abs(mine['keypoints']
                                            - theirs['keypoints']).max()))
    assert worst <= 0.1, worst
