"""Parameters, MACs and frames/second of several configs side by side.

    python benchmarks/bench_speed.py configs/nsrm/lpm_g1g6_panoptic.py \
        configs/cpm/cpm_panoptic.py \
        configs/resunet/resunet34_lhr_bonetree_stb.py \
        configs/hourglass/local_regression_nyu.py

Each model is built from its config (random weights: speed does not depend
on them) and timed in ``torch.no_grad()`` on random input of the config's
input size and channels, after a warm-up, at each batch size (default 1 and
32), on CUDA when present else the CPU (``--device``). The figures are those
``tools/test.py --speed`` prints (``handkit.evaluation.complexity``); Li and
Wang report their hourglass at "over 910 FPS on a single GPU".
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from handkit.evaluation.complexity import (complexity_report,
                                          input_shape_from_config)
from handkit.registry import MODELS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32],
                        help='frames per forward pass (default: 1 32)')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (default: '
                        'cuda when available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides applied to every config')
    return parser.parse_args(argv)


def format_rows(rows, batch_sizes):
    header = ['config', 'input', 'params (M)', 'MACs (G)'] + [
        f'FPS@{batch}' for batch in batch_sizes]
    lines = [header] + [
        [name, 'x'.join(str(side) for side in report['input_shape']),
         f"{report['params'] / 1e6:.3f}", f"{report['macs'] / 1e9:.3f}"] +
        [f"{report['fps'][batch]:.1f}" for batch in batch_sizes]
        for name, report in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return '\n'.join(
        '  '.join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                  for i, cell in enumerate(line)) for line in lines)


def main(argv=None):
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    rows = []
    for path in args.configs:
        if not osp.isfile(path):
            raise FileNotFoundError(f'config not found: {path}')
        cfg = Config.fromfile(path)
        cfg.merge_from_dict(args.cfg_options)
        init_default_scope(cfg.get('default_scope', 'handkit'))
        model = MODELS.build(cfg.model)
        rows.append((osp.splitext(osp.basename(path))[0],
                     complexity_report(model, input_shape_from_config(cfg),
                                       args.batch_sizes, device)))
    print(f'device: {device}')
    print(format_rows(rows, args.batch_sizes))
    return rows


if __name__ == '__main__':
    main()
