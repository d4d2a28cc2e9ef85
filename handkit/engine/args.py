"""The command line of the tools that read a config: their shared
arguments, the config they load (``--cfg-options`` checked), and the
machine set-up a run needs before its Runner (distributed launch on CPUs,
data-loader workers, TensorBoard)."""
import argparse
import importlib.util
import os
import os.path as osp
from typing import Sequence

import torch
from mmengine.config import Config, DictAction

from handkit.engine.config import check_cfg_options, load_config_file
from handkit.errors import HandkitUserError
from handkit.models.precision import PRECISIONS

# Images decoded and size-checked per dataset before training or testing
# (``--check-data``, by preflight); tools/check_data.py checks them all.
DEFAULT_CHECK_FIRST = 16


class NothingToResumeError(HandkitUserError, RuntimeError):
    """``--resume`` without a path, and the work dir has no checkpoint."""


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


def add_export_args(parser: argparse.ArgumentParser, suffix: str) -> None:
    """CONFIG, CHECKPOINT, ``--out`` (a ``suffix`` file) and
    ``--overwrite`` of the export tools."""
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True,
                        help=f'the {suffix} file (an existing file is '
                        'replaced only with --overwrite; an input never)')
    parser.add_argument('--overwrite', action='store_true',
                        help='let --out replace an existing file that is '
                        'not an input')


def add_runtime_args(parser: argparse.ArgumentParser,
                     backends: Sequence[str]) -> None:
    """``--backend`` (one of ``backends``, default 'pytorch') and
    ``--precision`` (``handkit.models.precision``) of tools/test.py and
    tools/demo.py."""
    parser.add_argument('--backend', choices=backends, default='pytorch',
                        help='eager pytorch (default), onnxruntime on a '
                        'file of tools/export_onnx.py, or litert on a '
                        '.tflite of tools/export_tflite.py (MediaPipe\'s '
                        'architectures; the MediaPipe pipeline\'s defaults '
                        'are the converter\'s .tflite files)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='fp32 (default), or bf16: bfloat16 autocast + '
                        'channels-last where the device computes bfloat16 '
                        'natively, float32 elsewhere (one line says which '
                        'runs); pytorch backend only')


def check_runtime_args(parser: argparse.ArgumentParser,
                       args: argparse.Namespace) -> argparse.Namespace:
    """``args``; exit 2 in one line for a precision the backend cannot
    take (an exported file runs its own)."""
    if args.precision != 'fp32' and args.backend != 'pytorch':
        parser.error(f'--precision {args.precision} is for --backend '
                     f'pytorch; a file of --backend {args.backend} runs its '
                     'own precision')
    return args


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
    and launcher resolved (a distributed launch's process group is
    initialised here: :func:`setup_distributed`)."""
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
    """Initialise torch.distributed before preflight and the Runner.

    Preflight seeds (``randomness``, shared by the ranks) before it builds
    the model, so the process group must exist first; the Runner then
    skips its own ``init_dist``. With CUDA it is mmengine's ``init_dist``
    (nccl, the config's ``env_cfg.dist_cfg``). mmengine 0.10's
    ``init_dist`` calls ``torch.cuda.set_device`` and its DDP wrapper
    passes ``device_ids=[LOCAL_RANK]``, both fatal without CUDA: on a
    CPU-only machine the gloo process group is initialised here and DDP
    gets ``device_ids=None``.
    """
    dist_cfg = cfg.env_cfg.setdefault('dist_cfg', {})
    if torch.cuda.is_available():
        dist_cfg['backend'] = 'nccl'
        if not torch.distributed.is_initialized():
            from mmengine.dist import init_dist
            init_dist('pytorch', **dist_cfg)
        return
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    dist_cfg['backend'] = 'gloo'
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel', device_ids=None,
        broadcast_buffers=False)


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
