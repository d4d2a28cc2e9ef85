"""Pre-flight: build what a run needs once and check it before anything is
written.

``tools/train.py`` and ``tools/test.py`` call :func:`preflight` before the
Runner exists: a missing data_root, a malformed or unsafe annotation, a
label the config needs that the data lacks (:func:`check_labels`), an
unknown type, an unsafe ``Pretrained`` file or a head that decodes with
other codec settings than its targets are encoded with
(:func:`check_codecs`) stops the run in one line before a work dir, a log
or a checkpoint is written. What it built (:class:`Built`: the model and
the datasets) is what the Runner then runs
(``HandRunner.from_cfg(cfg, built=...)``): nothing is built twice.
"""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import (Any, Dict, Iterable, Iterator, List, Optional, Sequence,
                    Tuple)

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.utils import set_random_seed
from torch.utils.data import ConcatDataset as TorchConcatDataset

from handkit.codecs.base import BaseCodec
from handkit.datasets.base import AnnotationError, input_size_step
from handkit.datasets.check import find_bad_samples
from handkit.datasets.transforms.targets import GenerateTargets
from handkit.engine.checkpoint import load_checkpoint_file
from handkit.errors import HandkitUserError
from handkit.labels import LABELS
from handkit.registry import DATASETS, METRICS, MODELS


class CodecMismatchError(HandkitUserError, ValueError):
    """A head decodes with other codec settings than its targets are
    encoded with, or a codec assumes another input size than the pipeline's.
    """


@dataclass
class Built:
    """What :func:`preflight` built, for the Runner to run.

    Attributes:
        model (torch.nn.Module): the model of ``cfg.model``, built after
            seeding as the Runner would (its initial weights are those a
            Runner-built model would have).
        datasets (dict): loader key -> the dataset built for it.
        seed (int): the seed set before the model was built (the Runner's
            ``randomness``), which the Runner keeps instead of seeding again.
    """
    model: torch.nn.Module
    datasets: Dict[str, Any]
    seed: int


def _as_size(size) -> Tuple[float, ...]:
    return tuple(float(side) for side in size)


def _pipeline_codecs(transforms: Sequence
                     ) -> Tuple[Optional[Tuple[str, tuple]], list]:
    """``((warp step name, input size) or None, target encoders)`` of one
    pipeline's transforms."""
    encoders = [codec for transform in transforms
                if isinstance(transform, GenerateTargets)
                for codec in transform.encoders]
    warp = input_size_step(transforms)
    return (None if warp is None else (warp[0], _as_size(warp[1])),
            encoders)


def check_codecs(model: torch.nn.Module,
                 pipelines: Dict[str, Sequence]) -> None:
    """Check that every head decodes as its targets are encoded.

    For each head with a ``decoder`` (a :class:`BaseCodec`), the encoders of
    the same type in each pipeline's ``GenerateTargets`` must include one
    with the same :meth:`~BaseCodec.settings` (type, input_size,
    heatmap_size, sigma, ...). Every codec's and every head's
    ``input_size`` must be the pipeline's (``TopdownAffine`` /
    ``DepthCubeCrop``). A config that passes its one ``codec`` dict to both
    sides always passes; a ``--cfg-options`` that changes one side only does
    not.

    Args:
        model: the built estimator (its ``heads`` and ``head_names``).
        pipelines: loader name -> that loader's built transforms.

    Raises:
        CodecMismatchError: one line naming both sides and what differs.
    """
    heads = list(zip(getattr(model, 'head_names', []),
                     getattr(model, 'heads', [])))
    for loader, transforms in pipelines.items():
        warp, encoders = _pipeline_codecs(transforms)
        sized = [(f'target encoder {codec!r}', codec) for codec in encoders]
        for name, head in heads:
            decoder = getattr(head, 'decoder', None)
            sized.append((f"head '{name}'", head))
            if not isinstance(decoder, BaseCodec):
                continue
            sized.append((f"head '{name}' decoder {decoder!r}", decoder))
            same_type = [codec for codec in encoders
                         if type(codec) is type(decoder)]
            if same_type and all(codec.settings() != decoder.settings()
                                 for codec in same_type):
                encoder = same_type[0].settings()
                differ = ', '.join(
                    f'{key} {value!r} vs {encoder[key]!r}'
                    for key, value in decoder.settings().items()
                    if value != encoder.get(key))
                raise CodecMismatchError(
                    f"head '{name}' decodes with {decoder!r} but {loader}'s "
                    f'GenerateTargets encodes its targets with '
                    f'{same_type[0]!r} ({differ}); pass the config\'s one '
                    f'codec to both')
        if warp is None:
            continue
        for what, owner in sized:
            size = getattr(owner, 'input_size', None)
            if size is not None and _as_size(size) != warp[1]:
                raise CodecMismatchError(
                    f'{what} assumes input_size {_as_size(size)} but '
                    f"{loader}'s {warp[0]} makes {warp[1]} inputs")


# The evaluator that scores each loader's predictions.
EVALUATOR_OF = dict(val_dataloader='val_evaluator',
                    test_dataloader='test_evaluator')


def _registered(registry, cfg: Any) -> Optional[type]:
    """The class a config dict's ``type`` names, or None."""
    if not isinstance(cfg, Mapping) or not isinstance(cfg.get('type'), str):
        return None
    return registry.get(cfg['type'])


def needed_labels(cfg: Config, loader: str,
                  transforms: Sequence) -> Dict[str, Tuple[str, Any]]:
    """The optional labels (``handkit.labels``) a loader's samples must
    give: label key -> (who needs it, in words; the needing codec or
    class, whose ``label_fallbacks`` say how to do without it).

    A target codec needs the labels among its ``encode_inputs``; a metric
    of the loader's evaluator and a head of the model those they name in
    ``required_labels``.
    """
    needed = {}
    for codec in _pipeline_codecs(transforms)[1]:
        for key in codec.encode_inputs:
            if key in LABELS and LABELS[key].optional:
                needed.setdefault(key, (
                    f'the target codec {type(codec).__name__}', codec))
    # a ConcatDataset's member is named '<loader>.dataset.datasets[i]'
    evaluators = cfg.get(EVALUATOR_OF.get(loader.split('.')[0], ''),
                         None) or []
    if isinstance(evaluators, Mapping):
        evaluators = [evaluators]
    heads = (cfg.get('model') or {}).get('heads') or []
    users = [('metric', METRICS, metric) for metric in evaluators] + [
        ('head', MODELS, head) for head in (
            heads.values() if isinstance(heads, Mapping) else heads)]
    for kind, registry, user_cfg in users:
        user = _registered(registry, user_cfg)
        for key in getattr(user, 'required_labels', ()):
            needed.setdefault(key, (f'the {kind} {user_cfg["type"]}', user))
    return needed


def missing_label_hint(key: str, user: Any = None) -> str:
    """What to use when a dataset lacks label ``key``, from the label's
    owners: the label's own ``missing`` text, the adapters that give it
    (their ``label_hints``, by class name) and how the ``user`` that needs
    it does without (its ``label_fallbacks``)."""
    label = LABELS.get(key)
    hint = label.missing if label is not None and label.missing else (
        f'a dataset that has {key} labels')
    DATASETS.import_from_location()  # every adapter registered
    givers = [hints[key] for _, hints in sorted(
        (name, getattr(cls, 'label_hints', {}))
        for name, cls in DATASETS.module_dict.items()) if key in hints]
    if givers:
        shown = (givers[0] if len(givers) == 1 else
                 ', '.join(givers[:-1]) + ' or ' + givers[-1])
        hint += f', e.g. {shown}'
    fallback = getattr(user, 'label_fallbacks', {}).get(key)
    return hint + (f', or {fallback}' if fallback else '')


def check_labels(cfg: Config, loader: str, dataset: Any,
                 transforms: Sequence) -> None:
    """:class:`AnnotationError` when the loader's codecs, metrics or heads
    need an optional label (:func:`needed_labels`) that the dataset's first
    sample gives by none of its sources (``handkit.labels``: a depth map
    as ``depth`` or ``depth_path``): one line naming the loader, the
    dataset, the key, who needs it and what to use instead
    (:func:`missing_label_hint`), before anything is written (not a
    KeyError deep in a data loader).
    """
    needed = needed_labels(cfg, loader, transforms)
    if not needed or len(dataset) == 0:
        return
    info = dataset.get_data_info(0)
    for key, (who, user) in needed.items():
        sources = LABELS[key].given_by() if key in LABELS else (key, )
        if all(info.get(source) is None for source in sources):
            raise AnnotationError(
                f'{loader}: {type(dataset).__name__} sample 0 '
                f"({info.get('img_path')}) has no '{key}', which {who} "
                f'needs; use {missing_label_hint(key, user)}')


def loader_datasets(loader: str, dataset: Any) -> List[Tuple[str, Any]]:
    """``(name, dataset)`` of each dataset a loader reads, so that each is
    checked with its own pipeline: the loader's dataset itself, named
    ``loader``, or each member of a ``ConcatDataset``, named
    ``'<loader>.dataset.datasets[<i>]'``."""
    if isinstance(dataset, TorchConcatDataset):
        return [(f'{loader}.dataset.datasets[{index}]', member)
                for index, member in enumerate(dataset.datasets)]
    return [(loader, dataset)]


# The data_info keys that name a file a sample is read from.
SAMPLE_FILE_KEYS = ('img_path', 'mask_path', 'depth_path',
                    'segmentation_path')


def dataset_files(dataset: Any) -> List[str]:
    """The files a built dataset reads: its annotation files (``ann_file``
    and every file the adapter checked, ``source_files``) and every
    sample's image, mask and depth files (``ConcatDataset`` members
    included); what an output must never replace."""
    files = []
    for _, member in loader_datasets('', dataset):
        ann_file = getattr(member, 'ann_file', None)
        if isinstance(ann_file, str) and ann_file:
            files.append(ann_file)
        files.extend(getattr(member, 'source_files', []))
        for index in range(len(member)):
            info = member.get_data_info(index)
            files.extend(info[key] for key in SAMPLE_FILE_KEYS
                         if isinstance(info.get(key), str))
    return files


def _pretrained_files(node: Any) -> Iterator[str]:
    """The ``checkpoint`` of every ``init_cfg=dict(type='Pretrained')`` in
    a model config."""
    if isinstance(node, Mapping):
        if node.get('type') == 'Pretrained' and 'checkpoint' in node:
            yield str(node['checkpoint'])
        for value in node.values():
            yield from _pretrained_files(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _pretrained_files(value)


def preflight(cfg: Config, loader_keys: Iterable[str],
              check_first: int = 0,
              files: Optional[List[str]] = None) -> Built:
    """Build the datasets and the model once, before the Runner exists,
    and check them.

    A missing data_root, a malformed or unsafe annotation, a label the
    codecs, metrics or heads need that the dataset lacks
    (:func:`check_labels`, on each member of a ``ConcatDataset`` with its
    own pipeline), an unknown type, a ``Pretrained`` init file that is not
    a safe checkpoint, or a head whose decoder does not match its target
    encoder (:func:`check_codecs`) then stops the run before a work dir, a
    log or a checkpoint is written.
    With ``check_first`` N > 0 the first N images of each dataset (each
    member's) are also decoded and checked
    (:func:`handkit.datasets.check.find_bad_samples`); the first bad one is
    an :class:`AnnotationError`. ``files``, when given, receives every file
    the datasets read (:func:`dataset_files`).

    The model is built after seeding with the config's ``randomness``, as
    mmengine's Runner does before it builds one, so its initial weights
    are the ones the Runner would give it; call this after the distributed
    process group exists (``load_config``), so that the seed is shared.

    Returns:
        Built: the model, the dataset of each loader and the seed, for
        ``HandRunner.from_cfg(cfg, built=...)``.
    """
    init_default_scope(cfg.get('default_scope', 'handkit'))
    pipelines, datasets = {}, {}
    for key in loader_keys:
        loader = cfg.get(key)
        if loader is None:
            continue
        dataset = datasets[key] = DATASETS.build(loader['dataset'])
        for name, member in loader_datasets(key, dataset):
            pipelines[name] = getattr(getattr(member, 'pipeline', None),
                                      'transforms', [])
            check_labels(cfg, name, member, pipelines[name])
            for problem in find_bad_samples(member, check_first or 0):
                raise AnnotationError(f'{name}: {problem}')
        if files is not None:
            files.extend(dataset_files(dataset))
    for path in _pretrained_files(cfg.get('model')):
        load_checkpoint_file(path)  # one line if unsafe, corrupt or missing
    seed = set_random_seed(**(cfg.get('randomness') or {}))
    model_cfg = dict(cfg.model)
    if cfg.get('data_preprocessor') is not None:  # as the Runner merges it
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    check_codecs(model, pipelines)
    return Built(model=model, datasets=datasets, seed=seed)
