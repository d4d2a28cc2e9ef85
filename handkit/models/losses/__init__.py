"""Losses used by the heads."""
from .bone_l2 import BoneL2Loss
from .combined import CombinedLoss
from .coord_l1 import CoordL1Loss
from .heatmap_mse import HeatmapMSELoss
from .mask_cross_entropy import MaskCrossEntropyLoss
from .masked_map_l2 import MaskedMapL2Loss
from .max_out_smooth_l1 import MaxOutSmoothL1Loss
from .quaternion_loss import QuaternionLoss
from .sample_weighted import (DepthL1Loss, JointL2Loss, ScaleAlignedXYLoss,
                              ScaleShiftAlignedLoss, UnitBoneLoss)
from .zimmermann_brox import ScoreMapRMSLoss, SegmentationCrossEntropyLoss

__all__ = [
    'BoneL2Loss', 'CombinedLoss', 'CoordL1Loss', 'DepthL1Loss',
    'HeatmapMSELoss', 'JointL2Loss', 'MaskCrossEntropyLoss',
    'MaskedMapL2Loss', 'MaxOutSmoothL1Loss', 'QuaternionLoss',
    'ScaleAlignedXYLoss', 'ScaleShiftAlignedLoss', 'ScoreMapRMSLoss',
    'SegmentationCrossEntropyLoss', 'UnitBoneLoss'
]
