"""ONNX Runtime inference: init_model(backend='onnxruntime') through the
same pre-processing and decoding as PyTorch, tools/demo.py and
tools/test.py --backend onnxruntime (with --speed), and the one-line errors
for a missing onnxruntime and a file of another config."""
import re
import sys

import cv2
import numpy as np
import pytest
import torch

import handkit.tools.demo as demo_tool
import handkit.tools.test as test_tool
from handkit.apis import inference, init_model
from handkit.deploy import (MissingDependencyError, OnnxModelMismatchError,
                            export_onnx)
from tiny_models import (FAMILIES, IMAGE, ROOT, dotted, tiny_checkpoint,
                         write_tiny_config)

MISSING = ("backend='onnxruntime' needs onnxruntime: pip install "
           '"handkit[onnx]" (from a clone: pip install -e ".[onnx]")')


@pytest.fixture(scope='module')
def nsrm_export(tmp_path_factory):
    """(config, checkpoint, onnx file) of a tiny NSRM, batch 1."""
    folder = tmp_path_factory.mktemp('nsrm_export')
    config = write_tiny_config('nsrm', folder / 'tiny_nsrm.py')
    model = tiny_checkpoint('nsrm', folder / 'nsrm.pth')
    export_onnx(model, str(folder / 'nsrm.onnx'), (3, 96, 96))
    return str(config), str(folder / 'nsrm.pth'), str(folder / 'nsrm.onnx')


def test_inference_with_onnxruntime_matches_eager(nsrm_export):
    config, checkpoint, onnx_file = nsrm_export
    eager = init_model(config, checkpoint)
    runtime = init_model(config, onnx_file,
                         backend='onnxruntime')
    assert runtime.backend == 'onnxruntime'
    assert runtime.output_names == ['structure.structure_maps',
                                    'keypoints.heatmaps']
    assert list(runtime.parameters()) == []  # the weights are ORT's
    for bbox in (None, (40, 60, 200, 300)):
        expected = inference(eager, str(IMAGE), bbox=bbox)
        result = inference(runtime, str(IMAGE), bbox=bbox)
        assert sorted(result) == sorted(expected)
        assert result['keypoints'].shape == (21, 2)
        np.testing.assert_allclose(result['keypoints'],
                                   expected['keypoints'], atol=1e-3)
        np.testing.assert_allclose(result['scores'], expected['scores'],
                                   atol=1e-4)
        for key in ('structure_maps', 'heatmaps', 'warp_mat'):
            np.testing.assert_allclose(result[key], expected[key],
                                       atol=1e-4)


def test_sessions_spin_unless_told_not_to(nsrm_export):
    """ONNX Runtime's default spinning, or threads that sleep after a run
    (benchmarks alternating runtimes in one process)."""
    from handkit.deploy import OnnxRuntimeModel
    from mmengine.config import Config
    config, _, onnx_file = nsrm_export
    key = 'session.intra_op.allow_spinning'
    cfg = Config.fromfile(config)
    default = OnnxRuntimeModel(onnx_file, cfg).session.get_session_options()
    with pytest.raises(RuntimeError, match=key):  # unset: ORT's default, 1
        default.get_session_config_entry(key)
    quiet = OnnxRuntimeModel(onnx_file, cfg, allow_spinning=False)
    assert quiet.session.get_session_options().get_session_config_entry(
        key) == '0'
    inputs = np.random.default_rng(0).random((1, 3, 96, 96), np.float32)
    np.testing.assert_array_equal(quiet.run(inputs)['keypoints.heatmaps'],
                                  OnnxRuntimeModel(onnx_file, cfg).run(
                                      inputs)['keypoints.heatmaps'])


def test_tensor_mode_and_no_loss_mode(nsrm_export):
    config, _, onnx_file = nsrm_export
    runtime = init_model(config, onnx_file,
                         backend='onnxruntime')
    outputs = runtime(torch.zeros(1, 3, 96, 96))
    assert {name: tuple(t.shape) for name, t in outputs.items()} == {
        'structure.structure_maps': (1, 7, 12, 12),
        'keypoints.heatmaps': (1, 21, 12, 12)}
    with pytest.raises(ValueError, match="runs mode 'predict' or 'tensor', "
                       "got 'loss'"):
        runtime(torch.zeros(1, 3, 96, 96), mode='loss')
    with pytest.raises(ValueError, match=re.escape(
            'takes inputs (1, 3, 96, 96) (exported without --dynamic-batch),'
            ' got (2, 3, 96, 96)')):
        runtime(torch.zeros(2, 3, 96, 96))
    assert re.fullmatch(
        r'backend: onnxruntime \d+\.\d+\.\d+ \(CPUExecutionProvider, '
        r'threads \d+\) on .*nsrm\.onnx \(exported by handkit \S+\)',
        runtime.describe())


def test_missing_onnxruntime_is_one_line(nsrm_export, monkeypatch, capsys,
                                         tmp_path):
    config, _, onnx_file = nsrm_export
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import fails
    with pytest.raises(MissingDependencyError) as error:
        init_model(config, onnx_file, backend='onnxruntime')
    assert str(error.value) == MISSING
    with pytest.raises(SystemExit) as exit_:
        demo_tool.main([config, onnx_file, '--input', str(IMAGE), '--out',
                        str(tmp_path / 'demo'), '--backend', 'onnxruntime'])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f'handkit: error: {MISSING}\n'
    assert not (tmp_path / 'demo').exists()


def test_an_onnx_file_of_another_config_is_refused(nsrm_export):
    _, _, onnx_file = nsrm_export
    config, options, _ = FAMILIES['cpm']
    with pytest.raises(OnnxModelMismatchError, match=re.escape(
            "outputs ['structure.structure_maps', 'keypoints.heatmaps'], "
            "but the config's heads are ['keypoints']: export it from this "
            'config (tools/export_onnx.py)')):
        init_model(ROOT / config, onnx_file, cfg_options=dotted(options),
                   backend='onnxruntime')


def test_onnxruntime_needs_the_onnx_file(nsrm_export):
    config, _, _ = nsrm_export
    with pytest.raises(ValueError, match="needs the .onnx file"):
        init_model(config, None, backend='onnxruntime')
    with pytest.raises(FileNotFoundError, match='ONNX file not found: '):
        init_model(config, 'missing.onnx', backend='onnxruntime')
    with pytest.raises(ValueError, match="backend must be one of "
                       r"\('pytorch', 'onnxruntime', 'litert'\), got "
                       "'tensorrt'"):
        init_model(config, backend='tensorrt')


def test_demo_with_onnxruntime_draws_the_image(nsrm_export, tmp_path,
                                               capsys):
    config, _, onnx_file = nsrm_export
    demo_tool.main([config, onnx_file, '--input', str(IMAGE), '--out',
                    str(tmp_path), '--backend', 'onnxruntime',
                    '--show-maps'])
    drawn = cv2.imread(str(tmp_path / '9.png'))
    assert drawn is not None and drawn.shape[1] > 238  # image | maps
    assert f'{IMAGE} -> {tmp_path / "9.png"}' in capsys.readouterr().out


TINY_DEPTH = """
_base_ = ['{configs}/hourglass/local_regression_synthetic_depth.py']
model = dict(backbone=dict(channels=8, order=1),
             heads=dict(joints=dict(in_channels=8, feature_size=(8, 8),
                                    patch_grid=(2, 2), patch_dim=4,
                                    hidden=16)))
input_size = (32, 32)
pipeline = dict(cube=dict(input_size=input_size))
test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                       dataset=dict(num_samples=4, image_size=(64, 64),
                                    pipeline=pipeline, cache_dir=None))
"""


def test_test_tool_with_onnxruntime_gives_eager_metrics_and_speed(
        tmp_path, capsys):
    config = tmp_path / 'tiny_depth.py'
    config.write_text(TINY_DEPTH.format(configs=ROOT / 'configs'))
    torch.manual_seed(0)
    model = init_model(str(config))
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'tiny.pth')
    export_onnx(model, str(tmp_path / 'tiny.onnx'), (1, 32, 32),
                dynamic_batch=True)
    runs = {}
    for backend, weights in (('pytorch', 'tiny.pth'),
                             ('onnxruntime', 'tiny.onnx')):
        runs[backend] = test_tool.main(
            [str(config), str(tmp_path / weights), '--work-dir',
             str(tmp_path / backend), '--speed', '--backend', backend])
        runs[backend + ' out'] = capsys.readouterr().out
    assert runs['pytorch']['mean_error'] > 0
    for key, value in runs['pytorch'].items():
        assert runs['onnxruntime'][key] == pytest.approx(value, abs=1e-4)
    assert re.search(r'^backend: eager pytorch \(cpu\)$',
                     runs['pytorch out'], re.M)
    assert re.search(r'^backend: onnxruntime \S+ \(CPUExecutionProvider, '
                     r'threads \d+\) on \S+tiny\.onnx', runs[
                         'onnxruntime out'], re.M)
    for out in (runs['pytorch out'], runs['onnxruntime out']):
        # the same network: parameters and MACs of the PyTorch model
        assert re.search(r'^Params 0\.\d{3} M   MACs 0\.\d{3} G per '
                         r'1x32x32 input$', out, re.M)
        assert re.search(r'^FPS \(cpu\) batch 1: \d+\.\d   batch 32: '
                         r'\d+\.\d$', out, re.M)
        assert re.search(r'^paper: 910 FPS, here \d+\.\d FPS \(batch \d+, '
                         r'cpu\): \d+\.\d\d x \[Li and Wang, abstract: "over '
                         r'910 FPS on a single GPU"\]$', out, re.M)
