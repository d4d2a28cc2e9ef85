"""The one base class of handkit's user errors.

A user error means "the input is wrong" (a config key, a data root, an
annotation, a checkpoint, an output path, a missing optional package):
its message is one line that names the file, key or value and what to do.
Every such error of handkit subclasses :class:`HandkitUserError`, wherever
it is defined (the registry, ``fileio``, the datasets, the engine, deploy,
the tools), usually beside the built-in error it also is (``ValueError``,
``FileNotFoundError``, ...), so that code catching those still does. The
tools' boundary, :func:`handkit.engine.errors.user_errors_exit`, prints it
without a traceback and exits 2; there is no list of classes to keep up.

This module imports nothing (every layer, the ground floor included,
subclasses it).
"""


class HandkitUserError(Exception):
    """Bad input, told in one line; the tools print it and exit 2."""
