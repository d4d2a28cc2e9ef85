"""handkit: pluggable hand pose estimation on PyTorch and mmengine.

Importing ``handkit`` is light: the registries import models, datasets and
transforms lazily when a config first names them.
"""
from .version import __version__

__all__ = ['__version__']
