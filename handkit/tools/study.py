"""Run a grid of configs x seeds, evaluate each on several test sets, tabulate.

    python tools/study.py configs/studies/nsrm_synthetic.py
    python tools/study.py STUDY [--work-dir DIR] [--seeds 0 1] [--cells a b]
                                [--dry-run] [--rerun-changed]

A study file is a Python config with:

* ``cells``: ``{name: dict(config=PATH, options={key: value})}`` in table
  order; ``options`` are merged into the config as ``--cfg-options`` would
  (dotted keys, list indices allowed: ``custom_hooks.1.step``);
* ``options``: merged into every cell first (the study's budget);
* ``seeds``: the training seeds (``randomness.seed``; the data stay the
  same);
* ``evaluations``: ``{name: {key: value}}``, each a test set made by
  merging its options into the cell's config (e.g. the synthetic test split
  at another occlusion level); the first is the headline;
* optionally ``baseline_cell``: the cell the "improvement" column compares
  with, and ``mean_pose``: True (the first cell) or a list of cells whose
  training crops' mean pose is scored on every evaluation, a row each (by
  the cell's 2D ``PCKMetric``; :mod:`handkit.evaluation.mean_pose`).

The cells may be of any config family (2D, 3D, mesh, ...; epoch- or
iteration-based schedules): a cell is tested on the checkpoint its training
ended with (``last_checkpoint``), and the tables show what the test
evaluator's metrics report, each through its own columns
(:class:`handkit.evaluation.metrics.TabulatedMetric`; the metrics of the
cells' configs, each kind once:
:func:`handkit.engine.study.report.study_metrics`).

Before anything runs or is written, every option key (of every cell of the
study, also those ``--cells`` leaves out) is checked as
``tools/train.py --cfg-options`` checks it
(:func:`handkit.engine.config.check_cfg_options`): the study's ``options``
and each cell's ``options`` against the cell's config, each evaluation's
options against the merged cell config. A key the config cannot take (a
typo such as ``train_dataloder.batch_size``) stops the study with one line
naming where it came from (``options``, the cell or the evaluation), the
key and the closest existing key; mmengine alone would ignore it.

Each (cell, seed) gets ``WORK_DIR/<cell>/seed_<k>/`` with its merged
``config.json``; it is trained once (``tools/train.py``, in a subprocess, with
``--auto-resume``, so an interrupted cell continues) and then tested on each
evaluation (``tools/test.py --out --overwrite``: the dump is the study's
own, read and removed). What is finished is skipped on a
rerun: a cell whose ``train_done.json`` exists is not trained again, an
evaluation whose ``eval_<name>.json`` exists is not run again -- as long as
the cell's merged config is the one its ``config.json`` records. The merged
configs of the whole grid are compared with the ``config.json`` files
(parsed JSON, :func:`handkit.engine.study.spec.comparable`) before
anything runs; not changes are ``work_dir`` (always the cell's own folder)
and what tools/train.py sets for the machine and mmengine's Runner writes
back into ``config.json``
(``launcher``, a loader's ``pin_memory`` turned off or ``num_workers``
capped, a TensorBoard backend, ``--auto-resume``'s ``resume`` and
``load_from``). A cell with results (``train_done.json``,
``last_checkpoint``, a ``*.pth``, an ``eval_*.json``, or the study's
``mean_pose_<cell>.json`` of a mean-pose cell) whose config changed stops
the study with one line naming the cell, the seed, the first differing key
(old and new value) and ``--rerun-changed``. With ``--rerun-changed`` the
old results of such a cell are removed (``train_done.json``,
``eval_*.json``, ``predictions_*.json``, the ``*.pth`` checkpoints,
``last_checkpoint``, the ``test_*`` folders, the ``mean_pose_<cell>.json``)
and it is trained again; a printed line says what was removed. The logs are
kept (appended to). ``config.json`` is written only after these checks;
``--dry-run`` makes the same checks, writes the configs of the unchanged
cells and removes nothing (a changed finished cell is reported, its
``config.json`` left as it is). The tables (mean +- std over seeds: every
metric's columns on the first evaluation, with the first metric's headline
compared with the baseline cell -- for 2D configs NSRM Tables 2-3's PCK
row, then the structure-map IoU -- and the first metric's breakdown on
each evaluation, e.g. PCK of all / occluded / visible keypoints) are
printed and written to ``WORK_DIR/table.md``, the per-seed figures to
``WORK_DIR/results.json`` and a plot of that breakdown against each
evaluation to ``WORK_DIR/study.png``. Bad input (a study file, an option
key, a changed finished cell) is one line, ``handkit: error: ...``, and exit
code 2.
"""
import argparse
import signal
from typing import List, Optional

from handkit.engine.errors import user_errors_exit
from handkit.engine.study import run_study


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a grid of configs x seeds once each, test each on '
        'several test sets, print the tables (skips what is finished)')
    parser.add_argument('study', help='study file (configs/studies/*.py)')
    parser.add_argument('--work-dir', help='default: work_dirs/studies/'
                        '<study name>')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help="override the study's seeds")
    parser.add_argument('--cells', nargs='+',
                        help='run only these cells (the table shows all '
                        'finished ones)')
    parser.add_argument('--dry-run', action='store_true',
                        help='check every option key and cell config and '
                        'write the configs; train, test and remove '
                        'nothing')
    parser.add_argument('--rerun-changed', action='store_true',
                        help='remove the results of a finished cell whose '
                        'merged config changed and train it again '
                        '(without it such a cell is an error)')
    return parser.parse_args(argv)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with user_errors_exit():
        return run_study(args.study, args.work_dir, args.seeds, args.cells,
                         args.dry_run, args.rerun_changed)
