"""Optional dependencies of the deployment path (requirements/optional.txt):
one plain line when one is missing, never a traceback from deep inside."""
import importlib
from typing import Any


class MissingDependencyError(ImportError):
    """An optional package that a feature needs is not installed."""


def import_optional(package: str, feature: str) -> Any:
    """``import package``, or a :class:`MissingDependencyError` of one line
    naming the feature and the requirements file."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(
            f'{feature} needs {package}: pip install -r '
            'requirements/optional.txt') from None
