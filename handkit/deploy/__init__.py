"""Deployment: ONNX export of an estimator, ONNX Runtime inference,
static int8 quantisation, and LiteRT inference of MediaPipe's architectures
(docs/deployment.md).

The package imports nothing at first: ``from handkit.deploy import
export_onnx`` loads :mod:`handkit.deploy.onnx_export` alone (torch, and onnx
when it runs), while :class:`OnnxRuntimeModel` brings mmengine and the
config's model registry with it. onnx and onnxruntime are imported only when
used. The inputs the tools check and calibrate on (rendered hands, images, a
split) are the tool's (``handkit.tools.export_inputs``).
"""
import importlib
from typing import Any

#: each public name -> the submodule that defines it (PEP 562 lazy exports)
_EXPORTS = {
    'backend_model': ('BackendModel', ),
    'litert_model': ('LiteRTModel', 'LiteRTModelMismatchError'),
    'onnx_export': ('DEFAULT_OPSET', 'NotExportableError',
                    'UnsupportedOpError', 'export_onnx', 'find_op_caller'),
    'onnxruntime_model': ('OnnxModelMismatchError', 'OnnxRuntimeModel',
                          'UnreadableOnnxError', 'create_session',
                          'run_in_pieces'),
    'optional': ('MissingDependencyError', 'import_optional'),
    'parity': ('ATOL', 'check_parity', 'format_parity'),
    'quantize': ('CalibrationError', 'QuantizationRefusedError',
                 'format_accuracy', 'int8_accuracy', 'quantize_static_int8',
                 'recorded_inputs', 'refuse_dynamic'),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items()
              for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute '
                             f'{name!r}')
    value = getattr(importlib.import_module(f'{__name__}.{module}'), name)
    globals()[name] = value  # the next access skips __getattr__
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
