"""Studies: a grid of configs x seeds, each (cell, seed) trained once and
tested on several test sets, then tabulated (``tools/study.py``,
docs/nsrm_studies.md).

``spec`` reads the study file and builds each cell's config (every option
key checked), ``cells`` trains and tests the grid in subprocesses of the
tools, ``report`` scores the mean-pose rows and writes the tables
(:mod:`handkit.evaluation.study_tables`) and the plot
(:func:`handkit.visualization.plots.plot_study`).
"""
from .cells import run_study
from .spec import load_study

__all__ = ['load_study', 'run_study']
