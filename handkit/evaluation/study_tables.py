"""A study's tables: each cell's metrics as mean +- std over seeds.

A study (``tools/study.py``, :mod:`handkit.engine.study`) tests every
(cell, seed) of its grid on several test sets; its results are
``{row: {seed: {evaluation: metrics}}}``, a row being a cell or a mean-pose
row. The tables show what the cells' test-evaluator metrics report, each
through its own columns (:class:`~handkit.evaluation.metrics.TabulatedMetric`),
so a new metric prints here by giving its ``columns``.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.evaluation.metrics import Column, TabulatedMetric
from handkit.registry import DATASETS, METRICS


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


def seed_values(results: dict, row: str, evaluation: str,
                key: str) -> Optional[np.ndarray]:
    """The seeds' values of the metric ``key`` of ``row`` on
    ``evaluation`` (None when no run reported it)."""
    values = [runs[evaluation][key] for runs in results.get(row, {}).values()
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


def reported_values(metric: TabulatedMetric, results: dict,
                    evaluation: str) -> dict:
    """``metric``'s own values on ``evaluation`` in any finished run (the
    columns a metric shows may follow what it reported)."""
    for seeds in results.values():
        for runs in seeds.values():
            values = metric.own_values(runs.get(evaluation, {}))
            if values:
                return values
    return {}


def column_key(metric: TabulatedMetric, column: Column) -> str:
    """The key of ``column`` in the evaluator's metrics (prefixed)."""
    return f'{metric.prefix}/{column.key}' if metric.prefix else column.key


def _markdown_row(cells: Sequence[str]) -> str:
    return '| ' + ' | '.join(cells) + ' |'


def _stat_cell(results: dict, row: str, evaluation: str,
               metric: TabulatedMetric, column: Column) -> str:
    return _cell(seed_values(results, row, evaluation,
                             column_key(metric, column)),
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
        metrics: the test evaluator's metrics
            (:func:`handkit.engine.study.report.study_metrics`), whose
            columns (:class:`TabulatedMetric`) the tables show.
    """
    evaluations = list(study.evaluations)
    head = evaluations[0]
    rows = [cell for cell in list(study.cells) + list(mean_pose_rows(study))
            if cell in results]
    baseline = study.get('baseline_cell')
    seeds = {cell: len(results[cell]) for cell in rows}
    first, others = metrics[0], list(metrics[1:])
    values = reported_values(first, results, head)
    headline = first.headline(values)
    columns = [(first, column) for column in first.columns(values)]
    later = [(metric, column) for metric in others
             for column in metric.columns(
                 reported_values(metric, results, head))]
    name = type(first).__name__ + (f' [{first.prefix}]' if first.prefix
                                   else '')
    header = (['model', 'seeds'] + [column.header for _, column in columns]
              + [f'vs {baseline or "-"}']
              + [f'[{metric.prefix}] ' * bool(metric.prefix) + column.header
                 for metric, column in later])
    lines = [f'{name} on `{head}`, mean ± std over seeds:', '',
             _markdown_row(header), '|' + ' --- |' * len(header)]
    base = (seed_values(results, baseline, head, column_key(first, headline))
            if baseline and headline else None)
    for cell in rows:
        mean = (seed_values(results, cell, head, column_key(first, headline))
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
        shares = [seed_values(results, rows[0], e, column_key(first, column))
                  for e in evaluations] if rows else []
        if shares and all(share is not None for share in shares):
            lines += ['', f'{column.header}: ' + ', '.join(
                f'{e} {column.scale * v.mean():.{column.digits}f} %'
                for e, v in zip(evaluations, shares))]
    return '\n'.join(lines)
