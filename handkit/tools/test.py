"""Test a trained handkit model: ``python tools/test.py CONFIG CHECKPOINT``.

Prints what the test evaluator returns, each metric's table in the
evaluator's order as the metric formats it
(:func:`handkit.evaluation.metrics.format_metric_tables`): 2D PCK in the
layout of the NSRM paper's Tables 2-3, the 3D table (EPE mm, AUC 20-50 mm,
3D PCK; Bekiri and Babahenini; one row per protocol, e.g. DetNet's
unaligned row and its ``[zb]`` row, Zimmermann & Brox's RHD / STB
evaluation), the NYU success table (mean error, frames within t mm; Li and
Wang), the mesh errors, the structure-map IoU, ...
With ``--out results.json`` it writes COCO keypoint results, the list that
pycocotools' ``COCO.loadRes`` and MMPose read (``image_id``,
``category_id`` 1, ``keypoints`` as a flat x, y, score list of the 21
keypoints in original image pixels, ``score`` the mean keypoint score;
:func:`handkit.evaluation.metrics.prediction_dump.coco_keypoint_results`),
and the metrics to the sidecar ``results.metrics.json`` (:func:`metrics_file`:
``{"config", "checkpoint", "results", "metrics"}``); ``--format handkit``
writes handkit's own schema instead, one file ``{"config", "checkpoint",
"metrics", "predictions"}`` whose predictions carry the ground truth. Both
are written atomically; an existing file only with ``--overwrite``, and never
an input of the run: the config and its ``_base_`` files, the checkpoint, the
test set's annotation and image files. With ``--speed`` it also prints
parameters, MACs, the backend and frames per second at batch 1 and 32 on the
current device
(``handkit.evaluation.complexity``), and for Li and Wang's hourglass their
"over 910 FPS on a single GPU" beside ours. ``--backend onnxruntime`` tests
the ``.onnx`` file of ``tools/export_onnx.py`` (given as CHECKPOINT) with
ONNX Runtime: the same data, pre-processing, decoding and metrics
(docs/deployment.md). ``--precision bf16`` tests the model under bfloat16
autocast with channels-last where the device computes bfloat16 natively
(``handkit.models.precision``).
"""
import argparse
import json
import os.path as osp
from dataclasses import replace
from typing import List, Optional

from handkit.apis import init_model
from handkit.apis.inference import BACKENDS
from handkit.engine.args import (add_common_args, add_runtime_args,
                                 check_runtime_args, load_config,
                                 quiet_dataloader_workers)
from handkit.engine.checkpoint import load_weights_into
from handkit.engine.config import config_chain
from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import (check_output_file, check_writable_dir,
                                    make_parent_dir,
                                    refuse_overwriting_inputs)
from handkit.engine.preflight import preflight
from handkit.engine.runner import HandRunner
from handkit.evaluation.complexity import (complexity_report,
                                          format_complexity,
                                          model_input_shape)
from handkit.evaluation.metrics import format_metric_tables
from handkit.fileio import write_json
from handkit.models.precision import set_precision


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a hand pose model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file (the .onnx file '
                        'with --backend onnxruntime)')
    parser.add_argument('--out', help='write the predictions as COCO '
                        'keypoint results (JSON) and the metrics beside it '
                        '(OUT without .json + .metrics.json); its folder is '
                        'created if missing; an existing file is replaced '
                        'only with --overwrite, and an input (the config and '
                        'its _base_ files, the checkpoint, the annotation '
                        'and image files) never')
    parser.add_argument('--format', choices=('coco', 'handkit'),
                        default='coco',
                        help="--out's schema: coco (default; metrics in the "
                        'sidecar file) or handkit (one file: config, '
                        'checkpoint, metrics and every prediction with its '
                        'ground truth)')
    parser.add_argument('--overwrite', action='store_true',
                        help='let --out replace an existing file that is '
                        'not an input of the run')
    parser.add_argument('--name', help='row label of the printed table '
                        '(default: the config name)')
    parser.add_argument('--speed', action='store_true',
                        help='after testing, print parameters, MACs, the '
                        'backend and FPS at batch 1 and 32 on the current '
                        'device')
    add_runtime_args(parser, BACKENDS)
    return check_runtime_args(parser, parser.parse_args(argv))


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    with user_errors_exit():
        cfg = load_config(args)
        cfg.load_from, cfg.resume = None, False
        check_writable_dir(cfg.work_dir)
        outputs = []
        if args.out:
            inputs = config_chain(args.config) + [args.checkpoint]
            args.out = check_output_file(args.out, inputs,
                                         overwrite=args.overwrite)
            outputs = [args.out]
            if args.format == 'coco':
                outputs.append(check_output_file(
                    metrics_file(args.out), inputs + [args.out],
                    overwrite=args.overwrite,
                    option='--out'))
            evaluators = cfg.test_evaluator
            if isinstance(evaluators, dict):
                evaluators = [evaluators]
            cfg.test_evaluator = list(evaluators) + [
                dict(type='PredictionDump', out_file=args.out,
                     out_format=args.format)]
        quiet_dataloader_workers(cfg)
        data_files = [] if args.out else None
        built = preflight(cfg, ['test_dataloader'],
                          check_first=args.check_data, files=data_files)
        model = built.model
        # --speed's input, known before anything runs or is written
        speed_input = model_input_shape(model, cfg) if args.speed else None
        if args.out:
            refuse_overwriting_inputs(outputs, data_files)
        runtime = None
        if args.backend != 'pytorch':  # an exported file
            runtime = init_model(cfg, args.checkpoint, backend=args.backend)
            built = replace(built, model=runtime)  # the Runner tests it
        else:
            load_weights_into(model, args.checkpoint)
        if args.out:
            make_parent_dir(args.out)
        runner = HandRunner.from_cfg(cfg, built=built)
        if runtime is None and args.precision != 'fp32':
            # on the Runner's device (where bfloat16 is native or not)
            set_precision(model, args.precision)
        metrics = runner.test()
    name = args.name or osp.splitext(osp.basename(args.config))[0]
    tables = format_metric_tables(runner.test_loop.evaluator.metrics, name,
                                  metrics)
    if tables:
        print(tables)
    if args.speed:
        print(format_complexity(complexity_report(
            model, speed_input, timed=runtime), model))
    if args.out and args.format == 'coco':
        write_json(metrics_file(args.out), dict(
            config=args.config, checkpoint=args.checkpoint,
            results=args.out, metrics=metrics), indent=1)
    elif args.out:
        with open(args.out) as file:
            predictions = json.load(file)['predictions']
        write_json(args.out, dict(config=args.config,
                                  checkpoint=args.checkpoint,
                                  metrics=metrics, predictions=predictions))
    return metrics


def metrics_file(out: str) -> str:
    """The metrics sidecar of ``--out`` (COCO format):
    ``results.json`` -> ``results.metrics.json``."""
    stem = out[:-len('.json')] if out.endswith('.json') else out
    return stem + '.metrics.json'


if __name__ == '__main__':
    main()
