"""Deployment: ONNX export of an estimator and ONNX Runtime inference
and static int8 quantisation (docs/deployment.md). onnx and onnxruntime are
imported only when used."""
from .onnx_export import (DEFAULT_OPSET, NotExportableError,
                          UnsupportedOpError, export_onnx, find_op_caller)
from .onnxruntime_model import (OnnxModelMismatchError, OnnxRuntimeModel,
                                UnreadableOnnxError, create_session)
from .optional import MissingDependencyError, import_optional
from .parity import ATOL, check_parity, format_parity, parity_inputs
from .quantize import (CalibrationError, QuantizationRefusedError,
                       calibration_inputs, format_accuracy, int8_accuracy,
                       quantize_static_int8, recorded_inputs, refuse_dynamic)

__all__ = [
    'ATOL', 'DEFAULT_OPSET', 'CalibrationError', 'MissingDependencyError',
    'NotExportableError', 'OnnxModelMismatchError', 'OnnxRuntimeModel',
    'QuantizationRefusedError', 'UnreadableOnnxError', 'UnsupportedOpError',
    'calibration_inputs', 'check_parity', 'create_session', 'export_onnx',
    'find_op_caller', 'format_accuracy', 'format_parity', 'import_optional',
    'int8_accuracy', 'parity_inputs', 'quantize_static_int8',
    'recorded_inputs', 'refuse_dynamic'
]
