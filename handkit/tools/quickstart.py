"""handkit's main job on a fresh machine: train and test on synthetic hands.

``python tools/quickstart.py [--with-cpm] [--work-dir work_dirs/quickstart]``

Trains ``configs/quickstart/nsrm_lpm_g1g6_synthetic.py`` (and, with
``--with-cpm``, the CPM baseline of the same size and recipe), tests it on
the held-out synthetic split and leaves in the work dir:

* ``pck_table.txt`` / ``pck.json``: PCK in the layout of NSRM Table 3, next
  to the mean-pose baseline, and the IoU of NSRM's predicted G1 map with the
  renderer's hand mask (the paper's Figure 8 claim, measured);
* ``pck_curve.png``: PCK over the threshold (each model and the mean pose);
* ``training_curve.png``: validation PCK_ave against training iterations;
* ``predictions.png``: test crops with the ground-truth (white) and
  predicted skeletons, and NSRM's predicted G1 / G6 structure maps.
"""
import argparse
import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config

from handkit.apis import init_model
from handkit.datasets.collate import hand_collate
from handkit.engine.config import package_configs_dir
from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import check_fresh_work_dir
from handkit.evaluation.functional import pck_metrics
from handkit.evaluation.mean_pose import mean_pose_predictions
from handkit.evaluation.metrics import format_pck_table
from handkit.fileio import write_json, write_text
from handkit.registry import DATASETS
from handkit.skeleton import GROUP_NAMES
from handkit.tools import test as test_tool
from handkit.tools import train as train_tool
from handkit.visualization.draw import (draw_prediction, image_grid, map_grid,
                                        side_by_side, to_input_frame)
from handkit.visualization.plots import pck_curve, plot_pck_curves

# the package's configs: the clone's configs/, or those of an installed wheel
CONFIGS = Path(package_configs_dir()) / 'quickstart'
NSRM = 'NSRM LPM-G1&6'
RUNS = {
    'CPM': CONFIGS / 'cpm_synthetic.py',
    NSRM: CONFIGS / 'nsrm_lpm_g1g6_synthetic.py',
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--with-cpm', action='store_true',
                        help='also train the CPM baseline (twice the time)')
    parser.add_argument('--num-pictures', type=int, default=8,
                        help='test samples drawn in predictions.png')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='overrides passed to the training and testing of every model '
        '(e.g. train_cfg.max_epochs=18 for a longer schedule)')
    return parser.parse_args(argv)


def train_and_test(name: str, config: Path, work_dir: Path,
                   options: List[str]) -> Tuple[dict, str, Path]:
    """Train ``config``, test its last checkpoint; (metrics, ckpt, --out)."""
    run_dir = work_dir / Path(config).stem
    extra = ['--cfg-options', *options] if options else []
    print(f'\n=== {name}: training {config} ===', flush=True)
    train_tool.main([str(config), '--work-dir', str(run_dir), *extra])
    checkpoint = (run_dir / 'last_checkpoint').read_text().strip()
    print(f'\n=== {name}: testing {checkpoint} ===', flush=True)
    metrics = test_tool.main([
        str(config), checkpoint, '--work-dir', str(run_dir / 'test'),
        # handkit's schema: the PCK curve needs each prediction's ground truth
        '--out', str(run_dir / 'results.json'), '--format', 'handkit',
        '--name', name, *extra
    ])
    return metrics, checkpoint, run_dir / 'results.json'


def validation_curve(run_dir: Path) -> Tuple[np.ndarray, np.ndarray]:
    """(iterations, validation PCK_ave) logged during training."""
    points, iteration = [], 0
    for scalars in sorted(run_dir.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            iteration = record.get('iter', iteration)
            if 'PCK_ave' in record:
                points.append((iteration, record['PCK_ave']))
    points = np.array(points or [(0, np.nan)], np.float64)
    return points[:, 0], points[:, 1]


def curve_of(results_file: Path,
             max_threshold: float) -> Tuple[np.ndarray, np.ndarray]:
    """(thresholds, PCK) from 0 to ``max_threshold`` of a --out file."""
    predictions = json.loads(Path(results_file).read_text())['predictions']
    pred, gt, visible = (np.array([p[key] for p in predictions])
                         for key in ('pred_keypoints', 'gt_keypoints',
                                     'gt_keypoints_visible'))
    return pck_curve(pred, gt, visible,
                     thresholds=np.linspace(0, max_threshold, 31))


def draw_predictions(config: Path, checkpoint: str, count: int,
                     out_file: Path) -> Path:
    """Test crops with skeletons, and the predicted structure maps."""
    model = init_model(str(config), checkpoint)
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    panels = []
    for index in range(min(count, len(dataset))):
        packed = dataset[index]
        data = model.data_preprocessor(hand_collate([packed]), False)
        with torch.no_grad():
            prediction = model(**data, mode='predict', output_maps=True)[0]
        # Synthetic images exist only in memory: draw on the network input.
        crop = np.ascontiguousarray(packed['inputs'].permute(1, 2, 0).numpy())
        frame = to_input_frame(prediction)
        panel = draw_prediction(crop, frame, draw_maps=False)
        maps = prediction.get('structure_maps')
        if maps is not None:
            names = GROUP_NAMES['G1G6'] if len(maps) == 7 else None
            panel = side_by_side(
                panel, map_grid(maps, names=names, tile=crop.shape[0] // 2,
                                cols=4))
        panels.append(panel)
    cv2.imwrite(str(out_file), image_grid(panels, cols=2))
    return out_file


def summary_table(results: Dict[str, dict], baseline: dict,
                  thresholds: List[float]) -> str:
    """The PCK table with the mean-pose row and the G1 IoU line."""
    rows = [(name, metrics) for name, metrics in results.items()]
    table = format_pck_table(rows + [('mean pose', baseline)], thresholds)
    lines = [table]
    nsrm = results.get(NSRM, {})
    if 'IoU@0.5' in nsrm:
        lines.append(
            f"NSRM G1 map vs the renderer's hand mask: IoU@0.5 "
            f"{nsrm['IoU@0.5']:.3f} (best {nsrm['IoU_best']:.3f} at "
            f"{nsrm['IoU_best_threshold']:.2f})")
    if 'CPM' in results and NSRM in results:
        gain = 100 * (nsrm['PCK_ave'] - results['CPM']['PCK_ave'])
        lines.append(f'NSRM - CPM: {gain:+.2f} PCK (ave)')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    work_dir = Path(args.work_dir)
    names = list(RUNS) if args.with_cpm else [NSRM]
    with user_errors_exit():
        for name in names:  # an earlier quickstart's models are kept
            check_fresh_work_dir(
                str(work_dir / Path(RUNS[name]).stem),
                hint=f'it is an earlier quickstart; pass --work-dir DIR for a '
                f'new run (or delete {work_dir})')
    work_dir.mkdir(parents=True, exist_ok=True)
    runs = {name: train_and_test(name, RUNS[name], work_dir,
                                 args.cfg_options) for name in names}
    results = {name: run[0] for name, run in runs.items()}

    thresholds = [float(key.split('@')[1]) for key in results[NSRM]
                  if key.startswith('PCK@')]
    cfg = Config.fromfile(str(RUNS[NSRM]))
    mean_pose = mean_pose_predictions(cfg)
    baseline = pck_metrics(*mean_pose, thresholds)
    table = summary_table(results, baseline, thresholds)
    write_text(str(work_dir / 'pck_table.txt'), table + '\n')
    write_json(str(work_dir / 'pck.json'),
               dict(results, **{'mean pose': baseline}), indent=2)
    curves = {name: curve_of(runs[name][2], max(thresholds))
              for name in names}
    curves['mean pose'] = pck_curve(
        *mean_pose, thresholds=np.linspace(0, max(thresholds), 31))
    plot_pck_curves(curves, work_dir / 'pck_curve.png',
                    title='PCK on held-out synthetic hands')
    plot_pck_curves(
        {name: validation_curve(work_dir / Path(RUNS[name]).stem)
         for name in names}, work_dir / 'training_curve.png',
        title='validation PCK_ave while training', xlabel='iteration',
        ylabel='PCK_ave')
    draw_predictions(RUNS[NSRM], runs[NSRM][1], args.num_pictures,
                     work_dir / 'predictions.png')
    print('\n' + table)
    print(f'\nwritten to {work_dir}{os.sep}: pck_table.txt, pck.json, '
          'pck_curve.png, training_curve.png, predictions.png')
    return results


if __name__ == '__main__':
    main()
