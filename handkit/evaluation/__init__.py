"""Metrics: numpy functions in ``functional`` and mmengine metrics."""
from .metrics import *  # noqa: F401,F403
