"""Losses used by the heads."""
from .heatmap_mse import HeatmapMSELoss
from .mask_cross_entropy import MaskCrossEntropyLoss

__all__ = ['HeatmapMSELoss', 'MaskCrossEntropyLoss']
