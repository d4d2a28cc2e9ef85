"""Safe checkpoint loading for torch >= 2.6 with mmengine 0.10.

``torch.load`` now defaults to ``weights_only=True`` and refuses mmengine's own
objects: its message hub pickles ``HistoryBuffer`` (whose statistics pickle as
``getattr(HistoryBuffer, 'min')``) and numpy arrays. Allowlisting ``getattr``
would let a checkpoint reach any module through chained attribute lookups, so
handkit never does that, and never passes ``weights_only=False``. Instead:

* :class:`handkit.engine.hooks.PlainCheckpointHook` stores the message hub as
  plain lists, ints and floats when saving and rebuilds it when resuming, so a
  handkit checkpoint holds only tensors and Python builtins;
* :func:`load_checkpoint_file` loads with ``weights_only=True`` and allowlists
  only :data:`SAFE_GLOBALS`; anything else is refused with
  :class:`UnsafeCheckpointError` naming the file and the offending globals,
  and no code in the file runs;
* importing this module makes mmengine's local-file loader (used by
  ``load_from``, ``resume`` and ``load_checkpoint``) go through it.
"""
import os.path as osp
import pickle

import torch
from mmengine.runner.checkpoint import CheckpointLoader

# The exact non-builtin types a handkit checkpoint may hold (measured by
# saving one from a real training run and listing
# ``torch.serialization.get_unsafe_globals_in_checkpoint``): none beyond what
# ``weights_only`` already accepts, once the message hub is stored as plain
# data. Kept as a named list so a future type is added here, deliberately.
SAFE_GLOBALS = []


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that handkit does not load."""


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the model built from the config."""


def load_checkpoint_file(filename, map_location='cpu'):
    """Load a checkpoint file with ``weights_only=True``.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: it holds a global outside ``SAFE_GLOBALS``;
            nothing in it was executed.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        try:
            offending = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:  # not a zip checkpoint: fall back to torch's text
            offending = []
        allowed = {f'{t.__module__}.{t.__qualname__}' for t in SAFE_GLOBALS}
        offending = [name for name in offending if name not in allowed]
        what = ', '.join(offending) if offending else str(error).splitlines()[0]
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it holds {what}, which '
            'a handkit checkpoint never contains; loading it could run code, '
            'so nothing in it was executed. Use a checkpoint saved by '
            'handkit, or re-save trusted weights as a plain state_dict.'
        ) from None


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_local(filename, map_location):
    return load_checkpoint_file(filename, map_location)


def check_state_dict_fits(model, state_dict, filename):
    """Raise :class:`CheckpointMismatchError` if the weights do not fit.

    mmengine only warns on missing keys or shape mismatches; for testing a
    model that is almost always a checkpoint of another config, so handkit
    stops with one message that says what differs.
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
