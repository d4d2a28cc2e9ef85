"""MediaPipe's architectures back in TFLite, run by LiteRT.

``export_tflite`` writes a handkit model's weights into MediaPipe's own
graph; ``LiteRTModel`` (``backend='litert'``) runs such a file with
handkit's pre-processing and decoding around it. The real files are the
converter's (``python tools/convert_mediapipe.py``, which the README's test
command runs; without them these tests FAIL with its one line, they never
skip), read with the sha256 check.

Measured on the 8 photos of tests/data (1 and 2 threads, AVX-512 Xeon):
``HandInferencer(refine=0, tiles=False)`` with LiteRT against PyTorch, the
same hands within 0.009 px (XNNPACK and oneDNN sum in other orders).
"""
import contextlib
import glob
import io
from pathlib import Path

import numpy as np
import pytest
import torch

import handkit.tools.export_tflite as export_tool
from handkit.apis import HandInferencer, init_model
from handkit.apis.mediapipe_files import (CONVERT_COMMAND, MODELS, VARIANTS,
                                          config_file, converted_checkpoint,
                                          converted_tflite)
from handkit.convert.mediapipe import build_model, convert, export_tflite
from handkit.convert.mediapipe_source import find_source, read_model_file
from handkit.convert.tflite import TFLiteError
from handkit.deploy import LiteRTModel, LiteRTModelMismatchError

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = sorted(glob.glob(str(ROOT / 'tests' / 'data' / '*_coco' / '*.jpg')))
# LiteRT against PyTorch on the same photos, refine=0: measured 0.009 px
SAME_HANDS_PX = 0.05


def _source_file(model_name, variant):
    """MediaPipe's .tflite bytes (sha256-checked), without the network."""
    try:
        source = find_source(download=False)
    except FileNotFoundError as error:
        pytest.fail(str(error), pytrace=False)
    return read_model_file(source, model_name, variant)[0]


def _converted_tflite(model_name, variant='full'):
    try:
        return converted_tflite(model_name, variant)
    except FileNotFoundError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.mark.parametrize('model_name', MODELS)
@pytest.mark.parametrize('variant', VARIANTS)
def test_the_converted_weights_export_to_mediapipes_file_byte_for_byte(
        model_name, variant):
    data = _source_file(model_name, variant)
    model = convert(data, model_name, variant)
    assert export_tflite(model, data, model_name) == data
    with open(_converted_tflite(model_name, variant), 'rb') as file:
        assert file.read() == data  # what the converter wrote for LiteRT


def test_changed_weights_land_in_the_file_rounded_to_float16():
    data = _source_file('hand_landmark', 'lite')
    model = convert(data, 'hand_landmark', 'lite')
    original = {name: value.clone()
                for name, value in model.state_dict().items()}
    changed = ('backbone.stem.0.weight', 'heads.0.landmarks.bias',
               'backbone.blocks.3.dw.0.weight')
    generator = torch.Generator().manual_seed(0)
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name in changed:
            parameters[name].add_(0.01 * torch.randn(
                parameters[name].shape, generator=generator))
    exported = export_tflite(model, data, 'hand_landmark')
    assert len(exported) == len(data)
    back = convert(exported, 'hand_landmark', 'lite').state_dict()
    for name, value in back.items():
        if name in changed:
            expected = parameters[name].detach().half().float()
            assert torch.equal(value, expected), name
            assert not torch.equal(value, original[name]), name
        else:
            assert torch.equal(value, original[name]), name
    # only the changed tensors' bytes moved: 2 bytes per float16 value
    moved = np.count_nonzero(np.frombuffer(exported, np.uint8)
                             != np.frombuffer(data, np.uint8))
    assert 0 < moved <= 2 * sum(parameters[name].numel() for name in changed)


@pytest.mark.parametrize('value', [1e5, float('nan')])
def test_weights_float16_cannot_hold_are_refused_naming_them(value):
    data = _source_file('hand_landmark', 'lite')
    model = convert(data, 'hand_landmark', 'lite')
    with torch.no_grad():
        model.heads[0].presence.weight[0, 0] = value
    with pytest.raises(TFLiteError) as error:
        export_tflite(model, data, 'hand_landmark')
    message = str(error.value)
    assert '\n' not in message
    assert 'heads.0.presence.weight' in message and 'float16' in message


def test_a_model_of_another_architecture_is_refused_in_one_line():
    data = _source_file('hand_landmark', 'full')
    lite = build_model('hand_landmark', 'lite')
    with pytest.raises(TFLiteError) as error:
        export_tflite(lite, data, 'hand_landmark')
    assert '\n' not in str(error.value)
    assert 'not the expected architecture' in str(error.value)


def _same_hands(reference, other, name):
    assert len(other) == len(reference), name
    for ref, hand in zip(reference, other):
        assert hand['handedness'] == ref['handedness'], name
        error = float(np.abs(hand['keypoints'] - ref['keypoints']).max())
        assert error <= SAME_HANDS_PX, (name, error)
        np.testing.assert_allclose(hand['scores'], ref['scores'], atol=1e-3)
        np.testing.assert_allclose(hand['bbox'], ref['bbox'],
                                   atol=SAME_HANDS_PX)


def test_litert_backend_finds_the_hands_pytorch_finds():
    for model_name in MODELS:  # fail with the converter's line if missing
        _converted_tflite(model_name)
    torch_threads = torch.get_num_threads()
    eager = HandInferencer(refine=0, tiles=False)
    litert = HandInferencer(refine=0, tiles=False, backend='litert')
    assert isinstance(litert.detector.model, LiteRTModel)
    assert 'litert' in litert.landmarks.model.describe()
    found = 0
    for photo in PHOTOS:
        hands = litert(photo)
        _same_hands(eager(photo), hands, photo)
        found += len(hands)
        # its pre-processing ran on one thread and gave the others back
        assert torch.get_num_threads() == torch_threads
    assert found == 10  # 8 photos, two of them with two hands
    default = HandInferencer(backend='litert')
    assert [len(default(photo)) for photo in PHOTOS] == [
        len(HandInferencer()(photo)) for photo in PHOTOS]


def test_missing_tflite_names_the_converter(tmp_path, monkeypatch):
    monkeypatch.setenv('HANDKIT_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        HandInferencer(backend='litert')
    message = str(error.value)
    assert '\n' not in message and CONVERT_COMMAND in message
    assert 'palm_detection_full.tflite' in message


def test_litert_model_checks_the_file_against_the_config(tmp_path):
    palm = _converted_tflite('palm_detection')
    landmark_config = config_file('hand_landmark', 'full')
    with pytest.raises(LiteRTModelMismatchError) as error:
        init_model(landmark_config, palm, backend='litert')
    assert '\n' not in str(error.value)
    assert '(224, 224, 3)' in str(error.value)  # the config's input
    corrupt = tmp_path / 'corrupt.tflite'
    corrupt.write_bytes(b'\x00' * 64)
    with pytest.raises(LiteRTModelMismatchError) as error:
        init_model(landmark_config, str(corrupt), backend='litert')
    assert str(corrupt) in str(error.value) and '\n' not in str(
        error.value)
    with pytest.raises(FileNotFoundError, match='missing.tflite'):
        init_model(landmark_config, str(tmp_path / 'missing.tflite'),
                   backend='litert')
    with pytest.raises(ValueError, match='needs a .tflite file'):
        init_model(landmark_config, None, backend='litert')
    nsrm = str(ROOT / 'configs' / 'quickstart' / 'nsrm_lpm_g1g6_synthetic.py')
    with pytest.raises(LiteRTModelMismatchError) as error:
        init_model(nsrm, palm, backend='litert')
    assert 'has no TFLite form' in str(error.value)


def test_litert_model_decodes_as_the_pytorch_model():
    checkpoint = converted_checkpoint('hand_landmark', 'full')
    config = config_file('hand_landmark', 'full')
    eager = init_model(config, checkpoint)
    runtime = init_model(config, _converted_tflite('hand_landmark'),
                         backend='litert')
    inputs = torch.rand(3, 3, 224, 224, generator=torch.Generator(
    ).manual_seed(0))  # a batch of 3 runs one sample at a time
    with torch.no_grad():
        expected = eager.predict_tensors(inputs)
    got = runtime(inputs, mode='tensor')
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        assert got[name].shape == value.shape, name
        tolerance = 1e-4 * max(1.0, float(value.abs().max()))
        assert float((got[name] - value).abs().max()) <= tolerance, name


def test_export_tool_writes_a_fine_tuned_checkpoint(tmp_path):
    config = config_file('hand_landmark', 'lite')
    model = init_model(config, converted_checkpoint('hand_landmark', 'lite'))
    with torch.no_grad():
        model.heads[0].landmarks.bias.add_(0.5)  # "fine-tuned"
    checkpoint = tmp_path / 'tuned.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'tuned.tflite'
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        worst = export_tool.main([config, str(checkpoint), '--out',
                                  str(out)])
    text = printed.getvalue()
    assert "MediaPipe hand_landmark (lite)'s graph" in text
    assert 'rounded to float16 (the export)' in text
    assert worst <= 1e-4 * 256  # the landmarks' scale: pixels of 224
    back = convert(out.read_bytes(), 'hand_landmark', 'lite')
    assert torch.equal(back.heads[0].landmarks.bias,
                       model.heads[0].landmarks.bias.half().float())


def test_export_tool_refuses_another_architecture_with_exit_2(tmp_path,
                                                              capsys):
    nsrm = str(ROOT / 'configs' / 'quickstart' / 'nsrm_lpm_g1g6_synthetic.py')
    checkpoint = tmp_path / 'nsrm.pth'
    torch.save({'state_dict': init_model(nsrm).state_dict()}, checkpoint)
    with pytest.raises(SystemExit) as exit_info:
        export_tool.main([nsrm, str(checkpoint), '--out',
                          str(tmp_path / 'nsrm.tflite')])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "MediaPipe's graphs only" in error
    assert not (tmp_path / 'nsrm.tflite').exists()


def test_demo_runs_the_pipeline_on_litert(tmp_path, capsys):
    import json

    import handkit.tools.demo as demo_tool
    photo = ROOT / 'tests' / 'data' / 'panoptic_coco' / \
        'ex2_2.flv_000040_l.jpg'
    demo_tool.main(['--input', str(photo), '--out', str(tmp_path),
                    '--backend', 'litert'])
    hands = json.loads((tmp_path / f'{photo.stem}.json').read_text())
    reference = HandInferencer()(str(photo))
    assert len(hands['hands']) == len(reference) == 2
    for hand, ref in zip(hands['hands'], reference):
        assert hand['handedness'] == ref['handedness']
        assert np.abs(np.array(hand['keypoints'])
                      - ref['keypoints']).max() <= 0.5  # refine 2
    with pytest.raises(SystemExit) as exit_info:
        demo_tool.main(['--input', str(photo), '--out', str(tmp_path),
                        '--backend', 'litert', '--precision', 'bf16'])
    assert exit_info.value.code == 2
    assert '--backend litert runs its own precision' in capsys.readouterr(
    ).err


def test_a_pose_model_behind_the_litert_detector_runs_in_pytorch(tmp_path):
    nsrm = str(ROOT / 'configs' / 'quickstart' / 'nsrm_lpm_g1g6_synthetic.py')
    checkpoint = tmp_path / 'nsrm.pth'
    torch.save({'state_dict': init_model(nsrm).state_dict()}, checkpoint)
    inferencer = HandInferencer(backend='litert', pose=(nsrm, str(checkpoint)))
    assert isinstance(inferencer.detector.model, LiteRTModel)
    assert not isinstance(inferencer.pose, LiteRTModel)
    assert hasattr(inferencer.pose, 'predict_tensors')  # the PyTorch model
    photo = ROOT / 'tests' / 'data' / 'onehand10k_coco' / '9.jpg'
    hands = inferencer(str(photo))
    assert len(hands) == 1 and hands[0]['keypoints'].shape == (21, 2)
