from .depth_map_metric import DepthMapMetric
from .keypoint3d_metric import Keypoint3DMetric, NYUMetric
from .mask_iou_metric import MaskIoUMetric
from .mesh_metric import MeshMetric
from .pck_metric import PCKMetric, format_pck_table
from .prediction_dump import PredictionDump
from .rotation_metric import RotationMetric
from .table import (Column, MetricRows, TabulatedMetric,
                    format_metric_tables)

__all__ = [
    'DepthMapMetric', 'Keypoint3DMetric', 'MaskIoUMetric', 'MeshMetric',
    'NYUMetric', 'PCKMetric', 'PredictionDump', 'RotationMetric',
    'Column', 'MetricRows', 'TabulatedMetric', 'format_metric_tables',
    'format_pck_table'
]
