"""Heads: features (+ the previous head's outputs) -> maps, losses, preds."""
from .keypoint_map_head import KeypointMapHead
from .structure_mask_head import StructureMaskHead

__all__ = ['KeypointMapHead', 'StructureMaskHead']
