"""handkit's main job on a fresh machine: train and test on synthetic hands.

``python tools/quickstart.py [--with-cpm] [--work-dir work_dirs/quickstart]``

Trains ``configs/quickstart/nsrm_lpm_g1g6_synthetic.py`` (and, with
``--with-cpm``, the CPM baseline of the same size), tests it on a held-out
synthetic split with ``tools/test.py`` and leaves in the work dir:

* ``pck_table.txt`` / ``pck.json``: PCK in the layout of NSRM Table 3;
* ``pck_curve.png``: the PCK curve (CPM vs NSRM when both ran);
* ``predictions.png``: test crops with the ground-truth (white) and predicted
  skeletons, and NSRM's predicted G1 / G6 structure maps.
"""
import argparse
import importlib.util
import json
import os
from pathlib import Path

import cv2
import numpy as np
from mmengine.dataset import pseudo_collate

from handkit.apis import init_model
from handkit.evaluation.metrics import format_pck_table
from handkit.registry import DATASETS
from handkit.skeleton import GROUP_NAMES
from handkit.visualization.draw import (draw_prediction, image_grid, map_grid,
                                        side_by_side, to_input_frame)
from handkit.visualization.plots import pck_curve, plot_pck_curves

ROOT = Path(__file__).resolve().parents[1]


def _tool(name):
    """tools/<name>.py as a module (the tools folder is not a package)."""
    spec = importlib.util.spec_from_file_location(
        f'handkit_tool_{name}', ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_tool, test_tool = _tool('train'), _tool('test')
RUNS = {
    'CPM': ROOT / 'configs' / 'quickstart' / 'cpm_synthetic.py',
    'NSRM LPM-G1&6': ROOT / 'configs' / 'quickstart' /
    'nsrm_lpm_g1g6_synthetic.py',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--with-cpm', action='store_true',
                        help='also train the CPM baseline (twice the time)')
    parser.add_argument('--num-pictures', type=int, default=8,
                        help='test samples drawn in predictions.png')
    return parser.parse_args(argv)


def train_and_test(name, config, work_dir):
    """Train ``config``, test its last checkpoint; return (metrics, ckpt)."""
    run_dir = work_dir / Path(config).stem
    print(f'\n=== {name}: training {os.path.relpath(config, ROOT)} ===',
          flush=True)
    train_tool.main([str(config), '--work-dir', str(run_dir)])
    checkpoint = (run_dir / 'last_checkpoint').read_text().strip()
    print(f'\n=== {name}: testing {checkpoint} ===', flush=True)
    metrics = test_tool.main([
        str(config), checkpoint, '--work-dir', str(run_dir / 'test'),
        '--out', str(run_dir / 'results.json'), '--name', name
    ])
    return metrics, checkpoint, run_dir / 'results.json'


def curve_of(results_file, max_threshold):
    """(thresholds, PCK) from 0 to ``max_threshold`` of a --out file."""
    predictions = json.loads(Path(results_file).read_text())['predictions']
    pred, gt, visible = (np.array([p[key] for p in predictions])
                         for key in ('pred_keypoints', 'gt_keypoints',
                                     'gt_keypoints_visible'))
    return pck_curve(pred, gt, visible,
                     thresholds=np.linspace(0, max_threshold, 31))


def draw_predictions(config, checkpoint, count, out_file):
    """Test crops with skeletons, and the predicted structure maps."""
    model = init_model(str(config), checkpoint)
    model.test_cfg['output_maps'] = True
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    panels = []
    for index in range(min(count, len(dataset))):
        packed = dataset[index]
        data = model.data_preprocessor(pseudo_collate([packed]), False)
        prediction = model(**data, mode='predict')[0]
        meta = packed['data_samples']['meta']
        # Synthetic images exist only in memory: draw on the network input.
        crop = np.ascontiguousarray(packed['inputs'].permute(1, 2, 0).numpy())
        frame = to_input_frame(dict(prediction, warp_mat=meta['warp_mat']))
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


def main(argv=None):
    args = parse_args(argv)
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    names = list(RUNS) if args.with_cpm else ['NSRM LPM-G1&6']
    results = {}
    for name in names:
        results[name] = train_and_test(name, RUNS[name], work_dir)

    thresholds = [float(key.split('@')[1]) for key in results[names[-1]][0]
                  if key.startswith('PCK@')]
    table = format_pck_table([(name, results[name][0]) for name in names],
                             thresholds)
    (work_dir / 'pck_table.txt').write_text(table + '\n')
    (work_dir / 'pck.json').write_text(json.dumps(
        {name: results[name][0] for name in names}, indent=2))
    plot_pck_curves({name: curve_of(results[name][2], max(thresholds))
                     for name in names},
                    work_dir / 'pck_curve.png',
                    title='PCK on held-out synthetic hands')
    draw_predictions(RUNS['NSRM LPM-G1&6'], results['NSRM LPM-G1&6'][1],
                     args.num_pictures, work_dir / 'predictions.png')

    print('\n' + table)
    if args.with_cpm:
        gain = 100 * (results['NSRM LPM-G1&6'][0]['PCK_ave'] -
                      results['CPM'][0]['PCK_ave'])
        print(f'NSRM - CPM: {gain:+.2f} PCK (ave)')
    print(f'\nwritten to {work_dir}/: pck_table.txt, pck.json, '
          'pck_curve.png, predictions.png')


if __name__ == '__main__':
    main()
