"""Safe checkpoint loading (handkit/engine/checkpoint.py) and the checkpoint
hook that writes plain data atomically (hooks/safe_checkpoint_hook.py)."""
import os
from collections import deque

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub, MMLogger

from handkit.engine.checkpoint import (CheckpointMismatchError,
                                       CorruptCheckpointError,
                                       UnsafeCheckpointError,
                                       check_state_dict_fits,
                                       load_checkpoint_file, state_dict_of)
from handkit.engine.hooks import SafeCheckpointHook


class _RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_crafted_pickle_is_refused_plainly_and_runs_nothing(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpointError) as error:
        load_checkpoint_file(path)
    message = str(error.value)
    assert message.startswith(f'refused checkpoint {path}: it holds the '
                              'Python object(s) ')
    assert 'system' in message and 'nothing in it was executed' in message
    assert 'weights_only' not in message
    assert not marker.exists()


def test_legacy_pickle_refusal_is_one_plain_sentence(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'legacy.pth'
    torch.save({'payload': _RunsCode(marker)}, path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError) as error:
        load_checkpoint_file(path)
    message = str(error.value)
    assert message.startswith(f'refused checkpoint {path}: it holds the '
                              'Python object(s) posix.system')
    assert '\n' not in message and 'weights_only' not in message
    assert not marker.exists()


def test_executed_config_field_is_dropped(tmp_path):
    # mmengine's Runner.resume runs meta['config'] through
    # Config.fromstring, i.e. executes it as Python.
    marker = tmp_path / 'pwned'
    path = tmp_path / 'config_payload.pth'
    torch.save({'meta': {'epoch': 1, 'iter': 2, 'cfg': 'kept = 1',
                         'config': f"x = __import__('os').system("
                                   f"'touch {marker}')\n"},
                'state_dict': {'w': torch.ones(1)}}, path)
    loaded = load_checkpoint_file(path)
    assert loaded['meta'] == {'epoch': 1, 'iter': 2, 'cfg': 'kept = 1'}
    assert not marker.exists()


@pytest.mark.parametrize('content, reason', [
    (b'', 'is empty'),
    (b'hello, I am a text file\n', 'is not a PyTorch checkpoint'),
    ('truncated', 'cannot be read: the file is truncated or damaged'),
])
def test_corrupt_files_are_one_line(tmp_path, content, reason):
    path = tmp_path / 'bad.pth'
    if content == 'truncated':
        torch.save({'w': torch.ones(1000)}, path)
        content = path.read_bytes()[:2000]
    path.write_bytes(content)
    with pytest.raises(CorruptCheckpointError) as error:
        load_checkpoint_file(path)
    assert str(error.value) == f'checkpoint {path} {reason}'


def test_a_bare_tensor_or_a_url_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'tensor.pth'
    torch.save(torch.ones(3), path)
    with pytest.raises(CorruptCheckpointError,
                       match='holds a Tensor, not a checkpoint or state dict'):
        load_checkpoint_file(path)
    with pytest.raises(CorruptCheckpointError,
                       match='handkit loads local files and http'):
        load_checkpoint_file('ftp://example.com/model.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(tmp_path / 'nope.pth')


def test_non_integer_epoch_is_refused(tmp_path):
    path = tmp_path / 'epoch.pth'
    torch.save({'meta': {'epoch': '1; rm -rf /', 'iter': 2}}, path)
    with pytest.raises(CorruptCheckpointError,
                       match=r"meta\['epoch'\] is '1; rm -rf /', not an "
                       'integer'):
        load_checkpoint_file(path)


def test_state_dict_of_strips_ddp_prefix_and_refuses_non_tensors():
    weights = {'module.a': torch.ones(1), 'b': torch.zeros(2)}
    assert list(state_dict_of({'state_dict': weights}, 'x')) == ['a', 'b']
    assert list(state_dict_of(weights, 'x')) == ['a', 'b']
    with pytest.raises(CorruptCheckpointError, match='no state dict'):
        state_dict_of({'state_dict': {'a': 'text'}}, 'x.pth')


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


# -- SafeCheckpointHook ------------------------------------------------------
def test_hook_round_trips_the_message_hub_as_plain_data(tmp_path):
    buffer = HistoryBuffer([1.0, 2.0, 4.0], [1, 1, 2], max_length=10)
    checkpoint = dict(
        meta=dict(epoch=3, seed=np.int64(7)),
        state_dict={'w': torch.ones(2)},
        message_hub=dict(log_scalars={'train/loss': buffer},
                         runtime_info={'best_score': np.float64(0.5)},
                         resumed_keys={'train/loss': True}))
    hook = SafeCheckpointHook()
    hook.before_save_checkpoint(None, checkpoint)
    path = tmp_path / 'plain.pth'
    torch.save(checkpoint, path)
    # Loads with weights_only=True and no allowlisted global at all.
    loaded = load_checkpoint_file(path)
    assert type(loaded['meta']['seed']) is int
    assert type(loaded['message_hub']['runtime_info']['best_score']) is float
    hook.after_load_checkpoint(_FakeRunner(tmp_path), loaded)
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer)
    np.testing.assert_array_equal(restored.data[0], [1.0, 2.0, 4.0])
    assert restored.mean() == pytest.approx(buffer.mean())
    assert restored.max_length == 10


class _FakeRunner:
    """What SafeCheckpointHook uses of a Runner; save_checkpoint records the
    order of file operations and can fail half-way through a write."""

    def __init__(self, work_dir, fail_on=None):
        self.work_dir = str(work_dir)
        self.epoch, self.iter = 0, 0
        self.message_hub = MessageHub(f'hub{id(self)}')
        self.logger = MMLogger.get_instance(f'log{id(self)}')
        self.fail_on = fail_on

    def save_checkpoint(self, out_dir, filename, file_client_args=None,
                        **kwargs):
        path = os.path.join(out_dir, filename)
        if self.fail_on is not None and self.fail_on in filename:
            with open(path, 'wb') as file:
                file.write(b'PK\x03\x04 half a checkpoint')
            raise KeyboardInterrupt('killed during the write')
        torch.save({'meta': dict(epoch=self.epoch, iter=self.iter),
                    'state_dict': {'w': torch.full((1, ), self.epoch)}},
                   path)


def _saving_hook(tmp_path, runner, max_keep_ckpts=1):
    hook = SafeCheckpointHook(interval=1, max_keep_ckpts=max_keep_ckpts,
                              save_best='PCK_ave', rule='greater')
    hook.out_dir = runner.work_dir
    hook.file_backend = None  # before_train is not run here
    hook.keep_ckpt_ids = deque(maxlen=max_keep_ckpts)
    return hook


def _epoch(hook, runner, score):
    hook._save_checkpoint_with_step(runner, runner.epoch + 1,
                                    dict(epoch=runner.epoch + 1))
    runner.epoch += 1
    hook._save_best_checkpoint(runner, {'PCK_ave': score})


def test_a_kill_during_a_write_leaves_the_previous_checkpoints(tmp_path):
    runner = _FakeRunner(tmp_path)
    hook = _saving_hook(tmp_path, runner)
    _epoch(hook, runner, 0.5)
    assert sorted(os.listdir(tmp_path)) == [
        'best_PCK_ave_epoch_1.pth', 'epoch_1.pth', 'last_checkpoint']
    runner.fail_on = 'epoch_2'
    with pytest.raises(KeyboardInterrupt):
        _epoch(hook, runner, 0.9)
    # The previous checkpoint, the best one and last_checkpoint survive,
    # and no half-written file is left under a checkpoint's name.
    assert sorted(os.listdir(tmp_path)) == [
        'best_PCK_ave_epoch_1.pth', 'epoch_1.pth', 'last_checkpoint']
    last = (tmp_path / 'last_checkpoint').read_text()
    assert last == str(tmp_path / 'epoch_1.pth')
    assert load_checkpoint_file(last)['meta']['epoch'] == 1
    assert load_checkpoint_file(tmp_path / 'best_PCK_ave_epoch_1.pth')


def test_rotation_removes_the_outdated_only_after_writing(tmp_path):
    runner = _FakeRunner(tmp_path)
    hook = _saving_hook(tmp_path, runner, max_keep_ckpts=2)
    for score in (0.5, 0.9, 0.7):
        _epoch(hook, runner, score)
    assert sorted(os.listdir(tmp_path)) == [
        'best_PCK_ave_epoch_2.pth', 'epoch_2.pth', 'epoch_3.pth',
        'last_checkpoint']
    assert (tmp_path / 'last_checkpoint').read_text() == str(
        tmp_path / 'epoch_3.pth')
    assert runner.message_hub.get_info('keep_ckpt_ids') == [2, 3]


def test_foreign_paths_of_a_resumed_checkpoint_are_dropped(tmp_path):
    # mmengine's CheckpointHook deletes the stored best_ckpt path (rmtree for
    # a folder) when a better score comes: a crafted checkpoint could name
    # any file. Only best checkpoints in the hook's own folder are kept.
    victim = tmp_path / 'precious'
    victim.mkdir()
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    own = str(work_dir / 'best_PCK_ave_epoch_3.pth')
    for stored, kept in ((str(victim), False), (own, True),
                         (str(work_dir / 'epoch_3.pth'), False),
                         (str(work_dir / 'sub' / 'best_x.pth'), False)):
        checkpoint = {'message_hub': {'log_scalars': {}, 'runtime_info': {
            'best_ckpt': stored, 'keep_ckpt_ids': [1, '../../etc'],
            'best_score': 0.3}}}
        hook = SafeCheckpointHook(save_best='PCK_ave', rule='greater')
        hook.after_load_checkpoint(_FakeRunner(work_dir), checkpoint)
        info = checkpoint['message_hub']['runtime_info']
        assert ('best_ckpt' in info) == kept, stored
        assert 'keep_ckpt_ids' not in info and info['best_score'] == 0.3
    assert victim.exists()


def test_hook_removes_nothing_outside_its_folder(tmp_path):
    runner = _FakeRunner(tmp_path / 'work')
    os.makedirs(runner.work_dir)
    hook = _saving_hook(tmp_path, runner)
    victim = tmp_path / 'best_PCK_ave_epoch_9.pth'
    victim.write_text('not mine')
    hook.best_ckpt_path = str(victim)
    _epoch(hook, runner, 0.5)
    assert victim.read_text() == 'not mine'


def test_the_config_names_the_safe_runner_and_hook():
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(os.path.dirname(__file__), '..', '..',
                                       'configs', '_base_',
                                       'default_runtime.py'))
    assert cfg.runner_type == 'HandRunner'
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
