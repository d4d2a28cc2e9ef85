"""Engine glue: hooks and safe checkpoint loading (see checkpoint.py)."""
from . import checkpoint  # noqa: F401  (routes mmengine's local loading)
from .hooks import *  # noqa: F401,F403
