"""Seconds per training step of a config, with each speed switch, against
the NSRM authors' code on the same machine.

    python benchmarks/bench_train_step.py [CONFIG] [--batch-size 4]
        [--reps 3] [--variants fp32 bf16 channels_last+bf16 ...]
        [--official-repo PATH] [--device cuda] [--threads 2]
    python benchmarks/bench_train_step.py --loss-curve [CONFIG] [--steps 30]

Timing (default CONFIG: configs/nsrm/lpm_g1g6_panoptic.py, NSRM LPM G1&6 at
368 x 368): one real batch from the config's training pipeline (synthetic
hands when its dataset is not here), every variant built from the config
(``_train_step.SWITCHES``: a variant names the switches it turns on, joined
by '+'; 'fp32' turns all off, the paper's step), one warm-up step each,
then ``--reps`` rounds that time one step of every variant in turn, the
starting variant rotating, so that a load on the machine hits all alike.
With ``--official-repo`` (a checkout of the authors' repository) their
``CPMHandLimb`` (NSRM configs) or ``CPMHand`` (CPM) trains on the same
batch as their ``main.py`` does. Prints the median and range of s/step,
the ratio to 'fp32' and to the official step.

``--loss-curve`` (default CONFIG: the quickstart NSRM at 96 px, cheap)
trains every variant from the same initial weights on the same ``--steps``
batches and prints the loss side by side: float32 switches must match
'fp32' to rounding, bfloat16 closely.
"""
import argparse
import statistics
from pathlib import Path

import torch
from mmengine.config import Config, DictAction

import _train_step as ts

ROOT = Path(__file__).resolve().parents[1]
TIMING_CONFIG = ROOT / 'configs' / 'nsrm' / 'lpm_g1g6_panoptic.py'
CURVE_CONFIG = ROOT / 'configs' / 'quickstart' / 'nsrm_lpm_g1g6_synthetic.py'
VARIANTS = ['fp32', 'channels_last', 'bf16', 'fused_adam',
            'channels_last+bf16+fused_adam']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', help='config file (default: '
                        'NSRM LPM G1&6 Panoptic; the quickstart NSRM with '
                        '--loss-curve)')
    parser.add_argument('--variants', nargs='+', default=VARIANTS,
                        help="'fp32' or switches joined by '+', from: "
                        f"{', '.join(ts.SWITCHES)} (default: %(default)s)")
    parser.add_argument('--batch-size', type=int,
                        help="samples per step (default: 4 for timing, the "
                        "config's for --loss-curve)")
    parser.add_argument('--reps', type=int, default=3,
                        help='timed steps of each variant (default 3)')
    parser.add_argument('--official-repo', metavar='PATH',
                        help="checkout of the NSRM authors' repository")
    parser.add_argument('--device', default='cpu',
                        help='cpu (default), cuda, cuda:1 ...')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads for every side (default 2)')
    parser.add_argument('--loss-curve', action='store_true',
                        help='compare the loss curves instead of timing')
    parser.add_argument('--steps', type=int, default=30,
                        help='steps of --loss-curve (default 30)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides applied to the config')
    args = parser.parse_args(argv)
    args.config = args.config or str(CURVE_CONFIG if args.loss_curve
                                     else TIMING_CONFIG)
    if not Path(args.config).is_file():
        parser.error(f'config not found: {args.config}')
    try:
        args.switches = {name: ts.parse_variant(name)
                         for name in args.variants}
    except ValueError as error:
        parser.error(str(error))
    if not args.device.startswith('cuda'):
        for name, switches in args.switches.items():
            cuda_only = sorted(set(switches) & set(ts.CUDA_ONLY))
            if cuda_only:
                parser.error(f'variant {name!r}: {cuda_only[0]} needs '
                             '--device cuda')
    elif not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available')
    if args.official_repo:
        cfg = Config.fromfile(args.config)
        path = ts.official_module_path(args.official_repo,
                                       ts.limb_channels(cfg) is not None)
        if not path.is_file():
            parser.error(f'--official-repo {args.official_repo}: no {path} '
                         "(expected a checkout of the NSRM authors' "
                         'repository, HowieMa/NSRMhand)')
    for name in ('batch_size', 'reps', 'threads', 'steps'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got "
                         f'{getattr(args, name)}')
    return args


def load(args) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    return cfg


def timing(args, cfg):
    batch = ts.config_batches(cfg, args.batch_size or 4, 1)[0]
    steps = {}
    for name, switches in args.switches.items():
        torch.manual_seed(0)
        steps[name] = ts.build_training(ts.variant_config(cfg, switches),
                                        args.device)[2]
    batches = {name: batch for name in steps}
    if args.official_repo:
        _, steps['official'], note = ts.official_training(
            args.official_repo, ts.limb_channels(cfg), args.device)
        batches['official'] = ts.official_batch(batch, args.device)
        print(f'official: {note}')
    names = list(steps)
    first = {name: ts.timed(steps[name], batches[name], args.device)
             for name in names}  # warm-up (compiles a 'compile' variant)
    times = {name: [] for name in names}
    for rep in range(args.reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            times[name].append(ts.timed(steps[name], batches[name],
                                        args.device))
        print(f'round {rep + 1}/{args.reps}: ' + ', '.join(
            f'{name} {times[name][-1]:.2f}' for name in names), flush=True)
    medians = {name: statistics.median(values)
               for name, values in times.items()}
    rows = [['variant', 's/step (median)', 'range', 'first step',
             'x fp32'] + (['x official'] if args.official_repo else [])]
    for name in names:
        row = [name, f'{medians[name]:.3f}',
               f'{min(times[name]):.2f}-{max(times[name]):.2f}',
               f'{first[name]:.2f}',
               f"{medians[name] / medians[names[0]]:.2f}"]
        if args.official_repo:
            row.append(f"{medians[name] / medians['official']:.2f}")
        rows.append(row)
    print_table(rows)
    return medians


def loss_curve(args, cfg):
    batches = ts.config_batches(
        cfg, args.batch_size or cfg.train_dataloader.batch_size, args.steps)
    curves = {}
    for name, switches in args.switches.items():
        variant = ts.variant_config(cfg, switches)
        torch.manual_seed(0)
        model, wrapper, step = ts.build_training(variant, args.device)
        schedulers = ts.iteration_schedulers(variant, wrapper)
        curves[name] = []
        for batch in batches:
            curves[name].append(step(batch)['loss'].item())
            for scheduler in schedulers:
                scheduler.step()
        print(f'{name}: done', flush=True)
    names = list(curves)
    shown = sorted({1, 2, 5, 10, 20, args.steps} & set(
        range(1, args.steps + 1)))
    rows = [['step'] + names]
    for index in shown:
        rows.append([str(index)] + [f'{curves[name][index - 1]:.5f}'
                                    for name in names])
    base = curves[names[0]]
    rows.append([f'max |d| / {names[0]}'] + [
        f'{max(abs(a - b) / abs(b) for a, b in zip(curves[name], base)):.2%}'
        for name in names])
    print_table(rows)
    return curves


def print_table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(widths[0]) if i == 0 else
                        cell.rjust(widths[i]) for i, cell in enumerate(row)))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load(args)
    batch = args.batch_size or (cfg.train_dataloader.batch_size
                                if args.loss_curve else 4)
    own = ', '.join(ts.switches_on(cfg)) or 'none'
    print(f'{args.config}: batch {batch}, device {args.device}, '
          f'{torch.get_num_threads()} torch threads; the config itself '
          f'turns on: {own}')
    if args.loss_curve:
        return loss_curve(args, cfg)
    return timing(args, cfg)


if __name__ == '__main__':
    main()
