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
``--image`` (:mod:`handkit.tools.export_inputs`); it exits with 1 when one
exceeds ``--atol`` (1e-4). onnx and
onnxruntime come from the ``onnx`` extra (``pip install "handkit[onnx]"``).

    python tools/export_onnx.py CONFIG CHECKPOINT --out model_int8.onnx \\
        --int8 [--calibration val|IMAGE...] [--calibration-size 20] \\
        [--metric-split val]

``--int8`` writes the float32 export (checked as above) beside ``--out`` as
``model_fp32.onnx``, then the static int8 quantisation of it at ``--out``
(QDQ, int8 per-channel weights, uint8 activations, MinMax-calibrated on the
config's test-time crops: :mod:`handkit.deploy.quantize` on the inputs of
:mod:`handkit.tools.export_inputs`), and prints what
int8 changes against PyTorch: each output's largest difference, the
keypoint shift in input pixels and, with ``--metric-split``, the config's
metric on that split.
"""
import argparse
import os.path as osp
import sys
import time
from typing import List, Optional

from mmengine.config import DictAction

from handkit.apis import init_model
from handkit.apis.export_checks import runtime_accuracy
from handkit.deploy import (ATOL, DEFAULT_OPSET, OnnxRuntimeModel,
                            check_parity, export_onnx, format_parity,
                            import_optional)
from handkit.deploy.parity import worst_difference
from handkit.deploy.quantize import (CALIBRATION_METHODS,
                                     QuantizationRefusedError,
                                     format_accuracy, fp32_beside,
                                     quantize_static_int8, refuse_dynamic)
from handkit.engine.args import add_export_args
from handkit.engine.config import config_chain
from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import check_output_file, make_parent_dir
from handkit.evaluation.complexity import input_shape_from_config
from handkit.tools.export_inputs import (DEFAULT_CALIBRATION_SIZE,
                                         calibration_inputs, parity_inputs)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a hand pose model to ONNX (backbone and heads '
        'up to the maps or coordinates) and check it against PyTorch')
    add_export_args(parser, '.onnx')
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
    int8 = parser.add_argument_group(
        'int8', 'static int8 quantisation (docs/deployment.md, section 5)')
    int8.add_argument('--int8', action='store_true',
                      help='write the static int8 (QDQ) model at --out and '
                      'the float32 export beside it as <stem>_fp32.onnx '
                      '(a trailing _int8 of the stem replaced)')
    int8.add_argument('--int8-dynamic', action='store_true',
                      help='dynamic int8: refused for convolutional '
                      'models (measured 0.31 x the speed of eager fp32)')
    int8.add_argument('--calibration', nargs='+', metavar='SPLIT|IMAGE',
                      help="a split of the config ('val', 'test', 'train': "
                      'its first --calibration-size samples through the '
                      "test pipeline), 'synthetic' (hands of handkit's "
                      'renderer) or image files / folders (whole-image '
                      'crops, as inference() takes them); default: the val '
                      'split, else test')
    int8.add_argument('--calibration-size', type=int,
                      default=DEFAULT_CALIBRATION_SIZE,
                      help='calibration inputs at most (default '
                      f'{DEFAULT_CALIBRATION_SIZE})')
    int8.add_argument('--calibration-method', default='minmax',
                      choices=sorted(CALIBRATION_METHODS),
                      help='activation ranges: minmax (default), '
                      'percentile, entropy')
    int8.add_argument('--metric-split', metavar='SPLIT',
                      help="also score the config's metric on this split "
                      '(eager, ORT fp32, ORT int8)')
    int8.add_argument('--metric-size', type=int,
                      help='the first N samples of --metric-split only')
    args = parser.parse_args(argv)
    if args.atol <= 0:
        parser.error(f'--atol must be positive, got {args.atol}')
    int8_only = [name for name in ('calibration', 'metric_split',
                                   'metric_size')
                 if getattr(args, name) is not None]
    if int8_only and not args.int8:
        parser.error(f"--{int8_only[0].replace('_', '-')} needs --int8")
    if args.int8 and args.int8_dynamic:
        parser.error('--int8 and --int8-dynamic exclude each other')
    if args.calibration_size < 1:
        parser.error(f'--calibration-size must be >= 1, got '
                     f'{args.calibration_size}')
    if args.metric_size is not None and args.metric_size < 1:
        parser.error(f'--metric-size must be >= 1, got {args.metric_size}')
    return args


def main(argv: Optional[List[str]] = None) -> float:
    """Export, then print the parity table; returns the worst difference."""
    args = parse_args(argv)
    with user_errors_exit():
        try:
            import_optional('onnx', 'tools/export_onnx.py')
            import_optional('onnxruntime', "tools/export_onnx.py's parity "
                            'check')
            inputs = (config_chain(args.config) + [args.checkpoint]
                      + list(args.image))
            out = check_output_file(args.out, inputs,
                                    overwrite=args.overwrite)
            int8_out = None
            if args.int8 or args.int8_dynamic:
                # the int8 file at --out, the float32 one beside it
                int8_out, out = out, check_output_file(
                    fp32_beside(args.out), inputs, overwrite=args.overwrite)
            for path in [args.checkpoint] + list(args.image):
                if not osp.isfile(path):
                    raise FileNotFoundError(f'file not found: {path}')
            model = init_model(args.config, args.checkpoint,
                               cfg_options=args.cfg_options)
            if args.int8_dynamic:
                refuse_dynamic(model)
                raise QuantizationRefusedError(
                    '--int8-dynamic is not offered (handkit has no model '
                    'without convolutions to export); use --int8')
            calibration = (calibration_inputs(
                model, args.calibration, args.calibration_size)
                if args.int8 else None)
            input_shape = input_shape_from_config(model.cfg)
            batches = parity_inputs(model, input_shape, args.image,
                                    args.dynamic_batch)
            make_parent_dir(out)
            start = time.perf_counter()
            names = export_onnx(model, out, input_shape, opset=args.opset,
                                dynamic_batch=args.dynamic_batch)
            seconds = time.perf_counter() - start
            batch = 'dynamic' if args.dynamic_batch else '1'
            shown = fp32_beside(args.out) if int8_out else args.out
            print(f'exported {shown} '
                  f'({osp.getsize(out) / 1e6:.1f} MB, '
                  f'opset {args.opset}, batch {batch}, {seconds:.1f} s): '
                  f"inputs (B, {', '.join(map(str, input_shape))}) -> "
                  f"{', '.join(names)}")
            runtime = OnnxRuntimeModel(out, model.cfg)
            results = check_parity(model, runtime, batches)
            print(format_parity(results, args.atol))
            worst = worst_difference(results)
            if worst > args.atol:
                print(f'handkit: error: the export differs from PyTorch by '
                      f'{worst:.2e} > --atol {args.atol:.0e}; {shown} is kept '
                      'for inspection, do not deploy it', file=sys.stderr)
                sys.exit(1)
            if int8_out:
                _int8(args, model, runtime, out, int8_out, batches,
                      calibration)
        except ValueError as error:
            print(f'handkit: error: {error}', file=sys.stderr)
            sys.exit(2)
    return worst


def _int8(args: argparse.Namespace, model, runtime, fp32_file: str,
          int8_file: str, batches: dict, calibration: tuple) -> None:
    """Quantise ``fp32_file`` to ``int8_file`` on the ``calibration``
    inputs (and their description) and print its accuracy."""
    inputs, description = calibration
    start = time.perf_counter()
    ops = quantize_static_int8(fp32_file, int8_file, inputs,
                               args.calibration_method, description)
    seconds = time.perf_counter() - start
    print(f'int8 {args.out} ({osp.getsize(int8_file) / 1e6:.1f} MB, '
          f'{seconds:.1f} s): static QDQ ({ops["QuantizeLinear"]} '
          f'QuantizeLinear, {ops["DequantizeLinear"]} DequantizeLinear), '
          'int8 per-channel weights, uint8 activations, '
          f'{CALIBRATION_METHODS[args.calibration_method]} calibration on '
          f'{description}; float32 export {fp32_beside(args.out)}')
    quantized = OnnxRuntimeModel(int8_file, model.cfg)
    checked = {name: batch for name, batch in batches.items()
               if not name.startswith('random')}
    accuracy = runtime_accuracy(model, {'fp32': runtime, 'int8': quantized},
                                checked, args.metric_split,
                                args.metric_size)
    print(format_accuracy(accuracy))


if __name__ == '__main__':
    main()
