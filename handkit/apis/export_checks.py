"""A config's splits as an export's calibration inputs and accuracy check,
through the config's own test-time path.

``tools/export_onnx.py`` calibrates an int8 export on a split's first
samples (:func:`split_inputs`: the config's *test* pipeline and the model's
data preprocessor) and scores every runtime on a split with the config's
evaluator (:func:`runtime_accuracy`). ``handkit.deploy`` compares and
quantises whatever it is given; building datasets and metrics from a config
is this layer's. The rendered hands and photos of the checks stay with the
tool (:mod:`handkit.tools.export_inputs`): only the tools and the dataset
adapters import the synthetic generator.
"""
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
from torch import nn

from handkit.datasets.collate import hand_collate
from handkit.deploy.quantize import CalibrationError, int8_accuracy
from handkit.registry import DATASETS, METRICS

SPLITS = ('train', 'val', 'test')


def as_float32(tensor) -> np.ndarray:
    """A tensor or array as a contiguous float32 numpy array."""
    if isinstance(tensor, torch.Tensor):
        tensor = tensor.detach().float().cpu().numpy()
    return np.ascontiguousarray(tensor, dtype=np.float32)


def _split_dataset_cfg(cfg, split: str, size: Optional[int], option: str,
                       test_pipeline: bool = False) -> dict:
    """The dataset config of the config's ``split`` (its first ``size``
    samples unless the config picks ``indices``); :class:`CalibrationError`
    naming ``option`` when the config has none."""
    loader = cfg.get(f'{split}_dataloader')
    if split not in SPLITS or not loader or not loader.get('dataset'):
        raise CalibrationError(f'{option} {split}: the config has no '
                               f'{split}_dataloader')
    dataset_cfg = dict(loader['dataset'])
    if test_pipeline:
        # always the test-time crops: a train split without its augmentation
        dataset_cfg.update(pipeline=cfg.test_dataloader.dataset.pipeline,
                           test_mode=True)
    if size is not None and 'indices' not in dataset_cfg:
        dataset_cfg['indices'] = int(size)
    return dataset_cfg


def _preprocessed(model: nn.Module, dataset, count: int,
                  batch_size: int) -> List[dict]:
    """The first ``count`` samples of ``dataset`` collated in batches of
    ``batch_size`` and run through the model's data preprocessor."""
    batches = []
    for start in range(0, count, batch_size):
        batch = hand_collate([dataset[index] for index in
                              range(start, min(count, start + batch_size))])
        with torch.no_grad():
            batches.append(model.data_preprocessor(batch, False))
    return batches


def split_inputs(model: nn.Module, split: str, size: int
                 ) -> List[np.ndarray]:
    """The first ``size`` samples of the config's ``split`` through the
    config's test pipeline and the model's data preprocessor: float32
    (1, C, H, W) arrays."""
    dataset = DATASETS.build(_split_dataset_cfg(
        model.cfg, split, size, '--calibration', test_pipeline=True))
    count = min(int(size), len(dataset))
    if not count:
        raise CalibrationError(f'--calibration {split}: the split is empty')
    return [x[None] for batch in _preprocessed(model, dataset, count, 16)
            for x in as_float32(batch['inputs'])]


def _split_batches(model: nn.Module, split: str, size: Optional[int]
                   ) -> Tuple[list, list, dict]:
    """(batches, metric configs, metainfo) of the config's ``split``:
    batches of 32 preprocessed samples, the split's evaluator
    (``val_evaluator`` / ``test_evaluator``) and the dataset's metainfo."""
    cfg = model.cfg
    dataset_cfg = _split_dataset_cfg(cfg, split, size, '--metric-split')
    evaluator = cfg.get(f'{split}_evaluator') or cfg.get('val_evaluator')
    if not evaluator:
        raise CalibrationError(f'--metric-split {split}: the config has no '
                               f'{split}_evaluator')
    dataset = DATASETS.build(dataset_cfg)
    metrics_cfg = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator]
    return (_preprocessed(model, dataset, len(dataset), 32), metrics_cfg,
            dataset.metainfo)


def _score(metrics_cfg: list, metainfo: dict,
           predictions: List[dict]) -> Dict[str, float]:
    scores = {}
    for metric_cfg in metrics_cfg:
        metric = METRICS.build(dict(metric_cfg))
        metric.dataset_meta = metainfo
        metric.process(None, predictions)
        scores.update(metric.evaluate(len(predictions)))
    return scores


def runtime_accuracy(model: nn.Module, runtimes: Mapping[str, nn.Module],
                     batches: Mapping[str, dict],
                     metric_split: Optional[str] = None,
                     metric_size: Optional[int] = None) -> dict:
    """:func:`handkit.deploy.int8_accuracy` on ``batches`` and, with
    ``metric_split``, that split's first ``metric_size`` samples scored by
    the config's evaluator: its dict with ``'metric'`` (None, or
    ``{'split', 'samples', 'scores': {'eager'|runtime: {name: value}}}``)
    for :func:`handkit.deploy.format_accuracy`."""
    split = None
    if metric_split is not None:
        split_batches, metrics_cfg, metainfo = _split_batches(
            model, metric_split, metric_size)
        split = (metric_split, split_batches)
    accuracy = int8_accuracy(model, runtimes, batches, split)
    predictions = accuracy.pop('predictions')
    accuracy['metric'] = None if split is None else dict(
        split=metric_split, samples=len(predictions['eager']), scores={
            name: _score(metrics_cfg, metainfo, preds)
            for name, preds in predictions.items()})
    return accuracy
