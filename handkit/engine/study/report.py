"""A study's report: the finished runs' metrics, the mean-pose rows, the
tables (:mod:`handkit.evaluation.study_tables`), ``results.json`` and the
plot (:func:`handkit.visualization.plots.plot_study`)."""
import json
import os.path as osp
from typing import List, Sequence

from mmengine.config import Config

from handkit.engine.config import ConfigError
from handkit.engine.study.spec import cell_config
from handkit.evaluation.mean_pose import mean_pose_samples
from handkit.evaluation.metrics import PCKMetric, TabulatedMetric
from handkit.evaluation.study_tables import evaluation_metrics, format_tables
from handkit.fileio import write_json, write_text
from handkit.visualization.plots import plot_study


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
    metrics}}``), kept in ``WORK_DIR/mean_pose_<cell>.json``."""
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
