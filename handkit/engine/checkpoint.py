"""Safe checkpoint loading for torch >= 2.6 with mmengine 0.10.

Nothing in a checkpoint file runs. Two things could make it run:

* **pickled objects.** ``torch.load(weights_only=False)`` runs whatever a
  pickle's ``__reduce__`` names. handkit loads with ``weights_only=True`` and
  allowlists nothing (:data:`SAFE_GLOBALS` is empty): mmengine's message hub,
  the one non-builtin object in its checkpoints, is stored as plain data by
  :class:`handkit.engine.hooks.SafeCheckpointHook`. Allowlisting ``getattr``
  (which ``HistoryBuffer`` pickles) is never an option: chained attribute
  lookups reach any module, i.e. arbitrary code.
* **fields that mmengine executes.** ``Runner.resume`` passes
  ``meta['config']`` to ``Config.fromstring``, which runs it as Python.
  handkit never writes that field (mmengine saves the config text as
  ``meta['cfg']``, which nothing executes), so :func:`load_checkpoint_file`
  drops it from every file it loads.

:func:`load_checkpoint_file` is the one way handkit reads a checkpoint:
``tools/train.py`` (``--resume``, ``load_from``) through
:class:`handkit.engine.runner.HandRunner`, ``tools/test.py``,
``tools/demo.py`` and :func:`handkit.apis.init_model`. It reads local files
and http(s) URLs that carry the file's sha256 (downloaded once into
``$HANDKIT_HOME/checkpoints/``, :mod:`handkit.engine.download`), and gives
one plain sentence for a file it refuses or cannot read.
"""
import os.path as osp
import pickle
import re
import zipfile
from collections.abc import Mapping
from typing import Any, Callable, Union

import torch

from handkit.engine.download import download_checkpoint
from handkit.errors import HandkitUserError
from handkit.fileio import UnsafeFileError

# The exact non-builtin types a handkit checkpoint may hold (measured by
# saving one from a real training run and listing
# ``torch.serialization.get_unsafe_globals_in_checkpoint``): none beyond what
# ``weights_only`` already accepts, once the message hub is stored as plain
# data. Kept as a named list so a future type is added here, deliberately.
SAFE_GLOBALS: list = []

# Checkpoint fields that mmengine executes as code; handkit never writes
# them, and drops them when loading.
EXECUTED_META_FIELDS = ('config', )

_REMOTE = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')


class UnsafeCheckpointError(UnsafeFileError):
    """A checkpoint holds objects that handkit does not load."""


class CorruptCheckpointError(HandkitUserError, ValueError):
    """A file is not a readable checkpoint (empty, truncated, not one)."""


class CheckpointMismatchError(HandkitUserError, RuntimeError):
    """A checkpoint's weights do not fit the model built from the config."""


def _refusal(filename: str, error: Exception) -> UnsafeCheckpointError:
    """A plain sentence for a pickle that names a global handkit refuses."""
    try:
        offending = torch.serialization.get_unsafe_globals_in_checkpoint(
            filename)
    except Exception:  # a legacy (non-zip) file: read torch's message
        offending = re.findall(r'GLOBAL (\S+)', str(error))
    allowed = {f'{t.__module__}.{t.__qualname__}' for t in SAFE_GLOBALS}
    offending = [name for name in offending if name not in allowed]
    what = (f"the Python object(s) {', '.join(offending)}" if offending
            else 'pickled Python objects')
    return UnsafeCheckpointError(
        f'refused checkpoint {filename}: it holds {what}, which a handkit '
        'checkpoint never contains and whose loading could run code; '
        'nothing in it was executed. Use a checkpoint saved by handkit, or '
        'a state_dict of tensors saved with torch.save.')


def load_checkpoint_file(filename: Union[str, 'osp.PathLike'],
                         map_location: Union[str, torch.device,
                                             Callable] = 'cpu') -> dict:
    """Load a local checkpoint file, or one at an http(s) URL, safely.

    A URL must carry the file's sha256 (``#sha256=<hex>``, or torch.hub's
    ``name-<hex prefix>.pth``); it is downloaded into
    ``$HANDKIT_HOME/checkpoints/`` (once: a cached file whose hash matches
    is used) and then loaded as a local file
    (:func:`handkit.engine.download.download_checkpoint`).

    The file is read with ``weights_only=True`` (tensors and Python
    builtins only) and the fields that mmengine would execute
    (:data:`EXECUTED_META_FIELDS` of ``meta``) are dropped.

    Returns:
        The checkpoint dict: a handkit/mmengine checkpoint (``state_dict``,
        ``meta``, ...) or a plain state dict.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: it holds a pickled object outside
            :data:`SAFE_GLOBALS`; nothing in it was executed.
        CorruptCheckpointError: it is a URL of another scheme than http(s),
            empty, truncated, not a checkpoint, or holds something other
            than a dict.
        CheckpointDownloadError: a URL without a sha256, a download that
            does not match it, is too large, is redirected to another host,
            or fails (one line; nothing is kept).
    """
    filename = osp.expanduser(str(filename))
    if _REMOTE.match(filename):
        if not filename.lower().startswith(('http://', 'https://')):
            raise CorruptCheckpointError(
                f'checkpoint {filename}: handkit loads local files and '
                'http(s) URLs only; download it and pass the local path')
        filename = download_checkpoint(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    if osp.getsize(filename) == 0:
        raise CorruptCheckpointError(f'checkpoint {filename} is empty')
    with open(filename, 'rb') as file:
        # A zip archive (torch >= 1.6) or a pickle (the legacy format).
        looks_like_checkpoint = file.read(2) in (b'PK', b'\x80\x02')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=True)
    except Exception as error:
        if 'GLOBAL' in str(error) or (
                isinstance(error, pickle.UnpicklingError)
                and zipfile.is_zipfile(filename)):
            raise _refusal(filename, error) from None
        if not looks_like_checkpoint:
            raise CorruptCheckpointError(
                f'checkpoint {filename} is not a PyTorch checkpoint') from None
        raise CorruptCheckpointError(
            f'checkpoint {filename} cannot be read: the file is truncated or '
            'damaged') from None
    if not isinstance(checkpoint, Mapping):
        raise CorruptCheckpointError(
            f'checkpoint {filename} holds a {type(checkpoint).__name__}, not '
            'a checkpoint or state dict')
    return _drop_executed_fields(dict(checkpoint), filename)


def _drop_executed_fields(checkpoint: dict, filename: str) -> dict:
    meta = checkpoint.get('meta')
    if meta is None:
        return checkpoint
    if not isinstance(meta, Mapping):
        raise CorruptCheckpointError(
            f"checkpoint {filename}: 'meta' is a {type(meta).__name__}, not "
            'a dict')
    meta = {key: value for key, value in meta.items()
            if key not in EXECUTED_META_FIELDS}
    for key in ('epoch', 'iter'):
        if key in meta and (not isinstance(meta[key], int)
                            or isinstance(meta[key], bool)):
            raise CorruptCheckpointError(
                f"checkpoint {filename}: meta['{key}'] is {meta[key]!r}, "
                'not an integer')
    checkpoint['meta'] = meta
    return checkpoint


def state_dict_of(checkpoint: Mapping, filename: str) -> dict:
    """The model weights of a loaded checkpoint, ``module.`` prefixes off.

    Accepts a handkit/mmengine checkpoint (``state_dict`` key) or a plain
    state dict; anything whose values are not all tensors is refused.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping) or not all(
            isinstance(value, torch.Tensor) for value in state_dict.values()):
        raise CorruptCheckpointError(
            f'checkpoint {filename} holds no state dict of tensors (neither '
            "under 'state_dict' nor at the top level)")
    return {key[len('module.'):] if key.startswith('module.') else key: value
            for key, value in state_dict.items()}


def check_state_dict_fits(model: torch.nn.Module, state_dict: Mapping,
                          filename: str) -> None:
    """Raise :class:`CheckpointMismatchError` if the weights do not fit.

    mmengine only warns on missing keys or shape mismatches; for testing a
    model that is almost always a checkpoint of another config, so handkit
    stops with one message that says what differs. ``module.`` prefixes
    (DDP) are ignored.
    """
    state_dict = {key[len('module.'):] if key.startswith('module.') else key:
                  value for key, value in state_dict.items()}
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    wrong_shape = [
        f'{key} {tuple(state_dict[key].shape)} vs {tuple(value.shape)}'
        for key, value in expected.items()
        if key in state_dict and state_dict[key].shape != value.shape
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        for label, items in (('missing', missing), ('unexpected', unexpected),
                             ('shape mismatches', wrong_shape)):
            if items:
                parts.append(f'{len(items)} {label} (e.g. {items[0]})')
        raise CheckpointMismatchError(
            f'checkpoint {filename} does not fit the model of this config: '
            + '; '.join(parts)
            + '. It was probably trained with another config.')


def load_weights_into(model: torch.nn.Module, filename: str) -> Any:
    """Load a checkpoint's weights into ``model`` after checking they fit.

    What ``tools/test.py``, ``tools/demo.py`` and ``init_model`` do with a
    user's checkpoint; returns the loaded checkpoint dict.
    """
    checkpoint = load_checkpoint_file(filename)
    state_dict = state_dict_of(checkpoint, filename)
    check_state_dict_fits(model, state_dict, filename)
    model.load_state_dict(state_dict)
    return checkpoint
