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
cells' configs, each kind once: :func:`study_metrics`).

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
(parsed JSON, :func:`comparable`) before anything runs; not changes are
``work_dir`` (always the cell's own folder) and what tools/train.py sets
for the machine and mmengine's Runner writes back into ``config.json``
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
import copy
import glob
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.fileio import dump as dump_text
from mmengine.runner import find_latest_checkpoint

from handkit.engine.config import (ConfigError, check_cfg_options,
                                   load_config_file, resolve_config_path)
from handkit.engine.errors import user_errors_exit
from handkit.evaluation.metrics import Column, TabulatedMetric
from handkit.fileio import write_json, write_text

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPEC_KEYS = ('cells', 'seeds', 'evaluations')


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


def load_study(path: str) -> Config:
    """The study file, its keys checked (one-line errors naming the key)."""
    path = resolve_config_path(path)  # studies/nsrm_synthetic.py too
    if not osp.isfile(path):
        raise ConfigError(f'study file not found: {path}')
    study = load_config_file(path)
    for key in SPEC_KEYS:
        if not study.get(key):
            raise ConfigError(f'{path}: the study has no {key!r} (it needs '
                              f'{", ".join(SPEC_KEYS)})')
    for name, cell in study.cells.items():
        if 'config' not in cell:
            raise ConfigError(f'{path}: cell {name!r} has no config')
        if not osp.isfile(_from_root(cell['config'])):
            raise ConfigError(f"{path}: cell {name!r}: config "
                              f"{cell['config']} not found")
    mean_pose = study.get('mean_pose', False)
    if isinstance(mean_pose, (list, tuple)):
        unknown = [cell for cell in mean_pose if cell not in study.cells]
        if unknown:
            raise ConfigError(f'{path}: mean_pose names {unknown}, not '
                              f'cells ({", ".join(study.cells)})')
    baseline = study.get('baseline_cell')
    if baseline is not None and baseline not in study.cells:
        raise ConfigError(f'{path}: baseline_cell {baseline!r} is not a '
                          f'cell ({", ".join(study.cells)})')
    return study


def cell_config(study: Config, name: str, seed: int, work_dir: str) -> Config:
    """The cell's config: its file, the study's and the cell's options, the
    seed and the work dir.

    Each options key is checked before it is merged, as ``--cfg-options``
    (:func:`check_cfg_options`): the study's ``options`` against the cell's
    config file, the cell's ``options`` against that plus the study's.

    Raises:
        ConfigError: one line, ``study PATH: cell 'NAME': --cfg-options
            KEY: ...`` (``options (cell 'NAME')`` for the study's options).
    """
    cell = study.cells[name]
    cfg = load_config_file(_from_root(cell['config']))
    for where, options in ((f'options (cell {name!r})',
                            study.get('options', {})),
                           (f'cell {name!r}', cell.get('options', {}))):
        options = dict(options)
        _check_options(study, where, cfg, options)
        cfg.merge_from_dict(options, allow_list_keys=True)
    cfg.merge_from_dict({'randomness.seed': int(seed)})
    cfg.work_dir = work_dir
    return cfg


def check_evaluations(study: Config, name: str, cfg: Config) -> None:
    """Check each evaluation's options against the cell ``name``'s merged
    config ``cfg`` (tools/test.py gets them as ``--cfg-options``)."""
    for evaluation, options in study.evaluations.items():
        _check_options(study, f'evaluation {evaluation!r} (cell {name!r})',
                       cfg, dict(options or {}))


def _check_options(study: Config, where: str, cfg: Config,
                   options: dict) -> None:
    try:
        check_cfg_options(cfg, options)
    except ConfigError as error:
        raise ConfigError(f'study {study.filename}: {where}: '
                          f'{error}') from None


# The keys of config.json left out of the comparison: work_dir always names
# the cell's own folder (spelt as the run that wrote it was given it);
# resume and load_from are what tools/train.py --auto-resume sets (it
# replaces the config's).
UNCOMPARED_KEYS = ('work_dir', 'resume', 'load_from')
TENSORBOARD = {'type': 'TensorboardVisBackend'}
_ABSENT = object()


def comparable(old: dict, new: dict) -> Tuple[dict, dict]:
    """The parsed ``config.json`` and the new merged config, as compared.

    mmengine's Runner writes the config it runs over ``config.json``:
    tools/train.py's settings for the machine are not changes of the
    experiment, so they are undone in ``old`` where ``new`` explains them:
    an added ``launcher``, a loader's ``pin_memory`` turned off or its
    ``num_workers`` capped (``quiet_dataloader_workers``), an added
    TensorBoard backend. :data:`UNCOMPARED_KEYS` are left out of both.
    """
    old, new = copy.deepcopy(old), copy.deepcopy(new)
    for key in UNCOMPARED_KEYS:
        old.pop(key, None)
        new.pop(key, None)
    if 'launcher' not in new:
        old.pop('launcher', None)
    for key, loader in new.items():
        ran = old.get(key)
        if not (key.endswith('_dataloader') and isinstance(loader, dict)
                and isinstance(ran, dict)):
            continue
        if ran.get('pin_memory') is False and loader.get('pin_memory'):
            ran['pin_memory'] = loader['pin_memory']
        workers, ran_workers = loader.get('num_workers'), ran.get(
            'num_workers')
        if isinstance(workers, int) and isinstance(ran_workers, int) and \
                ran_workers < workers:
            ran['num_workers'] = workers
    visualizer, ran = new.get('visualizer'), old.get('visualizer')
    if isinstance(visualizer, dict) and isinstance(ran, dict):
        backends = visualizer.get('vis_backends')
        if ran.get('vis_backends') == list(backends or []) + [TENSORBOARD]:
            if backends is None:
                ran.pop('vis_backends')
            else:
                ran['vis_backends'] = backends
    return old, new


def first_difference(old: Any, new: Any, path: str = ''
                     ) -> Optional[Tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` of the first place where two
    parsed JSON configs differ (dicts by key, in the new one's order, then
    the keys only the old one has; lists of the same length by index; a
    missing key is ``_ABSENT``), or None when they are the same. Key order
    counts (named pipeline steps run in it)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(new) + [key for key in old if key not in new]:
            found = first_difference(old.get(key, _ABSENT),
                                     new.get(key, _ABSENT),
                                     f'{path}.{key}' if path else str(key))
            if found:
                return found
        if list(old) != list(new):
            return (path or 'the config', f'keys in order {list(old)}',
                    f'keys in order {list(new)}')
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(
            new):
        for index, (a, b) in enumerate(zip(old, new)):
            found = first_difference(a, b, f'{path}.{index}' if path
                                     else str(index))
            if found:
                return found
        return None
    if old is _ABSENT or new is _ABSENT or type(old) is not type(new) or \
            old != new:
        return path, old, new
    return None


def _shown(value: Any, limit: int = 60) -> str:
    text = '(absent)' if value is _ABSENT else (
        value if isinstance(value, str) and value.startswith('keys in order')
        else repr(value))
    return text if len(text) <= limit else text[:limit - 3] + '...'


def cell_results(cell_dir: str, mean_pose_file: Optional[str] = None
                 ) -> List[str]:
    """The results of a cell folder (sorted paths): ``train_done.json``,
    ``last_checkpoint``, the ``*.pth``, the ``eval_*.json``, and
    ``mean_pose_file`` when it is given and exists."""
    found = [osp.join(cell_dir, name) for name in ('train_done.json',
                                                   'last_checkpoint')
             if osp.lexists(osp.join(cell_dir, name))]
    for pattern in ('*.pth', 'eval_*.json'):
        found += glob.glob(osp.join(glob.escape(cell_dir), pattern))
    if mean_pose_file and osp.exists(mean_pose_file):
        found.append(mean_pose_file)
    return sorted(found)


def _removable(cell_dir: str, mean_pose_file: Optional[str]) -> List[str]:
    """What ``--rerun-changed`` removes: the results, the left-over
    prediction dumps and the test folders (``test_*/``)."""
    found = cell_results(cell_dir, mean_pose_file)
    found += glob.glob(osp.join(glob.escape(cell_dir), 'predictions_*.json'))
    found += [path for path in glob.glob(osp.join(glob.escape(cell_dir),
                                                  'test_*'))
              if osp.isdir(path) and not osp.islink(path)]
    return sorted(set(found))


def _remove(paths: Sequence[str]) -> None:
    for path in paths:
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


class _Run:
    """One (cell, seed) of the grid, checked before anything is written."""

    def __init__(self, cell: str, seed: int, cell_dir: str, cfg: Config,
                 mean_pose_file: Optional[str]):
        self.cell, self.seed, self.cell_dir, self.cfg = cell, seed, \
            cell_dir, cfg
        self.mean_pose_file = mean_pose_file
        self.config_path = osp.join(cell_dir, 'config.json')
        # JSON keeps the order of named pipeline steps (a .py dump sorts
        # keys, which would reorder them); the same text cfg.dump writes
        self.text = dump_text(cfg.to_dict(), file_format='json')
        self.changed: Optional[Tuple[str, Any, Any]] = None
        self.stale: List[str] = []  # removed by --rerun-changed

    def compare(self) -> None:
        """Set ``changed`` (the first difference) and ``stale`` (the old
        results to remove) when config.json records another config and the
        cell has results."""
        if not osp.isfile(self.config_path):
            return
        new = json.loads(self.text)
        try:
            with open(self.config_path) as file:
                old = json.load(file)
        except (OSError, ValueError):
            old = None
        if not isinstance(old, dict):
            difference = ('config.json', 'unreadable', 'the new config')
        else:
            difference = first_difference(*comparable(old, new))
        if difference is None:
            return
        results = cell_results(self.cell_dir, self.mean_pose_file)
        if results:
            self.changed = difference
            self.stale = _removable(self.cell_dir, self.mean_pose_file)

    def describe_change(self, where: str = '') -> str:
        key, old, new = self.changed
        return f'{key} was {_shown(old)}{where}, now {_shown(new)}'


def run_study(study_path: str, work_dir: Optional[str] = None,
              seeds: Optional[Sequence[int]] = None,
              cells: Optional[Sequence[str]] = None,
              dry_run: bool = False, rerun_changed: bool = False) -> dict:
    """Train and evaluate what is missing; return ``{cell: {seed: {eval:
    metrics}}}`` of everything finished.

    Every option key of the study (all cells, also those ``cells`` leaves
    out) and every (cell, seed) of the grid against its ``config.json`` is
    checked before anything runs or is written (module doc).

    Raises:
        ConfigError: a bad study file or option key, or a cell with results
            whose config changed (without ``rerun_changed``).
    """
    study = load_study(study_path)
    name = osp.splitext(osp.basename(study_path))[0]
    work_dir = work_dir or osp.join('work_dirs', 'studies', name)
    seeds = list(seeds if seeds is not None else study.seeds)
    chosen = list(cells) if cells else list(study.cells)
    unknown = [cell for cell in chosen if cell not in study.cells]
    if unknown:
        raise ConfigError(f'--cells: {unknown} not in the study '
                          f'({", ".join(study.cells)})')
    mean_pose_cells = set(mean_pose_rows(study).values())
    # seed-major: a study stopped half-way has every cell of the first seed
    grid = [(cell, seed) for seed in seeds for cell in chosen]
    # 1. every option key, before anything runs or is written: the grid's
    # configs, and once each cell the grid leaves out (a mean-pose row
    # builds its config too)
    runs = []
    for cell, seed in grid:
        cell_dir = osp.join(work_dir, cell, f'seed_{seed}')
        cfg = cell_config(study, cell, seed, cell_dir)
        check_evaluations(study, cell, cfg)
        runs.append(_Run(cell, seed, cell_dir, cfg, osp.join(
            work_dir, f'mean_pose_{cell}.json')
            if cell in mean_pose_cells else None))
    for cell in study.cells:
        if cell not in chosen:
            check_evaluations(study, cell, cell_config(
                study, cell, seeds[0] if seeds else 0, work_dir))
    # 2. a finished cell whose config changed: refused, or its results go
    for run in runs:
        run.compare()
        if run.changed and not rerun_changed:
            raise ConfigError(
                f'study {study_path}: cell {run.cell!r} seed {run.seed} has '
                'results of another config: '
                f'{run.describe_change(f" in {run.config_path}")}; pass '
                '--rerun-changed to remove its results and train it again, '
                'or undo the change')
    # 3. run
    for index, run in enumerate(runs, start=1):
        label = f'[{index}/{len(runs)}] {run.cell} seed {run.seed}'
        if run.changed and dry_run:
            # nothing is removed and the record is kept
            with tempfile.TemporaryDirectory() as folder:
                path = osp.join(folder, 'config.json')
                run.cfg.dump(path)
                Config.fromfile(path)  # the dump must load back
            print(f'{label}: config changed ({run.describe_change()}); '
                  f'--rerun-changed would remove '
                  f'{_listed(run.stale, run.cell_dir)}')
            continue
        if run.changed:
            # a mean-pose file is shared by the seeds: one may have gone
            stale = [path for path in run.stale if osp.lexists(path)]
            listed = _listed(stale, run.cell_dir)
            _remove(stale)
            print(f'{label}: config changed ({run.describe_change()}); '
                  f'removed {listed}', flush=True)
        os.makedirs(run.cell_dir, exist_ok=True)
        run.cfg.dump(run.config_path)
        if dry_run:
            Config.fromfile(run.config_path)  # the dump must load back
            print(f'{label}: {run.config_path}')
            continue
        _train(run.cell_dir, run.config_path, label)
        for evaluation, options in study.evaluations.items():
            _evaluate(run.cell_dir, run.config_path, evaluation,
                      dict(options))
    results = collect_results(study, work_dir, seeds)
    if not dry_run:
        for label, cell in mean_pose_rows(study).items():
            results[label] = mean_pose_results(study, work_dir, cell)
        write_report(study, results, work_dir,
                     study_metrics(study, work_dir))
    return results


def _listed(paths: Sequence[str], cell_dir: str) -> str:
    """The paths, relative to the cell folder (folders end in '/')."""
    return ', '.join(osp.relpath(path, cell_dir) + (
        '/' if osp.isdir(path) and not osp.islink(path) else '')
        for path in paths) or 'nothing'


def _from_root(path: str) -> str:
    """A cell's config: as given, inside the package's configs
    (``configs/quickstart/cpm_synthetic.py`` from any folder, or from an
    installed wheel), else relative to the repository."""
    path = resolve_config_path(path)
    return path if osp.isabs(path) or osp.exists(path) else osp.join(
        ROOT, path)


def _tool(name: str) -> List[str]:
    return [sys.executable, '-c',
            f'import sys; from handkit.tools.{name} import main; '
            f'main(sys.argv[1:])']


def _train(cell_dir: str, config_path: str, label: str) -> None:
    done = osp.join(cell_dir, 'train_done.json')
    if osp.exists(done):
        print(f'{label}: trained (skipped; {done})', flush=True)
        return
    print(f'{label}: training ...', flush=True)
    start = time.time()
    _run(_tool('train') + [config_path, '--work-dir', cell_dir,
                           '--auto-resume'], osp.join(cell_dir, 'train.log'))
    # the checkpoint the training ended with, epochs or iterations
    checkpoint = find_latest_checkpoint(cell_dir)
    if not checkpoint or not osp.exists(checkpoint):
        raise RuntimeError(f'{label}: training ended without a checkpoint '
                           f'in {cell_dir}/last_checkpoint (see '
                           f'{cell_dir}/train.log)')
    write_json(done, dict(checkpoint=checkpoint,
                          seconds=round(time.time() - start, 1)))
    print(f'{label}: trained in {time.time() - start:.0f} s', flush=True)


def _evaluate(cell_dir: str, config_path: str, evaluation: str,
              options: dict) -> None:
    result = osp.join(cell_dir, f'eval_{evaluation}.json')
    if osp.exists(result):
        return
    with open(osp.join(cell_dir, 'train_done.json')) as file:
        checkpoint = json.load(file)['checkpoint']
    dump = osp.join(cell_dir, f'predictions_{evaluation}.json')
    argv = _tool('test') + [config_path, checkpoint, '--work-dir',
                            osp.join(cell_dir, f'test_{evaluation}'),
                            '--out', dump, '--format', 'handkit',
                            '--overwrite']
    if options:
        argv += ['--cfg-options'] + [f'{key}={value!r}' if isinstance(
            value, str) else f'{key}={value}' for key, value in
            options.items()]
    _run(argv, osp.join(cell_dir, f'test_{evaluation}.log'))
    with open(dump) as file:
        metrics = json.load(file)['metrics']
    os.remove(dump)  # the predictions are large; the metrics are kept
    write_json(result, metrics, indent=1)


def _run(argv: List[str], log_path: str) -> None:
    """Run a tool, its output to ``log_path``; a failure names the log. A
    study stopped by Ctrl-C or SIGTERM stops the tool too (no orphan keeps
    training). The log is appended to, so a resumed cell keeps what its
    first run logged."""
    with open(log_path, 'a') as log:
        process = subprocess.Popen(argv, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=os.getcwd())
        try:
            code = process.wait()
        except BaseException:
            process.terminate()
            process.wait()
            raise
    if code != 0:
        with open(log_path) as log:
            tail = log.read().strip().splitlines()[-5:]
        raise RuntimeError(f'{" ".join(argv[3:5])} exited {code}; last lines '
                           f'of {log_path}:\n' + '\n'.join(tail))


def collect_results(study: Config, work_dir: str,
                    seeds: Sequence[int]) -> dict:
    """``{cell: {seed: {evaluation: metrics}}}`` of the finished runs."""
    results = {}
    for cell in study.cells:
        for seed in seeds:
            cell_dir = osp.join(work_dir, cell, f'seed_{seed}')
            for evaluation in study.evaluations:
                path = osp.join(cell_dir, f'eval_{evaluation}.json')
                if osp.exists(path):
                    with open(path) as file:
                        results.setdefault(cell, {}).setdefault(
                            seed, {})[evaluation] = json.load(file)
    return results


def mean_pose_rows(study: Config) -> Dict[str, str]:
    """``{row label: cell}`` of the mean-pose rows: ``mean_pose = True``
    scores the first cell's data, a list of cells each of theirs."""
    chosen = study.get('mean_pose', False)
    if not chosen:
        return {}
    cells = [next(iter(study.cells))] if chosen is True else list(chosen)
    if len(cells) == 1:
        return {'mean pose': cells[0]}
    return {f'mean pose ({cell})': cell for cell in cells}


def evaluation_metrics(cfg: Config) -> List[TabulatedMetric]:
    """The metrics of ``cfg``'s test evaluator, built through the registry
    (those that format a table), with the test dataset's metainfo (the
    thresholds of a metric that names none)."""
    from mmengine.registry import init_default_scope

    from handkit.registry import DATASETS, METRICS
    init_default_scope('handkit')
    evaluators = cfg.get('test_evaluator') or []
    if isinstance(evaluators, dict):  # one metric, or an Evaluator's dict
        evaluators = evaluators.get('metrics', evaluators)
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    dataset = cfg.test_dataloader.dataset
    meta = dict(getattr(DATASETS.get(dataset['type']), 'METAINFO', {}),
                **(dataset.get('metainfo') or {}))
    metrics = [METRICS.build(metric) for metric in evaluators]
    for metric in metrics:
        metric.dataset_meta = meta
    return [metric for metric in metrics
            if isinstance(metric, TabulatedMetric)]


def study_metrics(study: Config, work_dir: str) -> List[TabulatedMetric]:
    """The metrics whose columns the tables show: those of the cells'
    configs on the first evaluation, each kind (type and prefix) once, in
    the order the cells first name them (a CPM cell's PCK, then an NSRM
    cell's structure-map IoU)."""
    options = dict(next(iter(study.evaluations.values())) or {})
    metrics, seen = [], set()
    for cell in study.cells:
        cfg = cell_config(study, cell, 0, work_dir)
        cfg.merge_from_dict(options)
        for metric in evaluation_metrics(cfg):
            kind = (type(metric), metric.prefix)
            if kind not in seen:
                seen.add(kind)
                metrics.append(metric)
    return metrics


def mean_pose_results(study: Config, work_dir: str, cell: str) -> dict:
    """The mean pose of ``cell``'s training crops on each evaluation, scored
    by the 2D ``PCKMetric`` of its test evaluator (``{0: {evaluation:
    metrics}}``)."""
    from handkit.evaluation.mean_pose import mean_pose_samples
    from handkit.evaluation.metrics import PCKMetric
    path = osp.join(work_dir, f'mean_pose_{cell}.json')
    if osp.exists(path):
        with open(path) as file:
            return {0: json.load(file)}
    scores = {}
    for evaluation, options in study.evaluations.items():
        cfg = cell_config(study, cell, 0, work_dir)
        cfg.merge_from_dict(dict(options))
        # a mean pose is 2D keypoints: PCK scores it, nothing else can
        metric = next((metric for metric in evaluation_metrics(cfg)
                       if isinstance(metric, PCKMetric)), None)
        if metric is None:
            raise ConfigError(f'study {study.filename}: mean_pose: cell '
                              f"{cell!r}'s test_evaluator has no PCKMetric "
                              'to score a mean 2D pose with')
        metric.process(None, mean_pose_samples(cfg))
        scores[evaluation] = metric.compute_metrics(metric.results)
    write_json(path, scores, indent=1)
    return {0: scores}


def _stats(results: dict, cell: str, evaluation: str,
           key: str) -> Optional[np.ndarray]:
    values = [runs[evaluation][key] for runs in results.get(cell, {}).values()
              if evaluation in runs and key in runs[evaluation]]
    return np.asarray(values, np.float64) if values else None


def _cell(values: Optional[np.ndarray], scale: float = 100.0,
          digits: int = 2) -> str:
    if values is None:
        return '-'
    mean = scale * values.mean()
    if len(values) == 1:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {scale * values.std(ddof=1):.{digits}f}'


def _values(metric: TabulatedMetric, results: dict, evaluation: str) -> dict:
    """``metric``'s own values on ``evaluation`` in any finished run (the
    columns a metric shows may follow what it reported)."""
    for seeds in results.values():
        for runs in seeds.values():
            values = metric.own_values(runs.get(evaluation, {}))
            if values:
                return values
    return {}


def _own(metric: TabulatedMetric, column: Column) -> str:
    """The key of ``column`` in the evaluator's metrics (prefixed)."""
    return f'{metric.prefix}/{column.key}' if metric.prefix else column.key


def _markdown_row(cells: Sequence[str]) -> str:
    return '| ' + ' | '.join(cells) + ' |'


def _stat_cell(results: dict, cell: str, evaluation: str,
               metric: TabulatedMetric, column: Column) -> str:
    return _cell(_stats(results, cell, evaluation, _own(metric, column)),
                 column.scale, column.digits)


def format_tables(study: Config, results: dict,
                  metrics: Sequence[TabulatedMetric]) -> str:
    """The study's tables, Markdown: every metric's columns on the first
    evaluation (the first metric's headline bold, then its difference from
    the baseline cell) and the first metric's breakdown on each
    evaluation, mean +- std over seeds.

    Args:
        study: the study file.
        results: ``{row: {seed: {evaluation: metrics}}}``.
        metrics: the test evaluator's metrics (:func:`study_metrics`), whose
            columns (:class:`TabulatedMetric`) the tables show.
    """
    evaluations = list(study.evaluations)
    head = evaluations[0]
    rows = [cell for cell in list(study.cells) + list(mean_pose_rows(study))
            if cell in results]
    baseline = study.get('baseline_cell')
    seeds = {cell: len(results[cell]) for cell in rows}
    first, others = metrics[0], list(metrics[1:])
    values = _values(first, results, head)
    headline = first.headline(values)
    columns = [(first, column) for column in first.columns(values)]
    later = [(metric, column) for metric in others
             for column in metric.columns(_values(metric, results, head))]
    name = type(first).__name__ + (f' [{first.prefix}]' if first.prefix
                                   else '')
    header = (['model', 'seeds'] + [column.header for _, column in columns]
              + [f'vs {baseline or "-"}']
              + [f'[{metric.prefix}] ' * bool(metric.prefix) + column.header
                 for metric, column in later])
    lines = [f'{name} on `{head}`, mean ± std over seeds:', '',
             _markdown_row(header), '|' + ' --- |' * len(header)]
    base = (_stats(results, baseline, head, _own(first, headline))
            if baseline and headline else None)
    for cell in rows:
        mean = (_stats(results, cell, head, _own(first, headline))
                if headline else None)
        difference = (None if base is None or mean is None
                      or cell == baseline
                      else headline.scale * (mean.mean() - base.mean()))
        delta = ('-' if difference is None else
                 f'{difference:+.{headline.digits}f}')
        shown = [(f'**{_stat_cell(results, cell, head, metric, column)}**'
                  if column == headline else
                  _stat_cell(results, cell, head, metric, column))
                 for metric, column in columns]
        lines.append(_markdown_row(
            [cell, str(seeds[cell])] + shown + [delta]
            + [_stat_cell(results, cell, head, metric, column)
               for metric, column in later]))
    breakdown = first.breakdown(values)
    header = ['model'] + [f'{e} {column.header}' for e in evaluations
                          for column in breakdown]
    lines += ['', f'{name} on each test set: ' + ' / '.join(
        column.header for column in breakdown) + ':', '',
              _markdown_row(header), '|' + ' --- |' * len(header)]
    for cell in rows:
        lines.append(_markdown_row([cell] + [
            _stat_cell(results, cell, evaluation, first, column)
            for evaluation in evaluations for column in breakdown]))
    for column in first.data_columns(values):
        shares = [_stats(results, rows[0], e, _own(first, column))
                  for e in evaluations] if rows else []
        if shares and all(share is not None for share in shares):
            lines += ['', f'{column.header}: ' + ', '.join(
                f'{e} {column.scale * v.mean():.{column.digits}f} %'
                for e, v in zip(evaluations, shares))]
    return '\n'.join(lines)


def write_report(study: Config, results: dict, work_dir: str,
                 metrics: Sequence[TabulatedMetric]) -> None:
    """Print the tables; write table.md, results.json and study.png."""
    if not results:
        print('no finished runs yet')
        return
    if not metrics:
        print("the first cell's test evaluator has no metric with a table")
        return
    tables = format_tables(study, results, metrics)
    print(tables)
    write_text(osp.join(work_dir, 'table.md'), tables + '\n')
    write_json(osp.join(work_dir, 'results.json'),
               {cell: {str(seed): runs for seed, runs in seeds.items()}
                for cell, seeds in results.items()}, indent=1)
    plot_study(study, results, osp.join(work_dir, 'study.png'), metrics[0])


def plot_study(study: Config, results: dict, path: str,
               metric: TabulatedMetric) -> None:
    """``metric``'s breakdown (PCK: of all, occluded and visible keypoints)
    against each evaluation, a panel per column that has values, one line
    per cell, error bars one std over seeds."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    evaluations = list(study.evaluations)
    values = _values(metric, results, evaluations[0])
    headline = metric.headline(values)
    panels = [column for column in metric.breakdown(values)
              if any(_stats(results, cell, e, _own(metric, column))
                     is not None for cell in results for e in evaluations)]
    figure, axes = plt.subplots(1, max(len(panels), 1),
                                figsize=(5.5 * max(len(panels), 1), 4.2),
                                sharey=True, squeeze=False)
    for axis, column in zip(axes[0], panels):
        for cell in results:
            stats = [_stats(results, cell, e, _own(metric, column))
                     for e in evaluations]
            if any(value is None for value in stats):
                continue
            scale = column.scale
            axis.errorbar(range(len(evaluations)),
                          [scale * v.mean() for v in stats],
                          yerr=[scale * v.std(ddof=1) if len(v) > 1 else 0
                                for v in stats],
                          marker='o', capsize=3, label=cell,
                          linestyle='--' if cell.startswith('mean pose')
                          else '-')
        axis.set_xticks(range(len(evaluations)), evaluations)
        axis.set_title(f'{headline.header if headline else ""}, '
                       f'{column.header}')
        axis.set_xlabel('test set')
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel(type(metric).__name__)
    axes[0][0].legend(fontsize=8, loc='best')
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with user_errors_exit():
        return run_study(args.study, args.work_dir, args.seeds, args.cells,
                         args.dry_run, args.rerun_changed)
