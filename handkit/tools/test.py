"""Test a trained handkit model: ``python tools/test.py CONFIG CHECKPOINT``.

Prints the table that fits the model's metrics: 2D PCK in the layout of the
NSRM paper's Tables 2-3, the 3D table (EPE mm, AUC 20-50 mm, 3D PCK; Bekiri
and Babahenini; one row per protocol, e.g. DetNet's unaligned row and its
``[zb]`` row, Zimmermann & Brox's RHD / STB evaluation) and the NYU success
table (mean error, frames within t mm; Li and Wang).
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
(docs/deployment.md).
"""
import argparse
import json
import os.path as osp
from typing import Dict, List, Optional

from handkit.apis import init_model
from handkit.apis.inference import BACKENDS
from handkit.engine import HandRunner
from handkit.engine.checkpoint import load_weights_into
from handkit.engine.cli import (add_common_args,
                                check_output_file, check_writable_dir,
                                load_config, make_parent_dir, preflight,
                                quiet_dataloader_workers,
                                refuse_overwriting_inputs, user_errors_exit)
from handkit.engine.config import config_chain
from handkit.evaluation.complexity import (complexity_report,
                                          format_complexity,
                                          input_shape_from_config)
from handkit.evaluation.metrics import (format_3d_table, format_nyu_table,
                                        format_pck_table)
from handkit.evaluation.protocols import protocol_banner
from handkit.fileio import write_json


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
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='eager pytorch, or onnxruntime on an exported '
                        'model (default: pytorch)')
    return parser.parse_args(argv)


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
        model = preflight(cfg, ['test_dataloader'],
                          check_first=args.check_data, files=data_files)
        if args.out:
            refuse_overwriting_inputs(outputs, data_files)
        runtime = None
        if args.backend == 'onnxruntime':
            runtime = init_model(cfg, args.checkpoint, backend=args.backend)
        else:
            load_weights_into(model, args.checkpoint)
        if args.out:
            make_parent_dir(args.out)
        runner = HandRunner.from_cfg(cfg)
        if runtime is not None:
            runner.model = runtime
        else:
            runner.model.load_state_dict(model.state_dict())
        metrics = runner.test()
    name = args.name or osp.splitext(osp.basename(args.config))[0]
    thresholds = [float(key.split('@')[1]) for key in metrics
                  if key.startswith('PCK@')]
    if thresholds:
        print(format_pck_table([(name, metrics)], thresholds))
        print(f"AUC {metrics['AUC']:.4f}   EPE {metrics['EPE']:.2f} px")
    if protocol_banner(cfg.get('test_evaluator')):  # a paper's preset
        print(protocol_banner(cfg.get('test_evaluator')))
    print_3d_tables(name, metrics)
    print_mesh_table(name, metrics)
    if args.speed:
        print(format_complexity(complexity_report(
            model, input_shape_from_config(cfg), timed=runtime), model))
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


def print_3d_tables(name: str, metrics: Dict[str, float]) -> None:
    """The 3D table when EPE_3D is present, the NYU table for mean_error.

    A 3D metric with a ``prefix`` (``zb/EPE_3D``: another protocol, e.g.
    ``Keypoint3DMetric(protocol='zimmermann_brox_rhd', prefix='zb')``) adds
    a row labelled ``<name> [<prefix>]``; a preset also prints its median
    EPE and its other AUCs.
    """
    groups: Dict[str, Dict[str, float]] = {}
    for key, value in metrics.items():
        prefix, _, metric = key.rpartition('/')
        groups.setdefault(prefix, {})[metric] = value
    rows = [(f'{name} [{prefix}]' if prefix else name, group)
            for prefix, group in groups.items() if 'EPE_3D' in group]
    if rows:
        auc_key = next(key for key in rows[0][1] if key.startswith('AUC_'))
        print(format_3d_table(rows, auc_key=auc_key))
    for prefix, group in groups.items():
        if 'EPE_3D' not in group:
            continue
        extras = [f"EPE_2D {group['EPE_2D']:.2f} px"] if (
            'EPE_2D' in group and not prefix) else []
        if 'AUC_0-50' in group:
            extras.append(f"median EPE_3D {group['EPE_3D_median']:.2f} mm"
                          f"   AUC_0-50 {group['AUC_0-50']:.4f}")
        if 'EPE_3D_mean_pose' in group:
            extras.append(f"mean-pose EPE_3D {group['EPE_3D_mean_pose']:.2f}"
                          ' mm (oracle baseline)')
        if extras:
            print(f'[{prefix}] ' * bool(prefix) + '   '.join(extras))
    if 'mean_error' in metrics:
        print(format_nyu_table([(name, metrics)]))


#: MeshMetric's numbers in the mesh table, in order (mm, then F-scores)
MESH_COLUMNS = ('MPJPE', 'PA-MPJPE', 'MPVPE', 'PA-MPVPE', 'F@5mm',
                'F@15mm')


def print_mesh_table(name: str, metrics: Dict[str, float]) -> None:
    """MeshMetric's row (root-relative / Procrustes-aligned joint and
    vertex errors in mm, F-scores), when the test evaluator has one."""
    columns = [key for key in MESH_COLUMNS if key in metrics]
    if 'MPJPE' not in columns:
        return
    width = max(len(name), 5)
    print(f"{'model':<{width}}  " + '  '.join(f'{key:>9}' for key in columns))
    print(f'{name:<{width}}  ' + '  '.join(
        f'{metrics[key]:>9.4f}' if key.startswith('F@') else
        f'{metrics[key]:>9.2f}' for key in columns))


if __name__ == '__main__':
    main()
