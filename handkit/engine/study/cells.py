"""Running a study's grid: each (cell, seed) trained once and tested on each
evaluation, in subprocesses of ``tools/train.py`` and ``tools/test.py``.

Each (cell, seed) gets ``WORK_DIR/<cell>/seed_<k>/`` with its merged
``config.json``, ``train_done.json`` once trained and ``eval_<name>.json``
per evaluation; what is finished is skipped on a rerun as long as the
cell's merged config is the one its ``config.json`` records. A finished
cell whose config changed is refused, or with ``rerun_changed`` its results
are removed and it is trained again (:mod:`handkit.tools.study` tells the
whole story). The tools run as their own processes (a command line, not an
import): a training's memory and threads end with it.
"""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.fileio import dump as dump_text
from mmengine.runner import find_latest_checkpoint

from handkit.engine.config import ConfigError
from handkit.engine.study.report import (collect_results, mean_pose_results,
                                         study_metrics, write_report)
from handkit.engine.study.spec import (cell_config, check_evaluations,
                                       comparable, describe_difference,
                                       first_difference, load_study)
from handkit.evaluation.study_tables import mean_pose_rows
from handkit.fileio import write_json


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
        return describe_difference(self.changed, where)


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


def _tool(name: str) -> List[str]:
    """The command line of ``handkit.tools.<name>`` in this Python."""
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
