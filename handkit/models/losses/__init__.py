"""Losses used by the heads."""
from .bone_l2 import BoneL2Loss
from .boukhayma import MaskDistanceLoss, SquaredDistanceLoss, SquaredNormLoss
from .combined import CombinedLoss
from .coord_l1 import CoordL1Loss
from .ge import (DepthMapL1Loss, EdgeLengthLoss, HeatmapL2Loss, LaplacianLoss,
                 NormalLoss, PseudoMeshLoss, VertexL2Loss)
from .heatmap_mse import HeatmapMSELoss
from .mask_cross_entropy import MaskCrossEntropyLoss
from .masked_map_l2 import MaskedMapL2Loss
from .max_out_smooth_l1 import MaxOutSmoothL1Loss
from .mediapipe import (BinaryCrossEntropyLoss, SigmoidFocalLoss,
                        WeightedHuberLoss, WeightedL1Loss)
from .quaternion_loss import QuaternionLoss
from .sample_weighted import (DepthL1Loss, JointL2Loss, ScaleAlignedXYLoss,
                              ScaleShiftAlignedLoss, UnitBoneLoss)
from .zimmermann_brox import (MeanSquaredErrorLoss, ScoreMapRMSLoss,
                              SegmentationCrossEntropyLoss)

__all__ = [
    'BinaryCrossEntropyLoss', 'BoneL2Loss', 'CombinedLoss', 'CoordL1Loss',
    'DepthL1Loss', 'DepthMapL1Loss', 'EdgeLengthLoss', 'HeatmapL2Loss',
    'HeatmapMSELoss', 'JointL2Loss', 'LaplacianLoss', 'MaskCrossEntropyLoss',
    'MaskDistanceLoss', 'MaskedMapL2Loss', 'MaxOutSmoothL1Loss',
    'MeanSquaredErrorLoss', 'NormalLoss', 'PseudoMeshLoss', 'QuaternionLoss',
    'ScaleAlignedXYLoss', 'ScaleShiftAlignedLoss', 'ScoreMapRMSLoss',
    'SegmentationCrossEntropyLoss', 'SigmoidFocalLoss', 'SquaredDistanceLoss',
    'SquaredNormLoss', 'UnitBoneLoss', 'VertexL2Loss', 'WeightedHuberLoss',
    'WeightedL1Loss'
]
