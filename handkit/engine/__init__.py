"""Engine glue: the runner, hooks and safe checkpoint loading."""
from .hooks import *  # noqa: F401,F403
from .runner import HandRunner  # noqa: F401
