"""What a tool may write: output files checked before anything runs, and
the work dir of a training held by one process at a time."""
import contextlib
import fcntl
import os
import os.path as osp
from typing import Iterable, Iterator, Sequence

from handkit.errors import HandkitUserError


class OutputError(HandkitUserError, ValueError):
    """An output path that would overwrite an input or cannot be written."""


class WorkDirInUseError(HandkitUserError, RuntimeError):
    """Another training holds the lock of the work dir."""


def _existing_ancestor(path: str) -> str:
    """``path`` or its nearest ancestor that exists."""
    path = osp.abspath(path)
    while not osp.exists(path):
        path = osp.dirname(path)
    return path


def check_writable_dir(path: str, what: str = 'work dir') -> None:
    """:class:`OutputError` unless folder ``path`` can be written (or
    created: its nearest existing ancestor is a writable folder)."""
    existing = _existing_ancestor(path)
    if not osp.isdir(existing):
        raise OutputError(f'{what} {path}: {existing} is a file, not a '
                          'folder')
    if not os.access(existing, os.W_OK | os.X_OK):
        shown = ('' if existing == osp.abspath(path) else
                 f' ({existing} cannot be written to create it)')
        raise OutputError(f'{what} {path} is read-only{shown}')


def check_output_file(path: str, inputs: Iterable[str],
                      overwrite: bool = False, option: str = '--out') -> str:
    """Check an output file before anything runs; return its absolute path.

    Refused (:class:`OutputError`): a path that is one of ``inputs`` (the
    config and its ``_base_`` files, the checkpoint, ...), even with
    ``overwrite``; an existing file unless ``overwrite``; an existing
    folder; one whose folder cannot be written. A missing folder is fine:
    the caller creates it (:func:`make_parent_dir`) once the other checks
    passed.
    """
    refuse_overwriting_inputs([path], inputs, option=option)
    if osp.isdir(path):
        raise OutputError(f'{option} {path} is a folder; give a file name, '
                          f'e.g. {osp.join(path, "results.json")}')
    if osp.lexists(path) and not overwrite:
        raise OutputError(f'{option} {path} exists; pass --overwrite to '
                          f'replace it, or choose another {option}')
    check_writable_dir(osp.dirname(osp.abspath(path)), f'folder of {option}')
    return osp.abspath(path)


def refuse_existing_outputs(outputs: Sequence[str], overwrite: bool,
                            option: str = '--out') -> None:
    """:class:`OutputError` naming the first of ``outputs`` that exists
    (and how many do), unless ``overwrite``."""
    existing = [path for path in outputs if osp.lexists(path)]
    if existing and not overwrite:
        more = (f' (and {len(existing) - 1} more)' if len(existing) > 1
                else '')
        raise OutputError(f'{option}: {existing[0]} exists{more}; pass '
                          '--overwrite to replace it, or choose another '
                          f'{option}')


def make_parent_dir(path: str) -> None:
    """Create the folder of the file ``path`` if it does not exist."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)


def refuse_overwriting_inputs(outputs: Iterable[str], inputs: Iterable[str],
                              option: str = '--out') -> None:
    """:class:`OutputError` when an output path is one of the inputs
    (compared as real paths, so links and ``./`` do not hide it)."""
    inputs = {osp.realpath(str(path)): str(path) for path in inputs}
    for output in outputs:
        if osp.realpath(str(output)) in inputs:
            raise OutputError(
                f'the output {output} would overwrite the input '
                f'{inputs[osp.realpath(str(output))]}; choose another '
                f'{option}')


def check_fresh_work_dir(work_dir: str, hint: str = (
        'pass --resume to continue it, --auto-resume, or another '
        '--work-dir')) -> None:
    """:class:`OutputError` when a training that starts from scratch would
    replace the checkpoints of an earlier one in ``work_dir``."""
    if not osp.isdir(work_dir):
        return
    found = sorted(name for name in os.listdir(work_dir)
                   if not name.startswith('.') and (
                       name.endswith('.pth') or name == 'last_checkpoint'))
    if found:
        shown = ', '.join(found[:3]) + (', ...' if len(found) > 3 else '')
        raise OutputError(f'work dir {work_dir} holds the checkpoints of an '
                          f'earlier training ({shown}); {hint}')


# Lock files held by this process: closed in a forked child (a data-loader
# worker), so that the lock ends with the process that took it.
_HELD_LOCKS: set = set()


def _close_held_locks_in_child() -> None:
    for file in list(_HELD_LOCKS):
        file.close()  # the child's copy only; no LOCK_UN, the parent keeps it
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_held_locks_in_child)


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[None]:
    """Hold an exclusive lock on ``work_dir`` while training.

    ``fcntl.flock`` on ``<work_dir>/.handkit_train.lock``, which holds the
    pid of the process that has it; the kernel releases it when the process
    ends, however it ends. A forked child (a data-loader worker) closes its
    copy of the file at once, so the lock never outlives the process that
    took it (a worker still shutting down after a ``kill -9`` of the
    training does not hold it). Only the first process of a distributed run
    locks (the others share the work dir with it).

    Raises:
        WorkDirInUseError: another process holds it (its pid is named).
    """
    if int(os.environ.get('RANK', '0')) != 0:
        yield
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, '.handkit_train.lock')
    file = open(path, 'a+')
    try:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            owner = file.read().strip() or 'unknown'
            raise WorkDirInUseError(
                f'work dir {work_dir} is in use by another training (pid '
                f'{owner}); wait for it to end or choose another '
                '--work-dir') from None
        file.seek(0)
        file.truncate()
        file.write(f'{os.getpid()}\n')
        file.flush()
        _HELD_LOCKS.add(file)
        yield
    finally:
        _HELD_LOCKS.discard(file)
        file.close()  # releases the lock
