"""What tools/train.py and tools/test.py share: config set-up, a pre-flight
check that catches bad input before anything is written, CPU-friendly
distributed launch, and one-paragraph errors instead of tracebacks."""
import contextlib
import importlib.util
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.engine.checkpoint import (CheckpointMismatchError,
                                       CorruptCheckpointError,
                                       UnsafeCheckpointError)
from handkit.engine.config import (ConfigError, check_cfg_options,
                                   load_config_file)
from handkit.registry import DATASETS, MODELS, UnknownTypeError



class NothingToResumeError(RuntimeError):
    """``--resume`` without a path, and the work dir has no checkpoint."""


# Errors that mean "the input is wrong", shown as a message and exit code 2.
USER_ERRORS = (DataRootNotFoundError, AnnotationError, UnknownTypeError,
               UnsafeCheckpointError, CorruptCheckpointError,
               CheckpointMismatchError, NothingToResumeError, ConfigError,
               FileNotFoundError)


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
    """Config from the command line, with work_dir and launcher resolved.

    A syntax error in the config and a ``--cfg-options`` key that the config
    cannot take are one-line :class:`ConfigError` s
    (:mod:`handkit.engine.config`), given before anything runs.
    """
    cfg = load_config_file(args.config)
    check_cfg_options(cfg, args.cfg_options)
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


def preflight(cfg, loader_keys):
    """Build the model and the datasets once, before the Runner exists.

    A missing data_root, a malformed annotation or an unknown type then stops
    the run before a work dir, a log or a checkpoint is written.
    Returns the built model (to check a checkpoint against).
    """
    init_default_scope(cfg.get('default_scope', 'handkit'))
    for key in loader_keys:
        loader = cfg.get(key)
        if loader is not None:
            DATASETS.build(loader['dataset'])
    return MODELS.build(cfg.model)


def quiet_dataloader_workers(cfg):
    """Use worker processes only where there are cores for them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader is not None and loader.get('num_workers', 0) > cores:
            loader['num_workers'] = cores
