"""Engine glue: the runner, hooks, the autocast optimiser wrapper and safe
checkpoint loading."""
from .hooks import *  # noqa: F401,F403
from .optim_wrapper import AutocastOptimWrapper  # noqa: F401
from .runner import HandRunner  # noqa: F401
