"""What tools/train.py and tools/test.py share: config set-up, a pre-flight
check that catches bad input before anything is written, CPU-friendly
distributed launch, and one-paragraph errors instead of tracebacks."""
import argparse
import contextlib
import errno
import fcntl
import importlib.util
import os
import os.path as osp
import sys
from collections.abc import Mapping
from typing import (Any, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple)

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from torch.utils.data import ConcatDataset as TorchConcatDataset

from handkit.codecs.base import BaseCodec
from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.check import find_bad_samples
from handkit.datasets.transforms.loading import ImageFileError
from handkit.datasets.transforms.targets import GenerateTargets
from handkit.deploy import (MissingDependencyError, NotExportableError,
                            OnnxModelMismatchError, UnreadableOnnxError,
                            UnsupportedOpError)
from handkit.engine.checkpoint import (CheckpointMismatchError,
                                       CorruptCheckpointError,
                                       load_checkpoint_file)
from handkit.engine.config import (ConfigError, check_cfg_options,
                                   load_config_file)
from handkit.engine.download import CheckpointDownloadError
from handkit.fileio import UnsafeFileError
from handkit.registry import DATASETS, METRICS, MODELS, UnknownTypeError


class NothingToResumeError(RuntimeError):
    """``--resume`` without a path, and the work dir has no checkpoint."""


class CodecMismatchError(ValueError):
    """A head decodes with other codec settings than its targets are
    encoded with, or a codec assumes another input size than the pipeline's.
    """


class OutputError(ValueError):
    """An output path that would overwrite an input or cannot be written."""


class WorkDirInUseError(RuntimeError):
    """Another training holds the lock of the work dir."""


# Errors that mean "the input is wrong", shown as a message and exit code 2.
USER_ERRORS = (DataRootNotFoundError, AnnotationError, UnknownTypeError,
               UnsafeFileError, CorruptCheckpointError,
               CheckpointMismatchError, NothingToResumeError, ConfigError,
               CodecMismatchError, OutputError, WorkDirInUseError,
               FileNotFoundError, PermissionError, MissingDependencyError,
               UnsupportedOpError, NotExportableError,
               OnnxModelMismatchError, UnreadableOnnxError, ImageFileError,
               CheckpointDownloadError)


def user_message(error: BaseException) -> str:
    """The message of a user error. One re-raised from a data-loader worker
    carries the worker's traceback: its last line (the original message,
    without the exception's name) is what a user needs."""
    message = str(error)
    if 'Traceback (most recent call last)' not in message:
        return message
    last = message.strip().splitlines()[-1]
    name = f'{type(error).__module__}.{type(error).__qualname__}: '
    return last[len(name):] if last.startswith(name) else last


@contextlib.contextmanager
def user_errors_exit() -> Iterator[None]:
    """Print a user error (no traceback; :func:`user_message`) and exit
    with code 2.

    The user errors are :data:`USER_ERRORS` and the ``OSError`` s of a
    read-only or full file system (``EROFS``, ``EACCES``, ``ENOSPC``,
    ``EDQUOT``).
    """
    try:
        yield
    except USER_ERRORS as error:
        print(f'handkit: error: {user_message(error)}', file=sys.stderr)
        sys.exit(2)
    except OSError as error:
        if error.errno not in (errno.EROFS, errno.EACCES, errno.ENOSPC,
                               errno.EDQUOT):
            raise
        print(f'handkit: error: {user_message(error)}', file=sys.stderr)
        sys.exit(2)


def _existing_ancestor(path: str) -> str:
    """``path`` or its nearest ancestor that exists."""
    path = osp.abspath(path)
    while not osp.exists(path):
        path = osp.dirname(path)
    return path


def check_writable_dir(path: str, what: str = 'work dir') -> None:
    """:class:`OutputError` unless folder ``path`` can be written (or
    created: its nearest existing ancestor is a writable folder)."""
    existing = _existing_ancestor(path)
    if not osp.isdir(existing):
        raise OutputError(f'{what} {path}: {existing} is a file, not a '
                          'folder')
    if not os.access(existing, os.W_OK | os.X_OK):
        shown = ('' if existing == osp.abspath(path) else
                 f' ({existing} cannot be written to create it)')
        raise OutputError(f'{what} {path} is read-only{shown}')


def check_output_file(path: str, inputs: Iterable[str],
                      overwrite: bool = False, option: str = '--out') -> str:
    """Check an output file before anything runs; return its absolute path.

    Refused (:class:`OutputError`): a path that is one of ``inputs`` (the
    config and its ``_base_`` files, the checkpoint, ...), even with
    ``overwrite``; an existing file unless ``overwrite``; an existing
    folder; one whose folder cannot be written. A missing folder is fine:
    the caller creates it (:func:`make_parent_dir`) once the other checks
    passed.
    """
    refuse_overwriting_inputs([path], inputs, option=option)
    if osp.isdir(path):
        raise OutputError(f'{option} {path} is a folder; give a file name, '
                          f'e.g. {osp.join(path, "results.json")}')
    if osp.lexists(path) and not overwrite:
        raise OutputError(f'{option} {path} exists; pass --overwrite to '
                          f'replace it, or choose another {option}')
    check_writable_dir(osp.dirname(osp.abspath(path)), f'folder of {option}')
    return osp.abspath(path)


def refuse_existing_outputs(outputs: Sequence[str], overwrite: bool,
                            option: str = '--out') -> None:
    """:class:`OutputError` naming the first of ``outputs`` that exists
    (and how many do), unless ``overwrite``."""
    existing = [path for path in outputs if osp.lexists(path)]
    if existing and not overwrite:
        more = (f' (and {len(existing) - 1} more)' if len(existing) > 1
                else '')
        raise OutputError(f'{option}: {existing[0]} exists{more}; pass '
                          '--overwrite to replace it, or choose another '
                          f'{option}')


def make_parent_dir(path: str) -> None:
    """Create the folder of the file ``path`` if it does not exist."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)


def refuse_overwriting_inputs(outputs: Iterable[str], inputs: Iterable[str],
                              option: str = '--out') -> None:
    """:class:`OutputError` when an output path is one of the inputs
    (compared as real paths, so links and ``./`` do not hide it)."""
    inputs = {osp.realpath(str(path)): str(path) for path in inputs}
    for output in outputs:
        if osp.realpath(str(output)) in inputs:
            raise OutputError(
                f'the output {output} would overwrite the input '
                f'{inputs[osp.realpath(str(output))]}; choose another '
                f'{option}')


def check_fresh_work_dir(work_dir: str, hint: str = (
        'pass --resume to continue it, --auto-resume, or another '
        '--work-dir')) -> None:
    """:class:`OutputError` when a training that starts from scratch would
    replace the checkpoints of an earlier one in ``work_dir``."""
    if not osp.isdir(work_dir):
        return
    found = sorted(name for name in os.listdir(work_dir)
                   if not name.startswith('.') and (
                       name.endswith('.pth') or name == 'last_checkpoint'))
    if found:
        shown = ', '.join(found[:3]) + (', ...' if len(found) > 3 else '')
        raise OutputError(f'work dir {work_dir} holds the checkpoints of an '
                          f'earlier training ({shown}); {hint}')


# Lock files held by this process: closed in a forked child (a data-loader
# worker), so that the lock ends with the process that took it.
_HELD_LOCKS: set = set()


def _close_held_locks_in_child() -> None:
    for file in list(_HELD_LOCKS):
        file.close()  # the child's copy only; no LOCK_UN, the parent keeps it
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_held_locks_in_child)


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[None]:
    """Hold an exclusive lock on ``work_dir`` while training.

    ``fcntl.flock`` on ``<work_dir>/.handkit_train.lock``, which holds the
    pid of the process that has it; the kernel releases it when the process
    ends, however it ends. A forked child (a data-loader worker) closes its
    copy of the file at once, so the lock never outlives the process that
    took it (a worker still shutting down after a ``kill -9`` of the
    training does not hold it). Only the first process of a distributed run
    locks (the others share the work dir with it).

    Raises:
        WorkDirInUseError: another process holds it (its pid is named).
    """
    if int(os.environ.get('RANK', '0')) != 0:
        yield
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, '.handkit_train.lock')
    file = open(path, 'a+')
    try:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            owner = file.read().strip() or 'unknown'
            raise WorkDirInUseError(
                f'work dir {work_dir} is in use by another training (pid '
                f'{owner}); wait for it to end or choose another '
                '--work-dir') from None
        file.seek(0)
        file.truncate()
        file.write(f'{os.getpid()}\n')
        file.flush()
        _HELD_LOCKS.add(file)
        yield
    finally:
        _HELD_LOCKS.discard(file)
        file.close()  # releases the lock


def add_config_args(
        parser: argparse.ArgumentParser,
        config_help: str = 'config file path',
        work_dir_help: str = 'where logs and checkpoints go',
        cfg_options_example: str = (
            'train_dataloader.dataset.data_root=/data/panoptic')) -> None:
    """The arguments of every tool that reads a config: the config,
    ``--work-dir`` and ``--cfg-options`` (read by :func:`load_cli_config`).
    """
    parser.add_argument('config', help=config_help)
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help=f'override config keys, e.g. {cfg_options_example}')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The arguments of tools/train.py and tools/test.py: those of
    :func:`add_config_args`, ``--launcher`` and ``--check-data``."""
    add_config_args(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none',
                        help='job launcher (torchrun: pytorch)')
    parser.add_argument(
        '--check-data', type=int, default=DEFAULT_CHECK_FIRST, metavar='N',
        help='before anything runs, decode the first N images of each split '
        f'and check their sizes and boxes (default {DEFAULT_CHECK_FIRST}; 0: '
        'none; tools/check_data.py checks them all)')


def load_cli_config(args: argparse.Namespace) -> Config:
    """``args.config`` with ``args.cfg_options`` merged in.

    A syntax error in the config and a ``--cfg-options`` key that the config
    cannot take are one-line :class:`ConfigError` s
    (:mod:`handkit.engine.config`), given before anything runs.
    """
    cfg = load_config_file(args.config)
    check_cfg_options(cfg, args.cfg_options)
    cfg.merge_from_dict(args.cfg_options)
    return cfg


def default_work_dir(config: str, suffix: str = '') -> str:
    """``work_dirs/<config file name without .py><suffix>``."""
    return osp.join('work_dirs',
                    osp.splitext(osp.basename(config))[0] + suffix)


def load_config(args: argparse.Namespace) -> Config:
    """Config from the command line (:func:`load_cli_config`), with work_dir
    and launcher resolved."""
    cfg = load_cli_config(args)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    cfg.launcher = args.launcher
    add_tensorboard_if_installed(cfg)
    if args.launcher == 'pytorch':
        setup_distributed(cfg)
    return cfg


def add_tensorboard_if_installed(cfg: Config) -> None:
    """Also log to TensorBoard when the ``tensorboard`` package is there."""
    visualizer = cfg.get('visualizer')
    if visualizer is None or importlib.util.find_spec('tensorboard') is None:
        return
    backends = list(visualizer.get('vis_backends') or [])
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        visualizer['vis_backends'] = backends + [
            dict(type='TensorboardVisBackend')]


def setup_distributed(cfg: Config) -> None:
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


# Labels a dataset adapter must provide (no transform computes them): a
# codec that encodes them, a metric that scores against them or a head that
# reads them (``required_labels``) needs them in every sample's data_info.
LABEL_KEYS = ('keypoints_3d', 'cam_K', 'hand_side', 'hand_mask', 'depth',
              'occluded')
# The data_info keys that give a label: a hand mask is given as an array
# (the renderer's) or as the mask file LoadImage reads into it; a depth map
# as an array (the renderer's) or as the file a loading transform reads
# (STB's SK depth images, LoadSTBDepth).
LABEL_SOURCES = dict(hand_mask=('hand_mask', 'mask_path'),
                     depth=('depth', 'depth_path'))
# What to use instead, per missing label (default: a 3D format).
LABEL_HINTS = dict(
    depth='a dataset with depth images of the RGB hands, e.g. '
    "SyntheticHandDataset(with_depth=True), STBDataset(camera='SK', "
    'with_depth=True) + LoadSTBDepth or RHDDataset(with_depth=True) + '
    'LoadRHDDepth',
    occluded='a dataset with per-joint occlusion flags '
    '(SyntheticHandDataset), or exclude_occluded=False in '
    'DepthLiftedKeypoints',
)
# The evaluator that scores each loader's predictions.
EVALUATOR_OF = dict(val_dataloader='val_evaluator',
                    test_dataloader='test_evaluator')


def _needed_labels(cfg: Config, loader: str,
                   transforms: Sequence) -> Dict[str, str]:
    """label key -> who needs it (a target codec or a metric)."""
    needed = {}
    for codec in _pipeline_codecs(transforms)[1]:
        for key in codec.encode_inputs:
            if key in LABEL_KEYS:
                needed.setdefault(key, f'the target codec '
                                  f'{type(codec).__name__}')
    # a ConcatDataset's member is named '<loader>.dataset.datasets[i]'
    evaluators = cfg.get(EVALUATOR_OF.get(loader.split('.')[0], ''),
                         None) or []
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    for metric in evaluators:
        metric_class = METRICS.get(metric.get('type')) if isinstance(
            metric.get('type'), str) else None
        for key in getattr(metric_class, 'required_labels', ()):
            needed.setdefault(key, f'the metric {metric["type"]}')
    heads = (cfg.get('model') or {}).get('heads') or []
    for head in heads.values() if isinstance(heads, dict) else heads:
        head_class = MODELS.get(head.get('type')) if isinstance(
            head, dict) and isinstance(head.get('type'), str) else None
        for key in getattr(head_class, 'required_labels', ()):
            needed.setdefault(key, f'the head {head["type"]}')
    return needed


def check_labels(cfg: Config, loader: str, dataset: Any,
                 transforms: Sequence) -> None:
    """:class:`AnnotationError` when the loader's codecs or metrics need a
    label (``keypoints_3d``, ``cam_K``, ``depth`` or the ``depth_path`` it is
    read from) that the dataset's first sample lacks: one line naming the
    loader, the dataset, the key and who needs it, before anything is
    written (not a KeyError deep in a data loader).
    """
    needed = _needed_labels(cfg, loader, transforms)
    if not needed or len(dataset) == 0:
        return
    info = dataset.get_data_info(0)
    for key, user in needed.items():
        if all(info.get(source) is None
               for source in LABEL_SOURCES.get(key, (key, ))):
            hint = LABEL_HINTS.get(
                key, f'a dataset that has {key} labels (3D formats: '
                'docs/datasets_3d.md)')
            raise AnnotationError(
                f'{loader}: {type(dataset).__name__} sample 0 '
                f"({info.get('img_path')}) has no '{key}', which {user} "
                f'needs; use {hint}')


def loader_datasets(loader: str, dataset: Any) -> List[Tuple[str, Any]]:
    """``(name, dataset)`` of each dataset a loader reads, so that each is
    checked with its own pipeline: the loader's dataset itself, named
    ``loader``, or each member of a ``ConcatDataset``, named
    ``'<loader>.dataset.datasets[<i>]'``."""
    if isinstance(dataset, TorchConcatDataset):
        return [(f'{loader}.dataset.datasets[{index}]', member)
                for index, member in enumerate(dataset.datasets)]
    return [(loader, dataset)]


# Images decoded and size-checked per dataset before training or testing
# (``--check-data``); tools/check_data.py checks them all.
DEFAULT_CHECK_FIRST = 16
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
              files: Optional[List[str]] = None) -> torch.nn.Module:
    """Build the model and the datasets once, before the Runner exists.

    A missing data_root, a malformed or unsafe annotation, a label the
    codecs or metrics need that the dataset lacks (:func:`check_labels`, on
    each member of a ``ConcatDataset`` with its own pipeline), an unknown
    type, a ``Pretrained`` init file that is not a safe checkpoint, or a
    head whose decoder does not match its target encoder
    (:func:`check_codecs`) then stops the run before a work dir, a log or a
    checkpoint is written.
    With ``check_first`` N > 0 the first N images of each dataset (each
    member's) are also decoded and checked
    (:func:`handkit.datasets.check.find_bad_samples`); the first bad one is
    an :class:`AnnotationError`. ``files``, when given, receives every file
    the datasets read (:func:`dataset_files`).
    Returns the built model (to check a checkpoint against).
    """
    init_default_scope(cfg.get('default_scope', 'handkit'))
    pipelines = {}
    for key in loader_keys:
        loader = cfg.get(key)
        if loader is not None:
            dataset = DATASETS.build(loader['dataset'])
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
    model = MODELS.build(cfg.model)
    check_codecs(model, pipelines)
    return model


def quiet_dataloader_workers(cfg: Config) -> None:
    """Use worker processes only where there are cores for them, and pinned
    memory only where there is a GPU (the GPU-oriented dataset configs ask
    for ``pin_memory=True``; without an accelerator torch's DataLoader would
    only warn that it cannot pin)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader is None:
            continue
        if loader.get('num_workers', 0) > cores:
            loader['num_workers'] = cores
        if loader.get('pin_memory') and not torch.cuda.is_available():
            loader['pin_memory'] = False
