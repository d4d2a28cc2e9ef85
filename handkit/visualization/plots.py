"""PCK curves and study figures as PNG files (matplotlib, Agg backend).

Draws several methods' PCK-over-threshold curves on one plot, as the NSRM
paper's Figure 6 compares CPM and the NSRM variants on OneHand10K and
Panoptic. PCK itself comes from :func:`handkit.evaluation.functional.pck`
(Section 4.2: normaliser = max side of the tightest ground-truth keypoint
box). :func:`plot_study` draws a study's breakdown against its test sets.
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import Config

from handkit.evaluation.functional import keypoint_box_size, pck
from handkit.evaluation.metrics import TabulatedMetric
from handkit.evaluation.study_tables import (column_key, reported_values,
                                             seed_values)

# The threshold range of handkit's PCK AUC (functional.pck_auc's default).
DEFAULT_THRESHOLDS = np.linspace(0.0, 0.2, 41)


def pck_curve(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
              norm: Optional[np.ndarray] = None,
              thresholds: Optional[Union[Sequence[float],
                                         np.ndarray]] = None
              ) -> Tuple[np.ndarray, np.ndarray]:
    """PCK at each threshold: ``(thresholds, values)``, both (T,) arrays.

    Args:
        pred, gt: (N, 21, 2) keypoints.
        visible: (N, 21) labelled flags.
        norm: (N,) normaliser; default the max side of the tightest box of
            the labelled ground-truth keypoints (the paper's).
        thresholds: normalised thresholds; default 0 to 0.2 in steps of
            0.005.
    """
    thresholds = (DEFAULT_THRESHOLDS if thresholds is None else
                  np.asarray(thresholds, dtype=np.float64).reshape(-1))
    if norm is None:
        norm = keypoint_box_size(gt, visible)
    return thresholds, pck(pred, gt, visible, norm, thresholds)


def plot_pck_curves(curves: Dict[str, Tuple[np.ndarray, np.ndarray]],
                    out_file: Union[str, os.PathLike],
                    title: Optional[str] = None,
                    xlabel: str = 'normalised threshold',
                    ylabel: str = 'PCK',
                    size: Tuple[int, int] = (640, 480),
                    dpi: int = 100) -> Union[str, os.PathLike]:
    """Write a PNG with one PCK curve per method.

    Args:
        curves: dict name -> (thresholds, pck values), e.g. from
            :func:`pck_curve`; drawn in insertion order, named in the legend.
        out_file: path of the PNG (folders are created).
        title: plot title.
        xlabel, ylabel: axis labels.
        size: (width, height) of the PNG in pixels.
        dpi: resolution of the text and lines.

    Returns:
        ``out_file``.
    """
    if not curves:
        raise ValueError('plot_pck_curves: no curves given')
    width, height = size
    if width < 50 or height < 50:
        raise ValueError(f'plot_pck_curves: size must be at least 50 x 50 '
                         f'pixels, got {size!r}')
    checked = {}
    for name, (thresholds, values) in curves.items():
        thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if thresholds.shape != values.shape or thresholds.size == 0:
            raise ValueError(
                f'plot_pck_curves: curve {name!r} has {thresholds.size} '
                f'thresholds and {values.size} PCK values')
        checked[name] = (thresholds, values)
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, (thresholds, values) in checked.items():
        axes.plot(thresholds, values, marker='.', label=str(name))
    top = max(np.nanmax(values) for _, values in checked.values())
    axes.set_ylim(0, 100 if top > 1 else 1)  # percent or fraction
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc='lower right')
    figure.tight_layout()
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(out_file, dpi=dpi, format='png')
    return out_file


def plot_study(study: Config, results: dict, path: str,
               metric: TabulatedMetric) -> None:
    """A study's figure (``tools/study.py``): ``metric``'s breakdown (PCK:
    of all, occluded and visible keypoints) against each evaluation, a panel
    per column that has values, one line per row of ``results`` (``{row:
    {seed: {evaluation: metrics}}}``), error bars one std over seeds."""
    evaluations = list(study.evaluations)
    values = reported_values(metric, results, evaluations[0])
    headline = metric.headline(values)
    panels = [column for column in metric.breakdown(values)
              if any(seed_values(results, cell, e, column_key(metric, column))
                     is not None for cell in results for e in evaluations)]
    figure = Figure(figsize=(5.5 * max(len(panels), 1), 4.2))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, max(len(panels), 1), sharey=True,
                           squeeze=False)
    for axis, column in zip(axes[0], panels):
        for cell in results:
            stats = [seed_values(results, cell, e, column_key(metric, column))
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
