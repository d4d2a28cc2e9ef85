"""The tools' error boundary: a user error is one line and exit code 2.

What counts as a user error is stated by the error itself: it subclasses
:class:`handkit.errors.HandkitUserError`, wherever it is defined. Beside
those, the operating system's own "the input is wrong" errors count: a
missing file or folder, a permission denied, a read-only or full file
system.
"""
import contextlib
import errno
import sys
from typing import Iterator

from handkit.errors import HandkitUserError

# OSError numbers of a file system that cannot take the output (beside a
# missing file and a denied permission: FileNotFoundError, PermissionError)
USER_ERRNOS = (errno.EROFS, errno.EACCES, errno.ENOSPC, errno.EDQUOT)


def is_user_error(error: BaseException) -> bool:
    """Whether ``error`` is bad input: a :class:`HandkitUserError`, or an
    ``OSError`` of a missing file, a denied permission or a read-only or
    full file system (:data:`USER_ERRNOS`; ``FileNotFoundError`` and
    ``PermissionError`` always)."""
    return isinstance(error, (HandkitUserError, FileNotFoundError,
                              PermissionError)) or (
        isinstance(error, OSError) and error.errno in USER_ERRNOS)


def user_message(error: BaseException) -> str:
    """The message of a user error. One re-raised from a data-loader worker
    carries the worker's traceback: its last line (the original message,
    without the exception's name) is what a user needs."""
    message = str(error)
    if 'Traceback (most recent call last)' not in message:
        return message
    last = message.strip().splitlines()[-1]
    name = f'{type(error).__module__}.{type(error).__qualname__}: '
    return last[len(name):] if last.startswith(name) else last


@contextlib.contextmanager
def user_errors_exit() -> Iterator[None]:
    """Print a user error (:func:`is_user_error`) as ``handkit: error:
    <message>`` (no traceback; :func:`user_message`) and exit with code 2;
    any other error propagates."""
    try:
        yield
    except (HandkitUserError, OSError) as error:
        if not is_user_error(error):
            raise
        print(f'handkit: error: {user_message(error)}', file=sys.stderr)
        sys.exit(2)
