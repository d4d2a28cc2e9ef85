"""Static int8 quantisation of an ONNX export, calibrated and checked.

:func:`quantize_static_int8` turns the float32 file of
:func:`handkit.deploy.export_onnx` into a QDQ graph (``QuantizeLinear`` /
``DequantizeLinear`` around every quantised operator, which ONNX Runtime
fuses into integer kernels): int8 weights with one scale per output channel,
uint8 activations with one scale per tensor, the scales taken from the
activations' range on calibration inputs (MinMax by default). The graph's
inputs, outputs and handkit metadata are the float32 file's, so
``init_model(config, 'model_int8.onnx', backend='onnxruntime')`` runs it
with the same pre-processing and decoding.

The calibration inputs are the caller's, float32 (1, C, H, W) arrays as
the data preprocessor hands the network: ``tools/export_onnx.py`` takes
them from the config's own test-time path
(:func:`handkit.tools.export_inputs.calibration_inputs`: a split, rendered
hands or images); the MediaPipe landmark model is calibrated on the ROI
crops of ``HandInferencer`` (:func:`recorded_inputs`,
``benchmarks/bench_int8.py``).

:func:`int8_accuracy` measures what quantisation costs against eager
PyTorch: the largest difference of each network output, the keypoint shift
in input pixels (decoded by the estimator's own ``decode``) and, on a
split's batches given, the predictions the caller scores with the config's
metric (docs/deployment.md, section 5).

Dynamic quantisation is refused for convolutional models
(:func:`refuse_dynamic`): measured on NSRM at 368 it ran at 0.31 x the speed
of eager float32.
"""
import contextlib
import logging
import os
import os.path as osp
from typing import (Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from torch import nn

from handkit.deploy.onnx_export import INPUT_NAME
from handkit.deploy.onnxruntime_model import run_in_pieces
from handkit.deploy.optional import import_optional
from handkit.errors import HandkitUserError
from handkit.fileio import atomic_output

#: calibration methods by name (onnxruntime.quantization.CalibrationMethod)
CALIBRATION_METHODS = {'minmax': 'MinMax', 'percentile': 'Percentile',
                       'entropy': 'Entropy'}
#: ONNX metadata key: how the file was quantised
META_QUANTIZATION = 'handkit.quantization'

DYNAMIC_REFUSED = (
    'dynamic int8 quantisation is refused for convolutional models: ONNX '
    'Runtime then computes every activation scale at run time and runs the '
    'convolutions without its fused int8 kernels; measured on NSRM at 368 '
    '(batch 1, 1 thread, issue 28) it took 6792 ms against 2097 ms in eager '
    'float32 (0.31 x the speed). Use --int8 (static, calibrated: 482 ms, '
    '4.4 x)')


class CalibrationError(HandkitUserError, ValueError):
    """A calibration source that gives no inputs (one line naming it)."""


class QuantizationRefusedError(HandkitUserError, ValueError):
    """A quantisation that would make the model slower (one line)."""


def fp32_beside(out_file: str) -> str:
    """Where ``--int8`` keeps the float32 export of the int8 ``--out``:
    ``<stem>_fp32.onnx`` beside it, a trailing ``_int8`` of the stem
    replaced (``hand_int8.onnx`` -> ``hand_fp32.onnx``; ``hand.onnx`` ->
    ``hand_fp32.onnx``)."""
    stem, suffix = osp.splitext(out_file)
    if stem.endswith('_int8'):
        stem = stem[:-len('_int8')]
    return f'{stem}_fp32{suffix or ".onnx"}'


def count_conv(model: Union[nn.Module, str]) -> int:
    """Convolutions of a PyTorch model (modules) or an ONNX file (nodes)."""
    if isinstance(model, nn.Module):
        return sum(isinstance(module, nn.modules.conv._ConvNd)
                   for module in model.modules())
    onnx = import_optional('onnx', 'int8 quantisation')
    graph = onnx.load(str(model), load_external_data=False).graph
    return sum(node.op_type in ('Conv', 'ConvTranspose')
               for node in graph.node)


def refuse_dynamic(model: Union[nn.Module, str]) -> None:
    """:class:`QuantizationRefusedError` when ``model`` (an estimator or an
    ONNX file) has convolutions, as every handkit image model has."""
    convs = count_conv(model)
    if convs:
        raise QuantizationRefusedError(
            f'the model has {convs} convolutions; {DYNAMIC_REFUSED}')


# ------------------------------------------------------------- calibration
@contextlib.contextmanager
def recorded_inputs(model: nn.Module) -> Iterator[List[np.ndarray]]:
    """Every input that ``model.predict_tensors`` gets while the block
    runs, as float32 (1, C, H, W) arrays: the crops a pipeline such as
    :class:`~handkit.apis.HandInferencer` hands its networks, to calibrate
    on exactly those."""
    recorded: List[np.ndarray] = []
    method = model.predict_tensors

    def recording(inputs, *args, **kwargs):
        recorded.extend(x[None] for x in _numpy(inputs))
        return method(inputs, *args, **kwargs)

    model.predict_tensors = recording
    try:
        yield recorded
    finally:
        del model.predict_tensors  # the class's method again


def _numpy(tensor) -> np.ndarray:
    if isinstance(tensor, torch.Tensor):
        tensor = tensor.detach().float().cpu().numpy()
    return np.ascontiguousarray(tensor, dtype=np.float32)


# ------------------------------------------------------------ quantisation
@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """onnxruntime.quantization logs advice on the root logger (the
    pre-processing hint, biases behind Identity nodes): hold it back."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _fold_identities(onnx, graph_file: str, out_file: str) -> None:
    """Replace ``Identity`` nodes of an initializer (the exporter's
    de-duplicated biases) by a copy of it: ONNX Runtime's quantiser
    quantises only a bias that is an initializer, and a convolution whose
    bias stays float is not fused into an int8 kernel."""
    model = onnx.load(graph_file)
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    outputs = {out.name for out in graph.output}
    kept = []
    for node in graph.node:
        source = node.input[0] if node.input else None
        if (node.op_type == 'Identity' and source in initializers
                and node.output[0] not in outputs):
            copy = onnx.TensorProto()
            copy.CopyFrom(initializers[source])
            copy.name = node.output[0]
            graph.initializer.append(copy)
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    onnx.save(model, out_file)


class _Reader:
    """onnxruntime.quantization's CalibrationDataReader over arrays."""

    def __init__(self, inputs: Sequence[np.ndarray]) -> None:
        self.inputs = list(inputs)
        self.index = 0

    def get_next(self) -> Optional[dict]:
        if self.index >= len(self.inputs):
            return None
        self.index += 1
        return {INPUT_NAME: self.inputs[self.index - 1]}

    def rewind(self) -> None:
        self.index = 0


def quantize_static_int8(fp32_file: str, out_file: str,
                         inputs: Sequence[np.ndarray],
                         method: str = 'minmax',
                         description: str = '') -> dict:
    """Write the static int8 (QDQ) quantisation of an exported model.

    Args:
        fp32_file: a float32 file of :func:`~handkit.deploy.export_onnx`.
        out_file: the int8 file, written through a temporary and renamed
            (``atomic_output``).
        inputs: calibration inputs, float32 (B, C, H, W) arrays as the
            data preprocessor hands the network (a fixed-batch export
            takes B = 1).
        method: 'minmax' (the range seen), 'percentile' (99.999 %) or
            'entropy'.
        description: what the inputs are, recorded in the file's
            ``handkit.quantization`` metadata.

    Returns:
        ``{'QuantizeLinear': n, 'DequantizeLinear': n, 'Conv': n}`` of the
        written graph.
    """
    onnx = import_optional('onnx', 'int8 quantisation')
    quantization = import_optional('onnxruntime.quantization',
                                   'int8 quantisation')
    if method not in CALIBRATION_METHODS:
        raise CalibrationError(f'calibration method must be one of '
                               f'{sorted(CALIBRATION_METHODS)}, got '
                               f'{method!r}')
    if not len(inputs):
        raise CalibrationError('no calibration inputs')
    with atomic_output(out_file) as tmp_file:
        prepared = tmp_file + '.fp32.onnx'
        try:
            _fold_identities(onnx, str(fp32_file), prepared)
            with _quiet_quantizer():
                quantization.quantize_static(
                    prepared, tmp_file, _Reader(inputs),
                    quant_format=quantization.QuantFormat.QDQ,
                    per_channel=True,
                    activation_type=quantization.QuantType.QUInt8,
                    weight_type=quantization.QuantType.QInt8,
                    calibrate_method=getattr(
                        quantization.CalibrationMethod,
                        CALIBRATION_METHODS[method]))
        finally:
            for leftover in (prepared, prepared + '.data'):
                if osp.exists(leftover):
                    os.remove(leftover)
        graph = onnx.load(tmp_file)
        graph.metadata_props.add(key=META_QUANTIZATION, value=(
            f'static int8 QDQ, per-channel int8 weights, uint8 activations, '
            f'{CALIBRATION_METHODS[method]} calibration on {len(inputs)} '
            f'inputs' + (f': {description}' if description else '')))
        onnx.checker.check_model(graph)
        onnx.save(graph, tmp_file)
    ops = [node.op_type for node in graph.graph.node]
    return {op: ops.count(op) for op in ('QuantizeLinear',
                                         'DequantizeLinear', 'Conv')}


# ---------------------------------------------------------------- accuracy
def _keypoints(model: nn.Module, tensors: Mapping[str, np.ndarray]
               ) -> Optional[np.ndarray]:
    """(B, K, 2) keypoints in input pixels, decoded by the estimator's own
    ``decode``; None when its heads decode no keypoints."""
    predictions = model.decode(dict(tensors), None)
    if not predictions or 'pred_keypoints' not in predictions[0]:
        return None
    return np.stack([np.asarray(p['pred_keypoints'], np.float64)
                     for p in predictions])


def headline(scores: Mapping[str, float]) -> str:
    """The metric to print: PCK_ave, else the first one."""
    for name in ('PCK_ave', 'EPE', 'MPJPE'):
        if name in scores:
            return name
    return next(iter(scores))


def int8_accuracy(model: nn.Module, runtimes: Mapping[str, nn.Module],
                  batches: Mapping[str, dict],
                  split: Optional[Tuple[str, Sequence[dict]]] = None
                  ) -> dict:
    """What each runtime changes against eager PyTorch.

    Args:
        model: the eager estimator.
        runtimes: e.g. ``{'fp32': OnnxRuntimeModel, 'int8': ...}``: what
            :func:`~handkit.deploy.run_in_pieces` runs (``run(inputs)``).
        batches: named ``{'inputs': ..., 'data_samples': ...}`` to compare
            the outputs on (the tool's parity inputs without the random
            noise: int8 is calibrated for real inputs).
        split: ``(name, batches)``: a split's preprocessed batches, with
            their ``data_samples``, compared as well and decoded into
            predictions (eager and every runtime) for the caller to score.

    Returns:
        ``{'inputs': [names], 'max_diff': {runtime: {output: float}},
        'shift': {runtime: (mean, max) px or None}, 'predictions': None or
        {'eager'|runtime: [prediction dict per sample of the split]}}``.
    """
    model.eval()
    named = [(name, batch, False) for name, batch in batches.items()]
    predictions = None
    if split is not None:
        named += [(f'{split[0]} split', batch, True) for batch in split[1]]
        predictions = {name: [] for name in ['eager', *runtimes]}
    max_diff = {name: {} for name in runtimes}
    shifts = {name: [] for name in runtimes}
    for _, batch, in_split in named:
        with torch.no_grad():
            eager = {key: _numpy(value) for key, value in
                     model.predict_tensors(batch['inputs']).items()}
        # a fixed-batch file runs the split's batches in pieces
        outputs = {name: run_in_pieces(runtime, batch['inputs'])
                   for name, runtime in runtimes.items()}
        reference = _keypoints(model, eager)
        for name, arrays in outputs.items():
            for key, expected in eager.items():
                diff = float(np.max(np.abs(np.asarray(arrays[key], np.float64)
                                           - expected)))
                max_diff[name][key] = max(diff, max_diff[name].get(key, 0.0))
            if reference is not None:
                shifts[name].append(np.linalg.norm(
                    _keypoints(model, arrays) - reference, axis=-1).ravel())
        if in_split:
            for name, arrays in [('eager', eager), *outputs.items()]:
                predictions[name] += model.decode(arrays,
                                                  batch['data_samples'])
    shift = {name: ((float(np.mean(np.concatenate(values))),
                     float(np.max(np.concatenate(values))))
                    if values else None) for name, values in shifts.items()}
    return dict(inputs=[name for name in batches] + (
        [f'{split[0]} split'] if split else []),
        max_diff=max_diff, shift=shift, predictions=predictions)


def format_accuracy(accuracy: Mapping) -> str:
    """The tool's accuracy lines: a title naming the inputs, then a row
    per graph output (``max |ort - eager|``, per runtime), the keypoint
    shift (input px, mean / max, per runtime) and, with a metric split,
    the metric of eager and each runtime (docs/deployment.md, section 5).
    """
    names = list(accuracy['max_diff'])
    lines = [f"accuracy against eager PyTorch ({', '.join(accuracy['inputs'])}"
             '):']
    outputs = list(next(iter(accuracy['max_diff'].values())))
    rows = [('max |ort - eager|', output, '  '.join(
        f'{name} {accuracy["max_diff"][name][output]:.2e}' for name in names))
        for output in outputs]
    if all(value is None for value in accuracy['shift'].values()):
        rows.append(('keypoint shift', 'n/a', 'the heads decode no '
                     'keypoints'))
    else:
        rows.append(('keypoint shift', 'input px, mean / max', '  '.join(
            f'{name} {accuracy["shift"][name][0]:.3f} / '
            f'{accuracy["shift"][name][1]:.3f}' for name in names)))
    metric = accuracy.get('metric')
    if metric:
        key = headline(metric['scores']['eager'])
        scale = 100.0 if key.startswith('PCK') else 1.0
        rows.append(('metric', f"{metric['split']} {key} "
                     f"({metric['samples']} samples)", '  '.join(
                         f'{name} {scale * scores[key]:.3f}'
                         for name, scores in metric['scores'].items())))
    widths = [max(len(row[column]) for row in rows) for column in (0, 1)]
    lines += [f'  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}'
              for a, b, c in rows]
    return '\n'.join(lines)
