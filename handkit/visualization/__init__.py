"""Visualisation: drawing (``draw``), the mmengine visualizer and PCK plots."""
from .draw import (draw_prediction, draw_scores, draw_skeleton, image_grid,
                   map_grid, overlay_maps, side_by_side)
from .plots import pck_curve, plot_pck_curves
from .visualizer import HandVisualizer

__all__ = [
    'draw_skeleton', 'draw_scores', 'overlay_maps', 'map_grid', 'image_grid',
    'side_by_side', 'draw_prediction', 'HandVisualizer', 'pck_curve',
    'plot_pck_curves'
]
