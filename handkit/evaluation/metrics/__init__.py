from .pck_metric import PCKMetric, format_pck_table
from .prediction_dump import PredictionDump

__all__ = ['PCKMetric', 'PredictionDump', 'format_pck_table']
