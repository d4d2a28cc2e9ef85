"""Train a handkit model: ``python tools/train.py CONFIG [options]``."""
import argparse
import sys
from typing import List, Optional

import torch
from mmengine.config import Config
from mmengine.runner import find_latest_checkpoint

from handkit.engine.args import (NothingToResumeError, add_common_args,
                                 load_config, quiet_dataloader_workers)
from handkit.engine.checkpoint import (check_state_dict_fits,
                                       load_checkpoint_file, state_dict_of)
from handkit.engine.errors import user_errors_exit
from handkit.engine.hooks import NonFiniteLossError
from handkit.engine.outputs import (check_fresh_work_dir, check_writable_dir,
                                    work_dir_lock)
from handkit.engine.preflight import preflight
from handkit.engine.runner import HandRunner
from handkit.models.precision import cpu_has_native_bfloat16


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a hand pose model')
    add_common_args(parser)
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument(
        '--resume', nargs='?', const=True, default=None,
        metavar='CHECKPOINT',
        help='resume from CHECKPOINT, or from the latest checkpoint of the '
        'work dir when no path is given (an error if there is none)')
    resume.add_argument(
        '--auto-resume', action='store_true',
        help='resume from the latest checkpoint of the work dir if there is '
        'one, else start from scratch')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: float16 with a dynamic loss '
                        "scale on CUDA (mmengine's AmpOptimWrapper); on a "
                        'CPU it changes nothing and says what runs '
                        "(bfloat16 for a config's AutocastOptimWrapper on a "
                        'CPU with native bfloat16, else float32)')
    parser.add_argument(
        '--compile', action='store_true',
        help="torch.compile the training step (mmengine's cfg.compile = "
        'True); the first iterations compile, which takes minutes on a CPU '
        '(docs/benchmarks.md)')
    return parser.parse_args(argv)


def apply_speed_flags(cfg: Config, args: argparse.Namespace) -> None:
    """--amp: mmengine's AmpOptimWrapper (float16, dynamic loss scale) on
    CUDA; on a CPU nothing changes and one line says what runs: the
    config's :class:`~handkit.engine.optim_wrapper.AutocastOptimWrapper`
    (the CPU recipes' schedule) trains in bfloat16 where the CPU has native
    bfloat16 and in float32 elsewhere, any other wrapper in float32.
    --compile: ``cfg.compile = True``.
    """
    if args.amp:
        wrapper = str(cfg.optim_wrapper.get('type', 'OptimWrapper'))
        autocast = wrapper.rpartition('.')[2] == 'AutocastOptimWrapper'
        if torch.cuda.is_available():
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
            cfg.optim_wrapper.pop('dtype', None)  # AutocastOptimWrapper's
            print('handkit: --amp: float16 autocast with a dynamic loss '
                  "scale on CUDA (mmengine's AmpOptimWrapper)",
                  file=sys.stderr)
        elif autocast and cfg.optim_wrapper.get(
                'dtype', 'bfloat16') == 'bfloat16' and (
                    cpu_has_native_bfloat16()):
            print('handkit: --amp needs a CUDA device; the config\'s '
                  'AutocastOptimWrapper trains in bfloat16 autocast on this '
                  'CPU (native bfloat16), with or without --amp',
                  file=sys.stderr)
        elif autocast:
            print('handkit: --amp needs a CUDA device; training in float32 '
                  "(the config's AutocastOptimWrapper uses bfloat16 only on "
                  'a CPU with native bfloat16, which this one lacks)',
                  file=sys.stderr)
        else:
            print('handkit: --amp needs a CUDA device; training in '
                  'float32', file=sys.stderr)
    if args.compile:
        cfg.compile = True


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with user_errors_exit():
        cfg = load_config(args)
        check_writable_dir(cfg.work_dir)
        apply_speed_flags(cfg, args)
        if args.resume is True or args.auto_resume:
            latest = find_latest_checkpoint(cfg.work_dir)
            if latest is None and not args.auto_resume:
                raise NothingToResumeError(
                    f'--resume: no checkpoint to resume in {cfg.work_dir} '
                    "(its 'last_checkpoint' file is missing); pass a "
                    'checkpoint path, or use --auto-resume to start from '
                    'scratch when there is none')
            cfg.resume, cfg.load_from = latest is not None, latest
        elif args.resume:
            cfg.resume, cfg.load_from = True, args.resume
        if not cfg.get('resume', False):
            # from scratch (or load_from): the checkpoint names of an
            # earlier run would be written over
            check_fresh_work_dir(cfg.work_dir)
        quiet_dataloader_workers(cfg)
        built = preflight(cfg, ['train_dataloader', 'val_dataloader'],
                          check_first=args.check_data)
        if cfg.load_from:
            # A corrupt file, or (when resuming) a checkpoint of another
            # model, would fail after the work dir exists (the latter in the
            # optimiser step): check it before anything is written.
            weights = state_dict_of(load_checkpoint_file(cfg.load_from),
                                    cfg.load_from)
            if cfg.resume:
                check_state_dict_fits(built.model, weights, cfg.load_from)
        with work_dir_lock(cfg.work_dir):
            runner = HandRunner.from_cfg(cfg, built=built)
            try:
                runner.train()
            except NonFiniteLossError as error:
                # Not bad input: the run diverged (exit 1, one line).
                print(f'handkit: error: {error}', file=sys.stderr)
                sys.exit(1)


if __name__ == '__main__':
    main()
