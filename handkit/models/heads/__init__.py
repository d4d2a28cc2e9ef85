"""Heads: features (+ the previous head's outputs) -> maps, losses, preds."""
from .base_head import BaseHead
from .bone_tree_head import BoneTreeHead
from .keypoint_map_head import KeypointMapHead
from .latent_heatmap_head import LatentHeatmapHead
from .local_regression_head import LocalRegressionHead
from .structure_mask_head import StructureMaskHead

__all__ = [
    'BaseHead', 'BoneTreeHead', 'KeypointMapHead', 'LatentHeatmapHead',
    'LocalRegressionHead', 'StructureMaskHead'
]
