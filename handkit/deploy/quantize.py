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

Calibration inputs come from the config's own test-time path
(:func:`calibration_inputs`): the first N samples of one of its splits
(``val``, ``test``, ``train``, always through the test pipeline), hands of
handkit's renderer (``synthetic``), or image files through
:func:`handkit.apis.inference.prepare_inputs` (the whole image as the crop,
what ``inference()`` does without a box). Any other (1, C, H, W)
arrays can be handed to :func:`quantize_static_int8` directly (the MediaPipe
landmark model is calibrated on the ROI crops of ``HandInferencer``:
``benchmarks/bench_int8.py``).

:func:`int8_accuracy` measures what quantisation costs against eager
PyTorch: the largest difference of each network output, the keypoint shift
in input pixels (decoded by the estimator's own ``decode``) and, on a split
given, the config's metric (docs/deployment.md, section 5).

Dynamic quantisation is refused for convolutional models
(:func:`refuse_dynamic`): measured on NSRM at 368 it ran at 0.31 x the speed
of eager float32.
"""
import contextlib
import logging
import os
import os.path as osp
from typing import (Dict, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
from torch import nn

from handkit.deploy.onnx_export import INPUT_NAME
from handkit.deploy.optional import import_optional
from handkit.fileio import atomic_output

#: calibration methods by name (onnxruntime.quantization.CalibrationMethod)
CALIBRATION_METHODS = {'minmax': 'MinMax', 'percentile': 'Percentile',
                       'entropy': 'Entropy'}
DEFAULT_CALIBRATION_SIZE = 20
SPLITS = ('train', 'val', 'test')
SYNTHETIC = 'synthetic'
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
#: ONNX metadata key: how the file was quantised
META_QUANTIZATION = 'handkit.quantization'

DYNAMIC_REFUSED = (
    'dynamic int8 quantisation is refused for convolutional models: ONNX '
    'Runtime then computes every activation scale at run time and runs the '
    'convolutions without its fused int8 kernels; measured on NSRM at 368 '
    '(batch 1, 1 thread, issue 28) it took 6792 ms against 2097 ms in eager '
    'float32 (0.31 x the speed). Use --int8 (static, calibrated: 482 ms, '
    '4.4 x)')


class CalibrationError(ValueError):
    """A calibration source that gives no inputs (one line naming it)."""


class QuantizationRefusedError(ValueError):
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
def _dataset_inputs(model: nn.Module, split: str, size: int
                    ) -> List[np.ndarray]:
    """The first ``size`` samples of the config's ``split``, through the
    config's test pipeline and the model's data preprocessor."""
    from handkit.datasets.collate import hand_collate
    from handkit.registry import DATASETS
    cfg = model.cfg
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        raise CalibrationError(
            f'--calibration {split}: the config has no {split}_dataloader')
    dataset_cfg = dict(loader['dataset'])
    # always the test-time crops: a train split without its augmentation
    dataset_cfg.update(pipeline=cfg.test_dataloader.dataset.pipeline,
                       test_mode=True)
    if 'indices' not in dataset_cfg:
        dataset_cfg['indices'] = int(size)
    dataset = DATASETS.build(dataset_cfg)
    count = min(int(size), len(dataset))
    if not count:
        raise CalibrationError(f'--calibration {split}: the split is empty')
    inputs = []
    for start in range(0, count, 16):
        batch = hand_collate([dataset[index] for index in
                              range(start, min(count, start + 16))])
        with torch.no_grad():
            data = model.data_preprocessor(batch, False)
        inputs += [x[None] for x in _numpy(data['inputs'])]
    return inputs


def image_files(paths: Sequence[str]) -> List[str]:
    """Image files of ``paths`` (files, or folders: their images, sorted);
    :class:`CalibrationError` naming a path that is neither."""
    files = []
    for path in paths:
        if osp.isdir(path):
            found = sorted(osp.join(path, name) for name in os.listdir(path)
                           if name.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise CalibrationError(
                    f'--calibration {path}: the folder holds no image '
                    f"({', '.join(IMAGE_SUFFIXES)})")
            files += found
        elif osp.isfile(path):
            files.append(path)
        else:
            raise CalibrationError(
                f'--calibration {path}: neither a split of the config '
                f"({', '.join(SPLITS)}), {SYNTHETIC!r} nor an image file "
                'or folder')
    return files


def calibration_inputs(model: nn.Module,
                       spec: Optional[Sequence[str]] = None,
                       size: int = DEFAULT_CALIBRATION_SIZE
                       ) -> Tuple[List[np.ndarray], str]:
    """Calibration inputs of a model, through its config's test-time path.

    Args:
        model: the eager estimator of :func:`handkit.apis.init_model`
            (``model.cfg``, ``model.data_preprocessor``).
        spec: None: the config's ``val`` split, else its ``test`` split;
            ``['val']`` (or ``'train'``, ``'test'``): that split's first
            ``size`` samples through the test pipeline; ``'synthetic'``:
            ``size`` hands of handkit's renderer (:func:`synthetic_inputs`);
            otherwise image
            files or folders, each image through
            :func:`~handkit.apis.inference.prepare_inputs` (the whole image
            as the crop), the first ``size`` of them.
        size: how many inputs at most.

    Returns:
        ``(inputs, description)``: float32 (1, C, H, W) arrays, the data
        preprocessor's output, and a few words saying what they are.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise CalibrationError(f'--calibration-size must be an integer >= 1,'
                               f' got {size!r}')
    if spec is None:
        split = 'val' if model.cfg.get('val_dataloader') else 'test'
        spec = [split]
    spec = [spec] if isinstance(spec, str) else list(spec)
    if not spec:
        raise CalibrationError('--calibration: give a split or images')
    if len(spec) == 1 and spec[0] in SPLITS and not osp.exists(spec[0]):
        inputs = _dataset_inputs(model, spec[0], size)
        return inputs, (f'the first {len(inputs)} samples of the '
                        f'{spec[0]} split')
    from handkit.evaluation.complexity import input_shape_from_config
    rgb = input_shape_from_config(model.cfg)[0] == 3
    if len(spec) == 1 and spec[0] == SYNTHETIC and not osp.exists(spec[0]):
        if not rgb:
            raise CalibrationError(f'--calibration {SYNTHETIC}: the model '
                                   'takes depth crops; calibrate on a split')
        inputs = [_numpy(x) for x in synthetic_inputs(model, size)]
        return inputs, f'{len(inputs)} rendered hands (handkit renderer)'
    files = image_files(spec)[:size]
    if files and not rgb:
        raise CalibrationError('--calibration images: the model takes depth '
                               'crops; calibrate on a split')
    from handkit.apis.inference import prepare_inputs
    inputs = [_numpy(prepare_inputs(model, path)['inputs'])
              for path in files]
    return inputs, f'{len(inputs)} images (whole-image crops)'


def whole_image_model(cfg) -> bool:
    """The config's test pipeline crops the whole image (a detector, e.g.
    MediaPipe's palm model), not a hand."""
    from handkit.datasets.base import pipeline_steps
    loader = cfg.get('test_dataloader') or {}
    steps = pipeline_steps((loader.get('dataset') or {}).get('pipeline')
                           or ())
    return any(step.get('type') == 'HandCrop' and step.get('mode') == 'image'
               for step in steps)


def synthetic_hands(size: int, image_size: Tuple[int, int] = (320, 240),
                    seed: int = 1000) -> List[dict]:
    """``size`` hands of handkit's renderer (seeds ``seed``...), palm or
    back within 60 degrees of the camera, the keypoint box 25-70 % of the
    image's shorter side: BGR ``image``, ``keypoints`` (21, 2) px."""
    from handkit.datasets.synthetic.renderer import render_hand
    return [render_hand(seed + index, image_size=image_size,
                        fill_range=(0.25, 0.7), max_view_angle=60.0)
            for index in range(size)]


def synthetic_inputs(model: nn.Module, size: int) -> List[torch.Tensor]:
    """Rendered hands through :func:`~handkit.apis.inference.
    prepare_inputs`: the whole image for a whole-image model (a detector),
    else the hand's keypoint box (padded 1.25 x, as a detector's box)."""
    from handkit.apis.inference import prepare_inputs
    whole = whole_image_model(model.cfg)
    inputs = []
    for hand in synthetic_hands(size):
        points = hand['keypoints']
        box = None if whole else np.concatenate([points.min(0),
                                                 points.max(0)])
        inputs.append(prepare_inputs(model, hand['image'],
                                     bbox=box)['inputs'])
    return inputs


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


def _evaluation_batches(model: nn.Module, split: str,
                        size: Optional[int]) -> Tuple[list, object, int]:
    """(batches, (metric configs, metainfo), samples) of the config's
    ``split``: batches of 32 preprocessed samples, the split's evaluator
    (``val_evaluator`` / ``test_evaluator``) and the dataset's metainfo."""
    from handkit.datasets.collate import hand_collate
    from handkit.registry import DATASETS
    cfg = model.cfg
    loader = cfg.get(f'{split}_dataloader')
    if split not in SPLITS or not loader or not loader.get('dataset'):
        raise CalibrationError(f'--metric-split {split}: the config has no '
                               f'{split}_dataloader')
    evaluator = cfg.get(f'{split}_evaluator') or cfg.get('val_evaluator')
    if not evaluator:
        raise CalibrationError(f'--metric-split {split}: the config has no '
                               f'{split}_evaluator')
    dataset_cfg = dict(loader['dataset'])
    if size is not None and 'indices' not in dataset_cfg:
        dataset_cfg['indices'] = int(size)
    dataset = DATASETS.build(dataset_cfg)
    metrics_cfg = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator]
    batches = []
    for start in range(0, len(dataset), 32):
        batch = hand_collate([dataset[index] for index in
                              range(start, min(len(dataset), start + 32))])
        with torch.no_grad():
            batches.append(model.data_preprocessor(batch, False))
    return batches, (metrics_cfg, dataset.metainfo), len(dataset)


def _score(metrics_cfg, metainfo, predictions: List[dict]) -> Dict[str,
                                                                     float]:
    from handkit.registry import METRICS
    scores = {}
    for metric_cfg in metrics_cfg:
        metric = METRICS.build(dict(metric_cfg))
        metric.dataset_meta = metainfo
        metric.process(None, predictions)
        scores.update(metric.evaluate(len(predictions)))
    return scores


def headline(scores: Mapping[str, float]) -> str:
    """The metric to print: PCK_ave, else the first one."""
    for name in ('PCK_ave', 'EPE', 'MPJPE'):
        if name in scores:
            return name
    return next(iter(scores))


def int8_accuracy(model: nn.Module, runtimes: Mapping[str, nn.Module],
                  batches: Mapping[str, dict],
                  metric_split: Optional[str] = None,
                  metric_size: Optional[int] = None) -> dict:
    """What each runtime changes against eager PyTorch.

    Args:
        model: the eager estimator (``model.cfg``).
        runtimes: e.g. ``{'fp32': OnnxRuntimeModel, 'int8': ...}``.
        batches: named ``{'inputs': ..., 'data_samples': ...}`` to compare
            the outputs on (:func:`~handkit.deploy.parity_inputs`, without
            the random noise: int8 is calibrated for real inputs).
        metric_split: also score the config's metric on this split
            (eager and every runtime) and compare the outputs there.
        metric_size: the split's first samples only.

    Returns:
        ``{'inputs': [names], 'max_diff': {runtime: {output: float}},
        'shift': {runtime: (mean, max) px or None}, 'metric': None or
        {'split', 'samples', 'scores': {'eager'|runtime: {name: value}}}}``.
    """
    from handkit.apis.hand_inferencer import _run_onnx
    model.eval()
    named = [(name, batch, None) for name, batch in batches.items()]
    metric = None
    if metric_split is not None:
        split_batches, (metrics_cfg, metainfo), samples = (
            _evaluation_batches(model, metric_split, metric_size))
        named += [(f'{metric_split} split', batch, index)
                  for index, batch in enumerate(split_batches)]
        predictions = {name: [] for name in ['eager', *runtimes]}
    max_diff = {name: {} for name in runtimes}
    shifts = {name: [] for name in runtimes}
    for _, batch, split_index in named:
        with torch.no_grad():
            eager = {key: _numpy(value) for key, value in
                     model.predict_tensors(batch['inputs']).items()}
        # a fixed-batch file runs the split's batches in pieces
        outputs = {name: _run_onnx(runtime, batch['inputs'])
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
        if split_index is not None:
            for name, arrays in [('eager', eager), *outputs.items()]:
                predictions[name] += model.decode(arrays,
                                                  batch['data_samples'])
    if metric_split is not None:
        metric = dict(split=metric_split, samples=samples, scores={
            name: _score(metrics_cfg, metainfo, preds)
            for name, preds in predictions.items()})
    shift = {name: ((float(np.mean(np.concatenate(values))),
                     float(np.max(np.concatenate(values))))
                    if values else None) for name, values in shifts.items()}
    return dict(inputs=[name for name in batches] + (
        [f'{metric_split} split'] if metric_split else []),
        max_diff=max_diff, shift=shift, metric=metric)


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
