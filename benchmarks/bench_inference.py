"""Eager PyTorch, eager + channels_last and ONNX Runtime side by side.

    OMP_NUM_THREADS=2 python benchmarks/bench_inference.py
    python benchmarks/bench_inference.py configs/cpm/cpm_panoptic.py \\
        --repeats 9 --passes 5 --ort-levels all basic
    python benchmarks/bench_inference.py --official-repo PATH_TO_NSRMhand

For each config (default: NSRM LPM G1&6 at 368 x 368,
``configs/nsrm/lpm_g1g6_panoptic.py``, and the quickstart NSRM model at 96 x
96) the model is built with random weights (speed does not depend on them),
exported to ONNX in a temporary folder (``handkit.deploy.export_onnx``) and
timed on the network alone, ``predict_tensors``: the input (B, C, H, W)
already pre-processed (B = ``--batch-size``, default 1), the decoding left
out (it is the same numpy code for every backend). The variants run in
alternation, one block of ``--passes`` forward passes each per repetition,
so that a change of machine load hits all of them alike; the table gives
the median and the range (min - max) of the per-pass time over
``--repeats`` repetitions and the speed-up of the median over eager.

* eager: ``torch.no_grad()``, NCHW input;
* eager + channels_last: the model and the input in channels-last memory
  format (oneDNN's preferred layout for convolutions on a CPU);
* onnxruntime (level): an ``InferenceSession`` with that graph optimisation
  level and ``intra_op_num_threads = torch.get_num_threads()``, so that both
  runtimes use the same cores;
* official code (eager), with ``--official-repo`` (a checkout of the NSRM
  authors' repository, HowieMa/NSRMhand) for the NSRM and CPM configs:
  their ``CPMHandLimb`` / ``CPMHand`` (``_train_step.official_model``; a
  stand-in for torchvision's VGG-19 layers where torchvision does not
  import), ``torch.no_grad()``, on the same input.

The threads and the machine's load average are printed with the table.
"""
import argparse
import copy
import os
import os.path as osp
import platform
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from handkit.deploy import OnnxRuntimeModel, export_onnx
from handkit.deploy.onnxruntime_model import GRAPH_OPTIMIZATIONS
from handkit.evaluation.complexity import input_shape_from_config
from handkit.registry import MODELS

import _train_step as ts

DEFAULT_CONFIGS = ('configs/nsrm/lpm_g1g6_panoptic.py',
                   'configs/quickstart/nsrm_lpm_g1g6_synthetic.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', default=list(DEFAULT_CONFIGS),
                        help='config files (default: NSRM at 368 and the '
                        'quickstart model)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='frames per pass (default 1; above 1 the '
                        'export has a dynamic batch)')
    parser.add_argument('--official-repo', metavar='PATH',
                        help="a checkout of the NSRM authors' repository: "
                        'their model beside the NSRM and CPM configs')
    parser.add_argument('--repeats', type=int, default=7,
                        help='alternating repetitions (default 7)')
    parser.add_argument('--passes', type=int, default=2,
                        help='forward passes per variant and repetition '
                        '(default 2)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed passes per variant first (default 2)')
    parser.add_argument('--ort-levels', nargs='+', default=['all'],
                        choices=sorted(GRAPH_OPTIMIZATIONS),
                        help='onnxruntime graph optimisation levels to time '
                        '(default: all)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides applied to every config')
    args = parser.parse_args(argv)
    for path in args.configs:
        if not osp.isfile(path):
            parser.error(f'config not found: {path}')
    if args.official_repo:
        for nsrm in (True, False):
            path = ts.official_module_path(args.official_repo, nsrm)
            if not path.is_file():
                parser.error(f'--official-repo {args.official_repo}: no '
                             f"{path} (expected a checkout of the NSRM "
                             "authors' repository, HowieMa/NSRMhand)")
    if min(args.repeats, args.passes, args.batch_size) < 1 or \
            args.warmup < 0:
        parser.error('--batch-size, --repeats and --passes must be >= 1, '
                     '--warmup >= 0')
    return args


def variants(model: torch.nn.Module, cfg: Config, onnx_file: str,
             input_shape: Sequence[int], levels: Sequence[str],
             batch_size: int = 1, official_repo: Optional[str] = None
             ) -> Dict[str, Callable[[], object]]:
    """Name -> one forward pass of ``batch_size`` frames."""
    inputs = torch.randn(batch_size, *input_shape,
                         generator=torch.Generator().manual_seed(0))
    model = model.eval()

    def eager():
        with torch.no_grad():
            return model.predict_tensors(inputs)

    channels_last_model = copy.deepcopy(model).to(
        memory_format=torch.channels_last)
    inputs_last = inputs.contiguous(memory_format=torch.channels_last)

    def eager_channels_last():
        with torch.no_grad():
            return channels_last_model.predict_tensors(inputs_last)

    runs = {'eager': eager, 'eager + channels_last': eager_channels_last}
    array = inputs.numpy()
    for level in levels:
        runtime = OnnxRuntimeModel(onnx_file, cfg, graph_optimization=level)
        runs[f'onnxruntime ({level})'] = (lambda runtime=runtime:
                                          runtime.run(array))
    if official_repo and is_nsrm_or_cpm(cfg):
        official, note = ts.official_model(official_repo,
                                           ts.limb_channels(cfg))
        official = official.eval()
        print(f'official code: {type(official).__name__}, '
              f'{sum(p.numel() for p in official.parameters()):,} '
              f'parameters (handkit: '
              f'{sum(p.numel() for p in model.parameters()):,}); {note}')

        def official_eager():
            with torch.no_grad():
                return official(inputs)
        runs['official code (eager)'] = official_eager
    return runs


def is_nsrm_or_cpm(cfg: Config) -> bool:
    """The configs the authors' classes build: the paper-size VGG-19 CPM
    backbone at full width."""
    backbone = cfg.model.backbone
    return backbone.get('type') == 'VGG19CPM' and \
        backbone.get('width_multiplier', 1.0) == 1.0 and \
        backbone.get('norm_cfg') is None


def time_alternating(runs: Dict[str, Callable[[], object]], repeats: int,
                     passes: int, warmup: int) -> Dict[str, List[float]]:
    """Per-pass seconds of each variant, one value per repetition."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(passes):
                run()
            times[name].append((time.perf_counter() - start) / passes)
    return times


def format_table(rows: List[tuple], batch_size: int = 1) -> str:
    """Rows ``(config, input, variant, seconds per pass, eager median)``:
    ms per pass (median, range), frames per second, speed-up."""
    header = ('config', 'input', 'variant', 'median ms', 'range ms', 'FPS',
              'x eager')
    lines = [header] + [
        (config, shape, name, f'{statistics.median(values) * 1e3:.1f}',
         f'{min(values) * 1e3:.1f} - {max(values) * 1e3:.1f}',
         f'{batch_size / statistics.median(values):.1f}',
         f'{eager / statistics.median(values):.2f}')
        for config, shape, name, values, eager in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(7)]
    return '\n'.join('  '.join(cell.ljust(widths[i]) if i < 3 else
                               cell.rjust(widths[i])
                               for i, cell in enumerate(line))
                     for line in lines)


def main(argv=None):
    args = parse_args(argv)
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        for path in args.configs:
            cfg = Config.fromfile(path)
            cfg.merge_from_dict(args.cfg_options)
            init_default_scope(cfg.get('default_scope', 'handkit'))
            model = MODELS.build(cfg.model).eval()
            input_shape = input_shape_from_config(cfg)
            onnx_file = osp.join(folder, 'model.onnx')
            export_onnx(model, onnx_file, input_shape,
                        dynamic_batch=args.batch_size > 1)
            times = time_alternating(
                variants(model, cfg, onnx_file, input_shape,
                         args.ort_levels, args.batch_size,
                         args.official_repo),
                args.repeats, args.passes, args.warmup)
            eager = statistics.median(times['eager'])
            name = osp.splitext(osp.basename(path))[0]
            shape = 'x'.join(str(side) for side in input_shape)
            rows += [(name, shape, variant, values, eager)
                     for variant, values in times.items()]
    load_after = os.getloadavg()
    print(f'batch {args.batch_size}, network only (predict_tensors); '
          f'{args.repeats} '
          f'alternating repetitions of {args.passes} passes; torch '
          f'{torch.__version__} with {torch.get_num_threads()} threads, '
          f'onnxruntime intra-op threads the same; '
          f'{platform.processor() or platform.machine()}, '
          f'{os.cpu_count()} cores; load average '
          f'{load_before[0]:.2f} before, {load_after[0]:.2f} after')
    print(format_table(rows, args.batch_size))
    return {(row[0], row[2]): np.median(row[3]) for row in rows}


if __name__ == '__main__':
    main()
