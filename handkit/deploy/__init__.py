"""Deployment: ONNX export of an estimator, ONNX Runtime inference and
static int8 quantisation (docs/deployment.md). It imports torch, numpy and,
only when used, onnx and onnxruntime; the inputs it checks and calibrates
on (rendered hands, images, a split) are the tool's
(``handkit.tools.export_inputs``)."""
from .onnx_export import (DEFAULT_OPSET, NotExportableError,
                          UnsupportedOpError, export_onnx, find_op_caller)
from .onnxruntime_model import (OnnxModelMismatchError, OnnxRuntimeModel,
                                UnreadableOnnxError, create_session,
                                run_in_pieces)
from .optional import MissingDependencyError, import_optional
from .parity import ATOL, check_parity, format_parity
from .quantize import (CalibrationError, QuantizationRefusedError,
                       format_accuracy, int8_accuracy, quantize_static_int8,
                       recorded_inputs, refuse_dynamic)

__all__ = [
    'ATOL', 'DEFAULT_OPSET', 'CalibrationError', 'MissingDependencyError',
    'NotExportableError', 'OnnxModelMismatchError', 'OnnxRuntimeModel',
    'QuantizationRefusedError', 'UnreadableOnnxError', 'UnsupportedOpError',
    'check_parity', 'create_session', 'export_onnx', 'find_op_caller',
    'format_accuracy', 'format_parity', 'import_optional', 'int8_accuracy',
    'quantize_static_int8', 'recorded_inputs', 'refuse_dynamic',
    'run_in_pieces'
]
