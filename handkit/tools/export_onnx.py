"""Export a trained handkit model to ONNX and check it against PyTorch.

    python tools/export_onnx.py CONFIG CHECKPOINT --out model.onnx
    python tools/export_onnx.py CONFIG CHECKPOINT --out model.onnx \\
        --opset 17 --dynamic-batch --image hand.jpg

The graph is the network from the pre-processed input up to what each head
decodes (maps, coordinates, joints: ``CascadeEstimator.predict_tensors``);
the decoding stays in handkit's numpy code, shared with PyTorch
(docs/deployment.md). After writing the file the tool runs it with ONNX
Runtime and prints the largest absolute difference of every output against
eager PyTorch, on a seeded random input, a rendered synthetic hand and each
``--image``; it exits with 1 when one exceeds ``--atol`` (1e-4). onnx and
onnxruntime come from the ``onnx`` extra (``pip install "handkit[onnx]"``).
"""
import argparse
import os.path as osp
import sys
import time
from typing import List, Optional

from mmengine.config import DictAction

from handkit.apis import init_model
from handkit.deploy import (ATOL, DEFAULT_OPSET, OnnxRuntimeModel,
                            check_parity, export_onnx, format_parity,
                            import_optional, parity_inputs)
from handkit.deploy.parity import worst_difference
from handkit.engine.cli import (check_output_file, make_parent_dir,
                                user_errors_exit)
from handkit.engine.config import config_chain
from handkit.evaluation.complexity import input_shape_from_config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a hand pose model to ONNX (backbone and heads '
        'up to the maps or coordinates) and check it against PyTorch')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True,
                        help='the .onnx file (an existing file is replaced '
                        'only with --overwrite; an input never)')
    parser.add_argument('--overwrite', action='store_true',
                        help='let --out replace an existing file that is '
                        'not an input')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument('--dynamic-batch', action='store_true',
                        help='a symbolic batch axis (default: batch 1)')
    parser.add_argument('--image', nargs='+', default=[],
                        help='real photos to check parity on (RGB models)')
    parser.add_argument('--atol', type=float, default=ATOL,
                        help=f'largest accepted |ORT - eager| (default '
                        f'{ATOL:.0e})')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config keys, as tools/test.py takes them')
    args = parser.parse_args(argv)
    if args.atol <= 0:
        parser.error(f'--atol must be positive, got {args.atol}')
    return args


def main(argv: Optional[List[str]] = None) -> float:
    """Export, then print the parity table; returns the worst difference."""
    args = parse_args(argv)
    with user_errors_exit():
        try:
            import_optional('onnx', 'tools/export_onnx.py')
            import_optional('onnxruntime', "tools/export_onnx.py's parity "
                            'check')
            out = check_output_file(
                args.out, config_chain(args.config) + [args.checkpoint]
                + list(args.image), overwrite=args.overwrite)
            for path in [args.checkpoint] + list(args.image):
                if not osp.isfile(path):
                    raise FileNotFoundError(f'file not found: {path}')
            model = init_model(args.config, args.checkpoint,
                               cfg_options=args.cfg_options)
            input_shape = input_shape_from_config(model.cfg)
            batches = parity_inputs(model, input_shape, args.image,
                                    args.dynamic_batch)
            make_parent_dir(out)
            start = time.perf_counter()
            names = export_onnx(model, out, input_shape, opset=args.opset,
                                dynamic_batch=args.dynamic_batch)
            seconds = time.perf_counter() - start
            batch = 'dynamic' if args.dynamic_batch else '1'
            print(f'exported {args.out} ({osp.getsize(out) / 1e6:.1f} MB, '
                  f'opset {args.opset}, batch {batch}, {seconds:.1f} s): '
                  f"inputs (B, {', '.join(map(str, input_shape))}) -> "
                  f"{', '.join(names)}")
            runtime = OnnxRuntimeModel(out, model.cfg)
            results = check_parity(model, runtime, batches)
        except ValueError as error:
            print(f'handkit: error: {error}', file=sys.stderr)
            sys.exit(2)
    print(format_parity(results, args.atol))
    worst = worst_difference(results)
    if worst > args.atol:
        print(f'handkit: error: the export differs from PyTorch by '
              f'{worst:.2e} > --atol {args.atol:.0e}; {args.out} is kept '
              'for inspection, do not deploy it', file=sys.stderr)
        sys.exit(1)
    return worst


if __name__ == '__main__':
    main()
