"""Which synthetic hands and which trunk transfer to real photos.

    python benchmarks/transfer_study.py [--work-dir work_dirs/transfer_study]
                                        [--cells capsule_scratch ...]
                                        [--seed N]

The quickstart recipe (``configs/quickstart/nsrm_lpm_g1g6_synthetic.py``:
NSRM LPM-G1&6 at 96 px, 5 epochs of 425 steps, the same schedule, seed and
sample counts in every cell) trained nine ways:

* ``capsule_scratch``: the quickstart before it moved to the mesh hands
  (capsule hands, from scratch);
* ``capsule_mediapipe``: on MediaPipe's real-trained landmark trunk
  (``nsrm_lpm_g1g6_mediapipe_backbone_synthetic.py``; needs
  ``python tools/convert_mediapipe.py``);
* ``mesh_scratch`` / ``mesh_mediapipe``: the same two on the mesh hands
  (``SyntheticHandDataset(hand='mesh')``, handkit's open hand);
* ``capsule_scratch_degrade``, ``mesh_scratch_degrade`` /
  ``mesh_mediapipe_degrade``: those cells with the camera degradations on
  (``CameraDegradation``: blur, noise, JPEG, each part with probability
  0.5, at its default strengths); ``mesh_scratch_degrade`` is today's
  quickstart. The other cells turn the degradations off;
* ``mesh_scratch_degrade_clutter``: today's quickstart with its training
  hands over the procedural clutter backgrounds
  (``SyntheticHandDataset(background='clutter')``; the validation and
  test hands keep the default backgrounds);
  ``mesh_mediapipe_degrade_clutter`` the same on MediaPipe's trunk.

``--seed N`` trains the chosen cells with another training seed into
``<cell>_seed<N>``; the hands stay the same. Options are parsed as
``--cfg-options`` parses them (mmengine's ``DictAction``).

Each cell is tested on its own held-out synthetic split and on every
annotated hand of tests/data (the real crops, through the config's test
pipeline), next to the mean pose of its training crops placed in the same
crops; with ``--ge-real-world DIR`` also on Ge et al.'s 583 real-world
photos (``GeRealWorldDataset``; not shipped with handkit). It prints one
table, writes ``report.txt``, ``results.json`` (``_seed<N>`` added for
another seed) and ``real_crops_<cell>.png`` (ground truth white) into the
work dir; a cell whose checkpoint is there is only tested again (delete
the cell's folder to retrain it). Training minutes are wall clock on
whatever else the machine runs.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import cv2
from mmengine.config import DictAction

from handkit.apis import init_model
from handkit.evaluation.functional import pck_metrics
from handkit.evaluation.mean_pose import mean_pose_predictions
from handkit.evaluation.metrics import format_pck_table
from handkit.tools import test as test_tool
from handkit.tools import train as train_tool
from handkit.visualization.draw import image_grid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'benchmarks'))
from real_photos import evaluate_ge_real_world, evaluate_real_crops  # noqa

QUICKSTART = ROOT / 'configs' / 'quickstart'
SCRATCH = QUICKSTART / 'nsrm_lpm_g1g6_synthetic.py'
MEDIAPIPE = QUICKSTART / 'nsrm_lpm_g1g6_mediapipe_backbone_synthetic.py'
CAPSULE, MESH = ([f'{split}_dataloader.dataset.hand={hand}'
                  for split in ('train', 'val', 'test')]
                 for hand in ('capsule', 'mesh'))
# the camera degradations off (what the study measured without them), on
CLEAN, DEGRADE = ([f'train_dataloader.dataset.pipeline.degrade.prob={prob}']
                  for prob in (0.0, 0.5))
# the training hands over the procedural clutter backgrounds
CLUTTER = ['train_dataloader.dataset.background=clutter']
CELLS = {
    'capsule_scratch': (SCRATCH, CAPSULE + CLEAN),
    'capsule_mediapipe': (MEDIAPIPE, CAPSULE + CLEAN),
    'capsule_scratch_degrade': (SCRATCH, CAPSULE + DEGRADE),
    'mesh_scratch': (SCRATCH, MESH + CLEAN),
    'mesh_mediapipe': (MEDIAPIPE, MESH + CLEAN),
    'mesh_scratch_degrade': (SCRATCH, MESH + DEGRADE),
    'mesh_mediapipe_degrade': (MEDIAPIPE, MESH + DEGRADE),
    'mesh_scratch_degrade_clutter': (SCRATCH, MESH + DEGRADE + CLUTTER),
    'mesh_mediapipe_degrade_clutter': (MEDIAPIPE,
                                       MESH + DEGRADE + CLUTTER),
}


def run_cell(name: str, work_dir: Path, seed: int = 0,
             ge_real_world: str = None) -> dict:
    """Train one cell (unless its checkpoint is there) and test it; a seed
    other than 0 trains it in ``<name>_seed<seed>``; with ``ge_real_world``
    (the folder of Ge et al.'s real-world test set) also on those
    photos."""
    config, options = CELLS[name]
    if seed:
        name, options = f'{name}_seed{seed}', options + [
            f'randomness.seed={seed}']
    cell_dir = work_dir / name
    extra = ['--cfg-options', *options] if options else []
    last = cell_dir / 'train' / 'last_checkpoint'
    minutes_file = cell_dir / 'train_minutes.txt'
    if not last.exists():
        print(f'\n=== {name}: training {config.name} {" ".join(options)} '
              '===', flush=True)
        start = time.perf_counter()
        train_tool.main([str(config), '--work-dir', str(cell_dir / 'train'),
                         *extra])
        minutes_file.write_text(
            f'{(time.perf_counter() - start) / 60:.1f}\n')
    checkpoint = last.read_text().strip()
    synthetic = test_tool.main([str(config), checkpoint, '--work-dir',
                                str(cell_dir / 'test'), *extra])
    # the cell's own config (its hands), for the mean pose of its crops
    model = init_model(str(config), checkpoint, cfg_options={
        key: DictAction._parse_iterable(value)
        for key, value in (option.split('=', 1) for option in options)})
    real = evaluate_real_crops(model)
    synthetic_mean_pose = pck_metrics(*mean_pose_predictions(model.cfg),
                                      real['thresholds'])
    cv2.imwrite(str(work_dir / f'real_crops_{name}.png'),
                image_grid(real['panels'], cols=4))
    ge = ({} if ge_real_world is None else dict(
        ge_real_world=evaluate_ge_real_world(model, ge_real_world)['rows']))
    return dict(name=name, config=str(config.relative_to(ROOT)),
                options=options,
                train_minutes=float(minutes_file.read_text()),
                synthetic={k: float(v) for k, v in synthetic.items()
                           if k.startswith('PCK')},
                synthetic_mean_pose=synthetic_mean_pose,
                real=real['rows'], real_hands=real['count'],
                thresholds=real['thresholds'], **ge)


def report(results: dict) -> str:
    first = next(iter(results.values()))
    thresholds = first['thresholds']
    lines = [f'Real crops of tests/data ({first["real_hands"]} hands), PCK '
             'in % (mean pose: the cell\'s training crops\' mean, placed in '
             'the true box):']
    rows = []
    for name, result in results.items():
        rows.append((name, result['real']['model']))
        rows.append((f'  mean pose ({name})', result['real']['mean pose']))
    lines.append(format_pck_table(rows, thresholds))
    if 'ge_real_world' in first:
        lines.append("\nGe et al.'s real-world test set (583 photos of one "
                     "person's left hand), PCK in %, the same mean pose:")
        rows = []
        for name, result in results.items():
            rows.append((name, result['ge_real_world']['model']))
            rows.append((f'  mean pose ({name})',
                         result['ge_real_world']['mean pose']))
        lines.append(format_pck_table(rows, thresholds))
    lines.append('\nHeld-out synthetic split of each cell\'s own hands (400), '
                 'PCK in %; training minutes:')
    rows = []
    for name, result in results.items():
        rows.append((f'{name} ({result["train_minutes"]} min)',
                     result['synthetic']))
        rows.append((f'  mean pose ({name})',
                     result['synthetic_mean_pose']))
    lines.append(format_pck_table(rows, thresholds))
    return '\n'.join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/transfer_study')
    parser.add_argument('--cells', nargs='+', choices=list(CELLS),
                        default=list(CELLS))
    parser.add_argument('--seed', type=int, default=0,
                        help='training seed (randomness.seed); the hands '
                        'stay the same')
    parser.add_argument('--ge-real-world', metavar='DIR',
                        help="also test on Ge et al.'s real-world test set "
                        '(the real_world_testset folder of '
                        'github.com/3d-hand-shape/hand-graph-cnn)')
    args = parser.parse_args(argv)
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.cells:
        result = run_cell(name, work_dir, args.seed, args.ge_real_world)
        results[result.pop('name')] = result
    text = report(results)
    suffix = f'_seed{args.seed}' if args.seed else ''
    (work_dir / f'report{suffix}.txt').write_text(text + '\n')
    (work_dir / f'results{suffix}.json').write_text(
        json.dumps(results, indent=1))
    print('\n' + text)


if __name__ == '__main__':
    main()
