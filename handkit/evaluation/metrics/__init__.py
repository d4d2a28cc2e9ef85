from .keypoint3d_metric import (Keypoint3DMetric, NYUMetric, format_3d_table,
                                format_nyu_table)
from .mask_iou_metric import MaskIoUMetric
from .pck_metric import PCKMetric, format_pck_table
from .prediction_dump import PredictionDump

__all__ = [
    'Keypoint3DMetric', 'MaskIoUMetric', 'NYUMetric', 'PCKMetric',
    'PredictionDump',
    'format_3d_table', 'format_nyu_table', 'format_pck_table'
]
