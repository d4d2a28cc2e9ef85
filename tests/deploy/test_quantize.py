"""Static int8 export (tools/export_onnx.py --int8, handkit.deploy.quantize)
on the tiny NSRM: the QDQ graph it writes, ONNX Runtime running it through
init_model, the accuracy lines it prints and its one-line refusals."""
import contextlib
import io
import re

import numpy as np
import onnx
import pytest
import torch

import handkit.tools.export_onnx as export_tool
from handkit.apis import init_model
from handkit.deploy import OnnxRuntimeModel
from handkit.deploy.onnx_export import META_INPUT_SHAPE
from handkit.deploy.quantize import (META_QUANTIZATION, CalibrationError,
                                     fp32_beside, recorded_inputs)
from handkit.tools.export_inputs import calibration_inputs, synthetic_inputs
from tiny_models import (FAMILIES, ROOT, dotted, flat_options,
                         tiny_checkpoint, tiny_model)

CONFIG, OPTIONS, _ = FAMILIES['nsrm']
# the val split rendered on the fly (no cache under work_dirs), 8 hands
SMALL_VAL = dict(OPTIONS, val_dataloader=dict(dataset=dict(
    cache_dir=None, num_samples=8)))


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """(folder, printed output) of one --int8 export of the tiny NSRM,
    calibrated on 4 rendered hands, scored on 8 val hands."""
    folder = tmp_path_factory.mktemp('int8')
    tiny_checkpoint('nsrm', folder / 'tiny.pth')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        export_tool.main([
            str(ROOT / CONFIG), str(folder / 'tiny.pth'), '--out',
            str(folder / 'tiny_int8.onnx'), '--int8', '--calibration',
            'synthetic', '--calibration-size', '4', '--metric-split', 'val',
            *flat_options(SMALL_VAL)])
    return folder, out.getvalue()


def test_int8_export_writes_a_qdq_graph_and_keeps_the_fp32_one(exported):
    folder, _ = exported
    assert sorted(path.name for path in folder.iterdir()) == [
        'tiny.pth', 'tiny_fp32.onnx', 'tiny_int8.onnx']
    graph = onnx.load(str(folder / 'tiny_int8.onnx'))
    ops = [node.op_type for node in graph.graph.node]
    assert ops.count('QuantizeLinear') > 10
    assert ops.count('DequantizeLinear') > ops.count('QuantizeLinear')
    types = {init.name: init.data_type for init in graph.graph.initializer}
    # every convolution's weight is stored as int8, one scale per channel
    weights = [node.input[1] for node in graph.graph.node
               if node.op_type == 'Conv']
    quantized = {node.output[0]: node.input for node in graph.graph.node
                 if node.op_type == 'DequantizeLinear'}
    assert weights and all(
        types[quantized[name][0]] == onnx.TensorProto.INT8 for name in
        weights)
    initializers = {init.name: init for init in graph.graph.initializer}
    assert all(len(initializers[quantized[name][1]].dims) == 1
               and initializers[quantized[name][1]].dims[0] > 1
               for name in weights)
    metadata = {prop.key: prop.value for prop in graph.metadata_props}
    assert metadata[META_INPUT_SHAPE] == '3,96,96'
    assert metadata[META_QUANTIZATION].startswith(
        'static int8 QDQ, per-channel int8 weights, uint8 activations, '
        'MinMax calibration on 4 inputs')
    assert onnx.TensorProto.INT8 not in {
        init.data_type for init in onnx.load(
            str(folder / 'tiny_fp32.onnx')).graph.initializer}


def test_init_model_runs_the_int8_file_close_to_fp32(exported):
    """Tolerance: the tiny model's weights are random (no training made it
    robust to rounding) and each of its ~60 quantised tensors rounds to
    1/255 of its calibrated range. On rendered hands it was not calibrated
    on, the largest |int8 - fp32| measured 0.04-0.11 of the output's
    range and the mean 0.03-0.11 of its standard deviation: 0.2 of each
    leaves room for other seeds and CPUs, and still fails a wrong scale
    (a factor 2 on a tensor moves the output by about its range)."""
    folder, _ = exported
    options = dotted(OPTIONS)
    int8 = init_model(str(ROOT / CONFIG), str(folder / 'tiny_int8.onnx'),
                      backend='onnxruntime', cfg_options=options)
    fp32 = init_model(str(ROOT / CONFIG), str(folder / 'tiny_fp32.onnx'),
                      backend='onnxruntime', cfg_options=options)
    assert isinstance(int8, OnnxRuntimeModel)
    eager = init_model(str(ROOT / CONFIG), str(folder / 'tiny.pth'),
                       cfg_options=options)
    # seeds after the 4 calibration hands (seeds 1000-1003)
    held_out = synthetic_inputs(eager, 6)[4:]
    for inputs in held_out:
        expected, actual = fp32.run(inputs), int8.run(inputs)
        for name, value in expected.items():
            diff = np.abs(actual[name] - value)
            assert 1e-5 < diff.max() <= 0.2 * np.ptp(value), name
            assert diff.mean() <= 0.2 * value.std(), name
        predictions = int8(inputs, None, mode='predict')
        assert predictions[0]['pred_keypoints'].shape == (21, 2)


def test_the_accuracy_lines(exported):
    _, printed = exported
    assert re.search(r'^exported \S+tiny_fp32\.onnx \(', printed, re.M)
    assert re.search(r'^parity ok: max ', printed, re.M)
    assert re.search(
        r'^int8 \S+tiny_int8\.onnx \(\d+\.\d MB, \d+\.\d s\): static QDQ '
        r'\(\d+ QuantizeLinear, \d+ DequantizeLinear\), int8 per-channel '
        r'weights, uint8 activations, MinMax calibration on 4 rendered '
        r'hands \(handkit renderer\); float32 export \S+tiny_fp32\.onnx$',
        printed, re.M)
    assert re.search(r'^accuracy against eager PyTorch \(synthetic hand, '
                     r'val split\):$', printed, re.M)
    for output in ('structure.structure_maps', 'keypoints.heatmaps'):
        assert re.search(rf'^  max \|ort - eager\| +{re.escape(output)} +'
                         r'fp32 \d\.\d\de-\d\d  int8 \d\.\d\de[-+]\d\d$',
                         printed, re.M), output
    assert re.search(r'^  keypoint shift +input px, mean / max +fp32 '
                     r'\d+\.\d{3} / \d+\.\d{3}  int8 \d+\.\d{3} / '
                     r'\d+\.\d{3}$', printed, re.M)
    assert re.search(r'^  metric +val PCK_ave \(8 samples\) +eager '
                     r'\d+\.\d{3}  fp32 \d+\.\d{3}  int8 \d+\.\d{3}$',
                     printed, re.M)


def run_tool(tmp_path, capsys, *extra, out='m_int8.onnx'):
    """Exit code and stderr of the tool on the tiny NSRM."""
    if not (tmp_path / 'tiny.pth').exists():
        tiny_checkpoint('nsrm', tmp_path / 'tiny.pth')
    with pytest.raises(SystemExit) as exit_:
        export_tool.main([str(ROOT / CONFIG), str(tmp_path / 'tiny.pth'),
                          '--out', str(tmp_path / out), *extra,
                          *flat_options(OPTIONS)])
    return exit_.value.code, capsys.readouterr().err


@pytest.mark.parametrize('value, message', [
    ('nosuch', "--calibration nosuch: neither a split of the config (train, "
     "val, test), 'synthetic' nor an image file or folder"),
    ('EMPTY', 'the folder holds no image'),
])
def test_a_bad_calibration_is_one_line_and_writes_nothing(
        tmp_path, capsys, value, message):
    if value == 'EMPTY':
        (tmp_path / 'empty').mkdir()
        value = str(tmp_path / 'empty')
    code, err = run_tool(tmp_path, capsys, '--int8', '--calibration', value)
    assert code == 2
    assert err.count('\n') == 1 and err.startswith('handkit: error: ')
    assert value in err and message in err
    assert not list(tmp_path.glob('*.onnx'))


def test_calibration_size_and_options_without_int8_are_refused(
        tmp_path, capsys):
    code, err = run_tool(tmp_path, capsys, '--int8', '--calibration-size',
                         '0')
    assert code == 2 and '--calibration-size must be >= 1, got 0' in err
    code, err = run_tool(tmp_path, capsys, '--calibration', 'val')
    assert code == 2 and '--calibration needs --int8' in err


@pytest.mark.parametrize('existing', ['m_int8.onnx', 'm_fp32.onnx'])
def test_an_existing_output_needs_overwrite(tmp_path, capsys, existing):
    (tmp_path / existing).write_bytes(b'keep')
    code, err = run_tool(tmp_path, capsys, '--int8', '--calibration',
                         'synthetic', '--calibration-size', '2')
    assert code == 2 and err.count('\n') == 1
    assert f'{existing} exists; pass --overwrite to replace it' in err
    assert (tmp_path / existing).read_bytes() == b'keep'


def test_dynamic_quantisation_of_a_conv_model_is_refused_in_one_line(
        tmp_path, capsys):
    code, err = run_tool(tmp_path, capsys, '--int8-dynamic')
    assert code == 2 and err.count('\n') == 1
    assert re.match(r'handkit: error: the model has \d+ convolutions; '
                    r'dynamic int8 quantisation is refused', err)
    assert '0.31 x' in err
    assert not list(tmp_path.glob('*.onnx'))


def test_fp32_beside_names_the_fp32_file():
    assert fp32_beside('a/hand_int8.onnx') == 'a/hand_fp32.onnx'
    assert fp32_beside('hand.onnx') == 'hand_fp32.onnx'


def test_calibration_inputs_of_a_split_and_recorded_inputs():
    model = tiny_model('nsrm')
    model.cfg.merge_from_dict(dotted(SMALL_VAL))
    inputs, description = calibration_inputs(model, ['val'], 3)
    assert description == 'the first 3 samples of the val split'
    assert [x.shape for x in inputs] == [(1, 3, 96, 96)] * 3
    assert all(x.dtype == np.float32 for x in inputs)
    with pytest.raises(CalibrationError, match='calibration-size must be'):
        calibration_inputs(model, ['val'], 0)
    with recorded_inputs(model) as recorded:
        model.predict_tensors(torch.from_numpy(np.concatenate(inputs)))
    assert len(recorded) == 3
    assert np.array_equal(recorded[1], inputs[1])
    assert 'predict_tensors' not in vars(model)
