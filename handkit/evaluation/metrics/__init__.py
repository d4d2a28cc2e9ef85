from .keypoint3d_metric import (Keypoint3DMetric, NYUMetric, format_3d_table,
                                format_nyu_table)
from .mask_iou_metric import MaskIoUMetric
from .mesh_metric import MeshMetric
from .pck_metric import PCKMetric, format_pck_table
from .prediction_dump import PredictionDump

__all__ = [
    'Keypoint3DMetric', 'MaskIoUMetric', 'MeshMetric', 'NYUMetric',
    'PCKMetric',
    'PredictionDump',
    'format_3d_table', 'format_nyu_table', 'format_pck_table'
]
