"""Deployment: ONNX export of an estimator and ONNX Runtime inference
(docs/deployment.md). onnx and onnxruntime are imported only when used."""
from .onnx_export import (DEFAULT_OPSET, NotExportableError,
                          UnsupportedOpError, export_onnx, find_op_caller)
from .onnxruntime_model import (OnnxModelMismatchError, OnnxRuntimeModel,
                                UnreadableOnnxError, create_session)
from .optional import MissingDependencyError, import_optional
from .parity import ATOL, check_parity, format_parity, parity_inputs

__all__ = [
    'ATOL', 'DEFAULT_OPSET', 'MissingDependencyError', 'NotExportableError',
    'OnnxModelMismatchError', 'OnnxRuntimeModel', 'UnreadableOnnxError',
    'UnsupportedOpError',
    'check_parity', 'create_session', 'export_onnx', 'find_op_caller',
    'format_parity', 'import_optional', 'parity_inputs'
]
