"""MediaPipe Hands' TFLite models as handkit modules, weight for weight.

MediaPipe's palm detector and hand landmark model (Zhang et al., "MediaPipe
Hands: On-device Real-time Hand Tracking", CVPR Workshops 2020; Apache-2.0)
are rebuilt from ``configs/mediapipe/<model>_<variant>.py``
(:func:`build_model`). :func:`convert` reads a ``.tflite`` file
(:class:`~handkit.convert.tflite.TFLiteGraph`) and walks its ops in order
against the module, one :class:`Step` per op (:func:`palm_plan`,
:func:`landmark_plan`): each op's type and options must be the ones the
module's layer computes, each weight's shape the layer's; every weight of
the graph fills exactly one parameter and every parameter is filled
(:func:`fill_from_graph`). A file that is not the architecture is a
:class:`~handkit.convert.tflite.TFLiteError` naming the first op that
differs.

The TFLite conventions live in the loaders (:data:`LOADERS`): NHWC weights
to NCHW (CONV_2D (O, kh, kw, I) -> (O, I, kh, kw); DEPTHWISE_CONV_2D (1,
kh, kw, C) -> (C, 1, kh, kw)), SAME padding (asymmetric when strided), PRELU
slopes (1, 1, C) -> (C,), FULLY_CONNECTED (O, I) as is (a RESHAPE before it
flattens NHWC: ``mediapipe_layers.NHWCFlatten``), channel PADs,
RESIZE_BILINEAR's flags, MEAN over H and W.
"""
import copy
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from handkit.apis.mediapipe_files import config_file
from handkit.convert.tflite import TFLiteError, TFLiteGraph, TFLiteOp
from handkit.fileio import atomic_output
from handkit.models.backbones.mediapipe_layers import (ChannelPad,
                                                       Conv2dSame,
                                                       MaxPool2dSame,
                                                       ResizeBilinear)
from handkit.models.heads.hand_landmark_head import HandLandmarkHead
from handkit.models.heads.palm_detection_head import PalmDetectionHead

#: handkit's ``predict_tensors`` name -> the TFLite output tensor's name
OUTPUT_NAMES = {'palm_detection': PalmDetectionHead.tflite_outputs,
                'hand_landmark': HandLandmarkHead.tflite_outputs}
INPUT_SIZES = {'palm_detection': 192, 'hand_landmark': 224}


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
    """Fills parameters from a graph, each at most once. ``sources`` keeps,
    per parameter name, the array it was filled from: a view (transposed,
    reshaped) of one of the graph's constants, which
    :func:`export_tflite` writes back through."""

    def __init__(self, graph: TFLiteGraph) -> None:
        self.graph = graph
        self.filled: Dict[int, str] = {}
        self.sources: Dict[str, np.ndarray] = {}

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
        self.sources[f'{step.name}.{what}'] = value
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
                    module: nn.Module) -> Dict[str, np.ndarray]:
    """Fill ``module``'s parameters from ``graph``'s ops, one :class:`Step`
    per op in order; returns the filler's ``sources`` (parameter name ->
    the array it was filled from, a view of a graph constant).

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
    return filler.sources


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


def export_tflite(model: nn.Module, data: bytes, model_name: str,
                  source: str = '<bytes>') -> bytes:
    """MediaPipe's ``.tflite`` (``data``) with ``model``'s weights in place
    of its own: a converted or fine-tuned handkit model of that
    architecture, back in the format MediaPipe and LiteRT (XNNPACK) run.

    The graph (ops, options, shapes, names) stays the file's; only the
    weights' bytes change, each stored in the file's own type (float16
    behind MediaPipe's DEQUANTIZE ops, rounded to nearest). The loaders'
    layout changes are undone exactly: each parameter is written through
    the view of the constant that :func:`convert` filled it from. A
    converted model that was not changed gives ``data`` back byte for byte.

    Raises:
        TFLiteError: ``data`` is not ``model``'s architecture, or a weight
            is not finite or out of the stored type's range (float16:
            65504), naming the parameter.
    """
    graph = TFLiteGraph(data, source)
    # writable copies: the parameters are written back through their views
    graph.constants = {index: np.array(array)
                       for index, array in graph.constants.items()}
    scratch = copy.deepcopy(model)
    sources = fill_from_graph(graph, PLANS[model_name](scratch), scratch)
    parameters = dict(model.named_parameters())
    written = set()
    for name, view in sources.items():
        if name not in parameters:
            raise TFLiteError(f'{source}: the plan names {name!r}, which is '
                              'not a parameter of the model')
        value = parameters[name].detach().float().cpu().numpy()
        index = next(index for index, array in graph.constants.items()
                     if np.shares_memory(view, array))
        kind = graph.stored[index][1]
        limit = np.finfo(kind).max
        if not np.all(np.isfinite(value)) or np.abs(value).max() > limit:
            raise TFLiteError(
                f'{name} holds values that {np.dtype(kind).name} cannot '
                f'store (largest |value| {np.abs(value).max():.4g}, limit '
                f'{limit:.4g}): not exported')
        view[...] = value
        written.add(index)
    out = bytearray(data)
    for index in written:
        offset, kind = graph.stored[index]
        stored = graph.constants[index].astype(kind).tobytes()
        out[offset:offset + len(stored)] = stored
    return bytes(out)


def save_checkpoint(model: nn.Module, path: str, meta: dict) -> None:
    """``{'state_dict': tensors, 'meta': plain data}``, atomically."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    state_dict = {key: value.detach().clone().contiguous()
                  for key, value in model.state_dict().items()}
    with atomic_output(path) as temporary:
        torch.save({'state_dict': state_dict, 'meta': meta}, temporary)

