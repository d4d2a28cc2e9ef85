"""Where the time of one training step goes: torch.profiler on handkit's
real step (``model.train_step`` with the config's optimiser wrapper).

    python benchmarks/profile_train_step.py CONFIG [--batch-size 4]
        [--steps 2] [--switches bf16 channels_last ...] [--device cuda]

One real batch from the config's training pipeline (synthetic hands when
its dataset is not on this machine), one warm-up step, then ``--steps``
profiled steps. Prints the top operators by self CPU time and a summary
grouped by where each operator ran: the backbone's convolutions and its
other operators (ReLU, pooling), the heads' stage convolutions and their
other operators (concatenation, ReLU), the losses, the optimiser, the data
preprocessor and the rest (autograd bookkeeping, ``zero_grad``, summing
the losses). A backward operator counts where its forward operator ran:
the profiler's sequence numbers tie the two together.
"""
import argparse
import collections
from pathlib import Path

import torch
from mmengine.config import Config, DictAction
from torch.profiler import ProfilerActivity, profile, record_function

import _train_step as ts

MARK = 'handkit::'
BACKWARD = 'autograd::engine::evaluate_function: '
GROUPS = ('backbone convs', 'backbone other', 'stage convs', 'heads other',
          'loss', 'optimiser', 'data preprocessor', 'other')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--steps', type=int, default=2,
                        help='profiled steps after one warm-up (default 2)')
    parser.add_argument('--switches', nargs='*', default=None,
                        help='speed switches on (the rest off), from: '
                        f"{', '.join(ts.SWITCHES)}; default: the config's "
                        'own settings')
    parser.add_argument('--top', type=int, default=20,
                        help='operators listed (default 20)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={})
    args = parser.parse_args(argv)
    if not Path(args.config).is_file():
        parser.error(f'config not found: {args.config}')
    if args.switches is not None:
        try:
            ts.parse_variant('+'.join(args.switches) or 'fp32')
        except ValueError as error:
            parser.error(str(error))
        if 'compile' in args.switches:
            parser.error('--switches compile: the summary groups eager '
                         'operators; profile the eager step')
    for name in ('batch_size', 'steps', 'top', 'threads'):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def mark_regions(model, wrapper):
    """Open a ``handkit::<region>`` profiler range around the data
    preprocessor, the backbone (and neck), each head's forward, each loss
    module and the optimiser's step."""
    regions = [(model.data_preprocessor, 'data preprocessor'),
               (model.backbone, 'backbone')]
    if getattr(model, 'neck', None) is not None:
        regions.append((model.neck, 'backbone'))
    for head in model.heads:
        regions.append((head, 'heads'))
        if isinstance(getattr(head, 'loss_module', None), torch.nn.Module):
            regions.append((head.loss_module, 'loss'))
    open_ranges = {}

    def opener(name):
        def hook(module, *args):
            open_ranges[id(module)] = record_function(MARK + name)
            open_ranges[id(module)].__enter__()
        return hook

    def closer(module, *args):
        open_ranges.pop(id(module)).__exit__(None, None, None)

    for module, name in regions:
        module.register_forward_pre_hook(opener(name))
        module.register_forward_hook(closer)
    optimizer = wrapper.optimizer
    optimizer.register_step_pre_hook(opener('optimiser'))
    optimizer.register_step_post_hook(closer)


def region_of(event):
    """The innermost ``handkit::`` range around a forward event."""
    while event is not None:
        if event.name.startswith(MARK):
            return event.name[len(MARK):]
        event = event.cpu_parent
    return None


def in_backward(event):
    """Whether the event ran in the backward pass."""
    while event is not None:
        if event.name.startswith(BACKWARD):
            return True
        event = event.cpu_parent
    return False


def group_times(events):
    """{group: [forward us, backward us]} of the events' self CPU time."""
    # An operator records the sequence number that the next autograd node
    # will take, whether it makes one or not: the last forward operator
    # holding a number is the one that made its node.
    forward_region = {}
    for event in sorted(events, key=lambda event: event.time_range.start):
        if event.sequence_nr >= 0 and not in_backward(event):
            forward_region[event.sequence_nr] = region_of(event)
    totals = collections.defaultdict(lambda: [0.0, 0.0])
    for event in events:
        node, region, backward, conv = event, None, False, False
        while node is not None:
            conv = conv or 'conv' in node.name.lower()
            if node.name.startswith(BACKWARD):
                backward = True
                region = forward_region.get(node.sequence_nr)
                break
            if node.name.startswith(MARK):
                region = node.name[len(MARK):]
                break
            node = node.cpu_parent
        if region == 'backbone':
            group = 'backbone convs' if conv else 'backbone other'
        elif region == 'heads':
            group = 'stage convs' if conv else 'heads other'
        elif region in GROUPS:
            group = region
        else:
            group = 'other'
        totals[group][int(backward)] += event.self_cpu_time_total
    return totals


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.switches is not None:
        cfg = ts.variant_config(cfg, args.switches)
    print(f'{args.config}: batch {args.batch_size}, device {args.device}, '
          f'{torch.get_num_threads()} torch threads, switches on: '
          f"{', '.join(ts.switches_on(cfg)) or 'none (float32)'}")
    batch = ts.config_batches(cfg, args.batch_size, 1)[0]
    torch.manual_seed(0)
    model, wrapper, step = ts.build_training(cfg, args.device)
    mark_regions(model, wrapper)
    warm = ts.timed(step, batch, args.device)
    activities = [ProfilerActivity.CPU]
    if args.device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
    seconds = []
    with profile(activities=activities) as prof:
        for _ in range(args.steps):
            seconds.append(ts.timed(step, batch, args.device))
    print(f"warm-up step {warm:.2f} s; profiled steps "
          f"{', '.join(f'{s:.2f}' for s in seconds)} s")
    print(prof.key_averages().table(sort_by='self_cpu_time_total',
                                    row_limit=args.top))
    totals = group_times(prof.events())
    overall = sum(sum(value) for value in totals.values())
    per_step = overall / 1e6 / args.steps
    print(f'self CPU time by group, per step (of {per_step:.2f} s):')
    print(f"{'group':18s} {'forward s':>10s} {'backward s':>11s} "
          f"{'total s':>8s} {'share':>6s}")
    for group in GROUPS:
        forward, backward = (value / 1e6 / args.steps
                             for value in totals.get(group, (0.0, 0.0)))
        share = (forward + backward) * 1e6 * args.steps / overall
        print(f'{group:18s} {forward:10.3f} {backward:11.3f} '
              f'{forward + backward:8.3f} {share:6.1%}')
    return totals


if __name__ == '__main__':
    main()
