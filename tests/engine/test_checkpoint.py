import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from handkit.engine.checkpoint import (CheckpointMismatchError,
                                       UnsafeCheckpointError,
                                       check_state_dict_fits,
                                       load_checkpoint_file)
from handkit.engine.hooks import PlainCheckpointHook


class _RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpointError,
                       match=r'refusing to load checkpoint .*evil\.pth: it '
                       r'holds .*system'):
        load_checkpoint_file(path)
    assert not marker.exists()


def test_mmengine_local_loading_goes_through_the_safe_loader(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'payload': _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(str(path))
    assert not marker.exists()


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(tmp_path / 'nope.pth')


def test_plain_hook_round_trips_the_message_hub(tmp_path):
    buffer = HistoryBuffer([1.0, 2.0, 4.0], [1, 1, 2], max_length=10)
    checkpoint = dict(
        meta=dict(epoch=3, seed=np.int64(7)),
        state_dict={'w': torch.ones(2)},
        message_hub=dict(log_scalars={'train/loss': buffer},
                         runtime_info={'best_score': np.float64(0.5)},
                         resumed_keys={'train/loss': True}))
    hook = PlainCheckpointHook()
    hook.before_save_checkpoint(None, checkpoint)
    path = tmp_path / 'plain.pth'
    torch.save(checkpoint, path)
    # Loads with weights_only=True and no allowlisted global at all.
    loaded = load_checkpoint_file(path)
    assert type(loaded['meta']['seed']) is int
    assert type(loaded['message_hub']['runtime_info']['best_score']) is float
    hook.after_load_checkpoint(None, loaded)
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer)
    np.testing.assert_array_equal(restored.data[0], [1.0, 2.0, 4.0])
    assert restored.mean() == pytest.approx(buffer.mean())
    assert restored.max_length == 10


def test_state_dict_of_another_model_is_a_clear_error():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3)).state_dict()
    with pytest.raises(CheckpointMismatchError,
                       match=r'does not fit .*2 shape mismatches \(e\.g\. '
                       r'0\.weight \(8, 3, 3, 3\) vs \(4, 3, 3, 3\)\)'):
        check_state_dict_fits(model, other, 'other.pth')
    renamed = {'x.' + key: value for key, value in model.state_dict().items()}
    with pytest.raises(CheckpointMismatchError, match='2 missing'):
        check_state_dict_fits(model, renamed, 'renamed.pth')
    check_state_dict_fits(model, {'module.' + k: v for k, v in
                                  model.state_dict().items()}, 'ddp.pth')
