"""Reading a user's file as data only, and writing a file without losing the
previous one.

Two promises of docs/reliability.md live here, each as one mechanism that
every reader and writer of handkit shares:

* **Nothing in a user's file runs.** :func:`load_data_pickle` reads a pickle
  (RHD's annotation file; MANO's model file) with an unpickler that resolves
  only the numpy globals a plain array pickle names (:data:`ARRAY_GLOBALS`)
  plus what its caller maps explicitly. Any other global (``os.system``,
  ``builtins.eval``, ``subprocess.Popen``, a class with a ``__reduce__``)
  stops the load in one line naming the file and the global, before
  anything is called.
* **Nothing is lost when a write fails.** :func:`atomic_output` gives the
  writer a hidden temporary path beside the target; only when the writer
  returns is the temporary flushed to disk (``fsync``) and renamed over the
  target. A kill, a full disk (``ENOSPC``) or any error leaves the previous
  file as it was and removes the temporary; a full disk is one line
  (:class:`DiskFullError`). Checkpoints, ``last_checkpoint``, the synthetic
  cache, results JSON, ONNX files and the demo's outputs are all written
  through it.

This module imports nothing of handkit but the user errors' base class
(:mod:`handkit.errors`, which imports nothing).
"""
import contextlib
import errno
import io
import os
import os.path as osp
import pickle
import re
import shutil
from typing import IO, Any, Dict, Iterator, Optional, Tuple

from handkit.errors import HandkitUserError

# The globals a pickle of plain numpy arrays names (numpy 1.x and 2.x
# spellings; ``_codecs.encode`` is how Python 3 pickles ``bytes`` at
# protocol 2). Each only builds an array, a dtype or a scalar of a dtype.
ARRAY_GLOBALS = frozenset({
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'),  # protocol 5
    ('numpy._core.numeric', '_frombuffer'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('_codecs', 'encode'),
})

# A temporary of :func:`atomic_output`: ``.<name>.<pid>.tmp[<suffix>]``,
# the target's suffix kept for writers that choose a format by it (OpenCV).
TEMPORARY_NAME = re.compile(r'\.(?P<name>.+)\.(?P<pid>\d+)\.tmp(\.[^.]+)?')


class UnsafeFileError(HandkitUserError, pickle.UnpicklingError):
    """A user's file holds something whose loading could run code."""


class DiskFullError(HandkitUserError, OSError):
    """A write ran out of space; the previous file is unchanged."""

    def __str__(self) -> str:
        return str(self.strerror)


class _DataUnpickler(pickle.Unpickler):
    """An unpickler that resolves only an allowlist of globals."""

    def __init__(self, file: IO[bytes], source: str,
                 allowed: Dict[Tuple[str, str], Any], **kwargs) -> None:
        super().__init__(file, **kwargs)
        self._source = source
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            target = self._allowed[(module, name)]
            return target if target is not None else super().find_class(
                module, name)
        raise UnsafeFileError(
            f'refused {self._source}: it holds the Python object '
            f'{module}.{name}, which this file never contains and whose '
            'loading could run code; nothing in it was executed')

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeFileError(f'refused {self._source}: it holds a '
                              'persistent reference, which this file never '
                              'contains; nothing in it was executed')


def load_data_pickle(path: str,
                     extra_globals: Optional[Dict[Tuple[str, str],
                                                  Any]] = None,
                     encoding: str = 'latin1') -> Any:
    """Load a pickle of plain data (dicts, lists, numbers, strings, numpy
    arrays) without running anything it names.

    Args:
        path: the file.
        extra_globals: ``{(module, name): replacement}`` for the caller's
            format (e.g. a chumpy array class mapped to a numpy stand-in);
            ``None`` as the replacement imports the real one (only for a
            global that merely builds data).
        encoding: how Python 2 ``str`` objects are decoded (``'latin1'``:
            numpy arrays pickled by Python 2 load as they were saved).

    Raises:
        UnsafeFileError: the pickle names a global outside
            :data:`ARRAY_GLOBALS` and ``extra_globals`` (one line naming the
            file and the global); nothing was called.
        ValueError: the file is not a readable pickle (empty, truncated).
    """
    allowed = dict.fromkeys(ARRAY_GLOBALS)
    allowed.update(extra_globals or {})
    with open(path, 'rb') as file:
        data = file.read()
    try:
        return _DataUnpickler(io.BytesIO(data), str(path), allowed,
                              encoding=encoding).load()
    except UnsafeFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, IndexError, KeyError, UnicodeDecodeError,
            MemoryError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(
            error).__name__
        raise ValueError(f'{path} is not a readable pickle ({reason})') \
            from None


def handkit_home() -> str:
    """Where handkit keeps what it downloads and converts:
    ``$HANDKIT_HOME``, else ``~/.cache/handkit`` (not created here)."""
    home = os.environ.get('HANDKIT_HOME') or osp.join('~', '.cache',
                                                      'handkit')
    return osp.abspath(osp.expanduser(home))


def _fsync_path(path: str) -> None:
    """Flush a file, or every file of a folder, and the folder itself."""
    if osp.isdir(path):
        for folder, _, names in os.walk(path):
            for name in names:
                _fsync_path(osp.join(folder, name))
        fsync_dir(path)
        return
    with open(path, 'rb') as file:
        os.fsync(file.fileno())


def fsync_dir(path: str) -> None:
    """Flush a folder's entries (a rename in it) to disk."""
    fd = os.open(path or '.', os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(path: str) -> str:
    """The hidden temporary beside ``path`` that this process writes (with
    ``path``'s suffix: ``clip.mp4`` -> ``.clip.mp4.<pid>.tmp.mp4``)."""
    folder, name = osp.split(osp.abspath(path))
    return osp.join(folder,
                    f'.{name}.{os.getpid()}.tmp{osp.splitext(name)[1]}')


def _remove(path: str) -> None:
    if osp.isdir(path) and not osp.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif osp.lexists(path):
        os.remove(path)


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC,
                                                          errno.EDQUOT)


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path to write ``path``'s new content to (a file or
    a folder); on return, flush it and rename it over ``path``.

    On any error (or a kill) ``path`` keeps its previous content, the
    temporary is removed (a killed writer's is removed by the next
    :func:`remove_stale_temporaries` of its folder), and a full disk is a
    :class:`DiskFullError` naming ``path``.
    """
    path = osp.abspath(str(path))
    temporary = temporary_path(path)
    _remove(temporary)
    try:
        yield temporary
        _fsync_path(temporary)
        if osp.isdir(temporary) and osp.isdir(path):
            _remove(path)  # a folder cannot be renamed over a full one
        os.replace(temporary, path)
        fsync_dir(osp.dirname(path))
    except OSError as error:
        if is_disk_full(error):
            raise DiskFullError(
                error.errno, f'no space left on the device while writing '
                f'{path}; the previous file (if any) is unchanged and the '
                'partial one was removed') from None
        raise
    finally:
        _remove(temporary)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'w') -> Iterator[IO]:
    """``open(path, mode)`` through :func:`atomic_output` (``'w'`` or
    ``'wb'``)."""
    with atomic_output(path) as temporary:
        with open(temporary, mode) as file:
            yield file
            file.flush()


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, 'w') as file:
        file.write(text)


def write_json(path: str, data: Any, **kwargs) -> None:
    """``json.dump(data)`` to ``path`` atomically."""
    import json
    with atomic_write(path, 'w') as file:
        json.dump(data, file, **kwargs)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: str) -> None:
    """Remove the temporaries of :func:`atomic_output` in ``folder`` whose
    writer no longer runs (a killed run's)."""
    if not osp.isdir(folder):
        return
    for name in os.listdir(folder):
        match = TEMPORARY_NAME.fullmatch(name)
        if match and not pid_alive(int(match['pid'])):
            _remove(osp.join(folder, name))
