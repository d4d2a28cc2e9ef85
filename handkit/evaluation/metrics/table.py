"""How a metric shows what it reports: its own table row(s).

Every handkit metric derives from :class:`TabulatedMetric` and states its
table: the columns of its row (:meth:`~TabulatedMetric.columns`), the
number a study compares on (:meth:`~TabulatedMetric.headline`), lines above
and below (a preset's protocol, AUC / EPE). The tools print what the
evaluator returns through them and know no metric key: ``tools/test.py``
prints each metric's rows (:func:`format_metric_tables`; metrics with the
same columns share one table, e.g. an unaligned 3D row and a ``[zb]`` row),
``tools/study.py`` the same columns as mean +- std over seeds.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric


class Column(NamedTuple):
    """One number of a metric's row.

    Attributes:
        header (str): the column's header.
        key (str): the metric's own key (without its ``prefix``).
        scale (float): shown as ``scale * value`` (100: a fraction in %).
        digits (int): decimals shown.
        width (int): the least width of the printed column.
    """
    header: str
    key: str
    scale: float = 1.0
    digits: int = 2
    width: int = 0

    def cell(self, values: Dict[str, float]) -> str:
        """The value formatted (``-`` when ``values`` lack it)."""
        if self.key not in values:
            return '-'.rjust(self.width)
        return f'{self.scale * values[self.key]:>{self.width}.{self.digits}f}'


class MetricRows(NamedTuple):
    """What one metric prints: ``title`` lines, a table (``header``, then
    ``rows``), ``notes`` lines."""
    header: Tuple[str, ...]
    rows: List[Tuple[str, ...]]
    title: List[str]
    notes: List[str]


class TabulatedMetric(BaseMetric):
    """An mmengine metric that formats its own table row(s).

    Subclasses give :meth:`columns` (none: the metric prints nothing) and,
    where they have them, :meth:`title`, :meth:`notes`, :meth:`breakdown`
    and :meth:`data_columns`.
    """

    #: the header of the row-label column
    label_header = 'model'

    def own_values(self, metrics: Dict[str, float]) -> Dict[str, float]:
        """This metric's values in the evaluator's ``metrics``, its
        ``prefix/`` taken off (without a prefix: the unprefixed keys)."""
        if self.prefix:
            head = f'{self.prefix}/'
            return {key[len(head):]: value for key, value in metrics.items()
                    if key.startswith(head)}
        return {key: value for key, value in metrics.items()
                if '/' not in key}

    def columns(self, values: Dict[str, float]) -> List[Column]:
        """The columns of this metric's row, for ``values`` (its own)."""
        return []

    def headline(self, values: Dict[str, float]) -> Optional[Column]:
        """The number a study compares cells on (bold, and the one its
        "vs baseline" column and plot follow): the first column."""
        columns = self.columns(values)
        return columns[0] if columns else None

    def breakdown(self, values: Dict[str, float]) -> List[Column]:
        """The columns a study shows for each test set: the headline."""
        headline = self.headline(values)
        return [] if headline is None else [headline]

    def data_columns(self, values: Dict[str, float]) -> List[Column]:
        """Numbers about the test set rather than the model (a study shows
        them once per test set): none."""
        return []

    def title(self) -> List[str]:
        """Lines printed above the table: none."""
        return []

    def notes(self, values: Dict[str, float]) -> List[str]:
        """Lines printed under the table: none."""
        return []

    def row_label(self, name: str) -> str:
        """The row label: ``name``, ``'<name> [<prefix>]'`` with a prefix
        (another protocol over the same predictions)."""
        return f'{name} [{self.prefix}]' if self.prefix else name

    def format_rows(self, name: str,
                    metrics: Dict[str, float]) -> Optional[MetricRows]:
        """This metric's table for the evaluator's ``metrics`` (None when
        it reports nothing there), its row labelled ``name``."""
        values = self.own_values(metrics)
        columns = self.columns(values)
        if not columns:
            return None
        header = tuple([self.label_header] + [
            column.header.rjust(column.width) for column in columns])
        row = tuple([self.row_label(name)]
                    + [column.cell(values) for column in columns])
        return MetricRows(header, [row], self.title(), self.notes(values))


def align(lines: Sequence[Sequence[str]]) -> str:
    """Text table: the first column left-aligned, the others right-aligned,
    two spaces apart."""
    widths = [max(len(line[i]) for line in lines)
              for i in range(len(lines[0]))]
    return '\n'.join(
        '  '.join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                  for i, cell in enumerate(line)) for line in lines)


def format_metric_tables(metrics: Sequence[BaseMetric], name: str,
                         values: Dict[str, float]) -> str:
    """The tables of an evaluator's ``metrics`` for what it returned
    (``values``), in the evaluator's order, each row labelled ``name``.

    Consecutive metrics with the same header share one table (their titles
    above it, their notes under it). Metrics that are not
    :class:`TabulatedMetric` s, or report nothing, print nothing.
    """
    tables: List[MetricRows] = []
    for metric in metrics:
        rows = (metric.format_rows(name, values)
                if isinstance(metric, TabulatedMetric) else None)
        if rows is None:
            continue
        if tables and tables[-1].header == rows.header:
            last = tables[-1]
            tables[-1] = MetricRows(last.header, last.rows + rows.rows,
                                    last.title + rows.title,
                                    last.notes + rows.notes)
        else:
            tables.append(rows)
    return '\n'.join(
        '\n'.join(table.title + [align([table.header] + table.rows)]
                  + table.notes) for table in tables)


def sample_array(sample: dict, key: str, metric: str) -> np.ndarray:
    """``sample[key]`` as float64; a KeyError naming the metric, the key and
    what the prediction holds when it is missing."""
    if key not in sample:
        raise KeyError(f"{metric}: a prediction has no '{key}'; it holds "
                       f'{sorted(sample)}')
    return np.asarray(sample[key], np.float64)
