"""Train a handkit model: ``python tools/train.py CONFIG [options]``."""
import argparse
import sys

import torch
from mmengine.runner import Runner

from handkit.engine.cli import (add_common_args, load_config, preflight,
                                quiet_dataloader_workers, user_errors_exit)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a hand pose model')
    add_common_args(parser)
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None,
        help='resume from CHECKPOINT, or from the latest one in the work dir '
        'when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision training (CUDA only)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors_exit():
        cfg = load_config(args)
        if args.amp:
            if torch.cuda.is_available():
                cfg.optim_wrapper.type = 'AmpOptimWrapper'
                cfg.optim_wrapper.loss_scale = 'dynamic'
            else:
                print('handkit: --amp needs a CUDA device; training in '
                      'float32', file=sys.stderr)
        if args.resume == 'auto':
            cfg.resume, cfg.load_from = True, None
        elif args.resume:
            cfg.resume, cfg.load_from = True, args.resume
        quiet_dataloader_workers(cfg)
        preflight(cfg, ['train_dataloader', 'val_dataloader'])
        runner = Runner.from_cfg(cfg)
        runner.train()


if __name__ == '__main__':
    main()
