"""Optional dependencies (the extras of pyproject.toml): one plain line
naming the extra when one is missing, never a traceback from deep inside."""
import importlib
from typing import Any

from handkit.errors import HandkitUserError

#: the extra of pyproject.toml that installs each optional package
EXTRAS = {'onnx': 'onnx', 'onnxruntime': 'onnx', 'tensorboard':
          'tensorboard', 'tflite': 'mediapipe', 'flatbuffers': 'mediapipe',
          'ai_edge_litert': 'litert'}


def install_hint(package: str) -> str:
    """``pip install "handkit[EXTRA]"`` for an optional package (from a
    clone: ``pip install -e ".[EXTRA]"``)."""
    extra = EXTRAS.get(package)
    if extra is None:
        return f'pip install {package}'
    return (f'pip install "handkit[{extra}]" (from a clone: pip install -e '
            f'".[{extra}]")')


class MissingDependencyError(HandkitUserError, ImportError):
    """An optional package that a feature needs is not installed."""


def import_optional(package: str, feature: str) -> Any:
    """``import package``, or a :class:`MissingDependencyError` of one line
    naming the feature and the extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(
            f'{feature} needs {package}: {install_hint(package)}') from None
