"""Store mmengine's message hub as plain data in checkpoints.

See :mod:`handkit.engine.checkpoint` for why: with ``weights_only=True``
loading, a checkpoint may hold only tensors and Python builtins.
"""
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from handkit.registry import HOOKS


def _plain(value):
    """Numpy scalars / arrays -> Python numbers / lists, recursively."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Make saved checkpoints loadable with ``torch.load(weights_only=True)``.

    Before saving, each ``HistoryBuffer`` of the message hub becomes a dict of
    lists and numpy values become Python numbers; after loading (and before
    mmengine restores the message hub on resume) the buffers are rebuilt.
    """

    priority = 'VERY_LOW'  # after other hooks have added their entries

    def before_save_checkpoint(self, runner, checkpoint):
        hub = checkpoint.get('message_hub')
        if hub is not None:
            hub['log_scalars'] = {
                key: dict(
                    log_history=np.asarray(buffer._log_history).tolist(),
                    count_history=np.asarray(buffer._count_history).tolist(),
                    max_length=int(buffer.max_length))
                for key, buffer in hub['log_scalars'].items()
            }
            hub['runtime_info'] = _plain(hub['runtime_info'])
        checkpoint['meta'] = _plain(checkpoint.get('meta', {}))

    def after_load_checkpoint(self, runner, checkpoint):
        hub = checkpoint.get('message_hub')
        if hub is None:
            return
        hub['log_scalars'] = {
            key: value if isinstance(value, HistoryBuffer) else HistoryBuffer(
                value['log_history'], value['count_history'],
                value['max_length'])
            for key, value in hub['log_scalars'].items()
        }
