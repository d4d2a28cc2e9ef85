"""What tools/train.py and tools/test.py share: config set-up, a pre-flight
check that catches bad input before anything is written, CPU-friendly
distributed launch, and one-paragraph errors instead of tracebacks."""
import contextlib
import importlib.util
import os
import os.path as osp
import sys
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from handkit.codecs.base import BaseCodec
from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.transforms.targets import GenerateTargets
from handkit.engine.checkpoint import (CheckpointMismatchError,
                                       CorruptCheckpointError,
                                       UnsafeCheckpointError)
from handkit.registry import DATASETS, MODELS, UnknownTypeError



class NothingToResumeError(RuntimeError):
    """``--resume`` without a path, and the work dir has no checkpoint."""


class CodecMismatchError(ValueError):
    """A head decodes with other codec settings than its targets are
    encoded with, or a codec assumes another input size than the pipeline's.
    """


# Errors that mean "the input is wrong", shown as a message and exit code 2.
USER_ERRORS = (DataRootNotFoundError, AnnotationError, UnknownTypeError,
               UnsafeCheckpointError, CorruptCheckpointError,
               CheckpointMismatchError, NothingToResumeError,
               CodecMismatchError, FileNotFoundError)


@contextlib.contextmanager
def user_errors_exit():
    """Print a user error as text (no traceback) and exit with code 2."""
    try:
        yield
    except USER_ERRORS as error:
        print(f'handkit: error: {error}', file=sys.stderr)
        sys.exit(2)


def add_common_args(parser):
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config keys, e.g. '
        'train_dataloader.dataset.data_root=/data/panoptic')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none', help='job launcher (torchrun: pytorch)')


def load_config(args):
    """Config from the command line, with work_dir and launcher resolved."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    add_tensorboard_if_installed(cfg)
    if args.launcher == 'pytorch':
        setup_distributed(cfg)
    return cfg


def add_tensorboard_if_installed(cfg):
    """Also log to TensorBoard when the ``tensorboard`` package is there."""
    visualizer = cfg.get('visualizer')
    if visualizer is None or importlib.util.find_spec('tensorboard') is None:
        return
    backends = list(visualizer.get('vis_backends') or [])
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        visualizer['vis_backends'] = backends + [
            dict(type='TensorboardVisBackend')]


def setup_distributed(cfg):
    """Prepare torch.distributed for the Runner.

    mmengine 0.10's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``, both fatal without CUDA. On a
    CPU-only machine the gloo process group is initialised here, before the
    Runner (which then skips ``init_dist``), and DDP gets ``device_ids=None``.
    """
    if torch.cuda.is_available():
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'nccl'
        return
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel', device_ids=None,
        broadcast_buffers=False)


def _as_size(size) -> Tuple[float, ...]:
    return tuple(float(side) for side in size)


def _pipeline_codecs(transforms: Sequence
                     ) -> Tuple[Optional[Tuple[str, tuple]], list]:
    """``((warp step name, input size) or None, target encoders)`` of one
    pipeline's transforms."""
    warp, encoders = None, []
    for transform in transforms:
        if isinstance(transform, GenerateTargets):
            encoders.extend(transform.encoders)
        elif getattr(transform, 'input_size', None) is not None:
            warp = (type(transform).__name__, _as_size(transform.input_size))
    return warp, encoders


def check_codecs(model, pipelines: Dict[str, Sequence]) -> None:
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


def preflight(cfg, loader_keys):
    """Build the model and the datasets once, before the Runner exists.

    A missing data_root, a malformed annotation, an unknown type or a head
    whose decoder does not match its target encoder (:func:`check_codecs`)
    then stops the run before a work dir, a log or a checkpoint is written.
    Returns the built model (to check a checkpoint against).
    """
    init_default_scope(cfg.get('default_scope', 'handkit'))
    pipelines = {}
    for key in loader_keys:
        loader = cfg.get(key)
        if loader is not None:
            dataset = DATASETS.build(loader['dataset'])
            pipelines[key] = getattr(getattr(dataset, 'pipeline', None),
                                     'transforms', [])
    model = MODELS.build(cfg.model)
    check_codecs(model, pipelines)
    return model


def quiet_dataloader_workers(cfg):
    """Use worker processes only where there are cores for them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader is not None and loader.get('num_workers', 0) > cores:
            loader['num_workers'] = cores
