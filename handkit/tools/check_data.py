"""Decode every image of a config's datasets and check sizes and boxes.

    python tools/check_data.py CONFIG [--split train|val|test] [--limit N]

Prints one line per bad file (missing, undecodable, a size other than the
annotation's, a box off the image) and exits 1 if there is any, 0 when all
are good; a config or annotation that cannot be read at all exits 2
(:func:`handkit.datasets.check.find_bad_samples`). Writes nothing.
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from handkit.datasets.check import find_bad_samples
from handkit.engine.config import check_cfg_options, load_config_file
from handkit.engine.errors import user_errors_exit
from handkit.registry import DATASETS

SPLITS = dict(train='train_dataloader', val='val_dataloader',
              test='test_dataloader')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Check that a config's images decode and fit their "
        'annotations')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--split', choices=sorted(SPLITS), action='append',
                        help='split to check (repeatable; default: all the '
                        'config has)')
    parser.add_argument('--limit', type=int, default=None, metavar='N',
                        help='check only the first N samples of each split')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config keys, e.g. '
        'train_dataloader.dataset.data_root=/data/panoptic')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Check the splits; return the number of bad samples (exit 1 if any).
    """
    args = parse_args(argv)
    if args.limit is not None and args.limit < 1:
        print('handkit: error: --limit must be at least 1', file=sys.stderr)
        sys.exit(2)
    bad = 0
    with user_errors_exit():
        cfg = load_config_file(args.config)
        check_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
        init_default_scope(cfg.get('default_scope', 'handkit'))
        for split in args.split or list(SPLITS):
            loader = cfg.get(SPLITS[split])
            if loader is None:
                continue
            dataset = DATASETS.build(loader['dataset'])
            checked = len(dataset) if args.limit is None else min(
                args.limit, len(dataset))
            problems = list(find_bad_samples(dataset, args.limit))
            for problem in problems:
                print(f'{split}: {problem}')
            print(f'{split}: {checked} samples checked, {len(problems)} bad')
            bad += len(problems)
    if bad:
        sys.exit(1)
    return bad


if __name__ == '__main__':
    main()
