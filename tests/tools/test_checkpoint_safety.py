"""Nothing in a checkpoint runs, at every entry point, and a kill during a
checkpoint write loses nothing (docs/reliability.md)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from handkit.apis import init_model

ROOT = Path(__file__).resolve().parents[2]


def run_tool(*args):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


@pytest.fixture()
def payloads(tiny_trained, tmp_path):
    """A real checkpoint whose meta['config'] runs code when executed (what
    mmengine's Runner.resume does with it), and one with a pickled call."""
    _, config, checkpoint = tiny_trained
    marker = tmp_path / 'pwned'
    loaded = torch.load(checkpoint, weights_only=True)
    loaded['meta']['config'] = (f"x = __import__('os').system('touch "
                                f"{marker}')\n")
    config_payload = tmp_path / 'config_payload.pth'
    torch.save(loaded, config_payload)
    pickle_payload = tmp_path / 'pickle_payload.pth'
    torch.save(dict(loaded, extra=_RunsCode(marker)), pickle_payload)
    return config, config_payload, pickle_payload, marker


def test_resume_explicit_and_auto_run_nothing(payloads, tmp_path):
    config, config_payload, _, marker = payloads
    result = run_tool('tools/train.py', config, '--work-dir',
                      tmp_path / 'explicit', '--resume', config_payload,
                      '--cfg-options', 'train_cfg.max_epochs=2')
    assert result.returncode == 0, result.stderr[-3000:]
    assert not marker.exists()
    # A planted last_checkpoint naming the file: resume with no path.
    planted = tmp_path / 'planted'
    planted.mkdir()
    (planted / 'last_checkpoint').write_text(str(config_payload))
    result = run_tool('tools/train.py', config, '--work-dir', planted,
                      '--resume', '--cfg-options', 'train_cfg.max_epochs=2')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resumed epoch: 1, iter: 2' in result.stdout + result.stderr
    assert not marker.exists()


def test_load_from_test_demo_and_init_model_run_nothing(payloads, tmp_path):
    config, config_payload, _, marker = payloads
    result = run_tool('tools/train.py', config, '--work-dir',
                      tmp_path / 'load_from', '--cfg-options',
                      f'load_from={config_payload}', 'train_cfg.max_epochs=1')
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_tool('tools/test.py', config, config_payload, '--work-dir',
                      tmp_path / 'test')
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_tool('tools/demo.py', config, config_payload, '--input',
                      ROOT / 'tests' / 'data' / 'onehand10k_coco' / '9.jpg',
                      '--out', tmp_path / 'demo')
    assert result.returncode == 0, result.stderr[-3000:]
    init_model(str(config), str(config_payload))
    assert not marker.exists()


def test_pickled_code_is_refused_in_one_line_everywhere(payloads, tmp_path):
    config, _, pickle_payload, marker = payloads
    image = ROOT / 'tests' / 'data' / 'onehand10k_coco' / '9.jpg'
    for args in (('tools/train.py', config, '--work-dir', tmp_path / 'w',
                  '--resume', pickle_payload),
                 ('tools/test.py', config, pickle_payload, '--work-dir',
                  tmp_path / 't'),
                 ('tools/demo.py', config, pickle_payload, '--input', image,
                  '--out', tmp_path / 'd')):
        result = run_tool(*args)
        assert result.returncode == 2, args
        assert 'Traceback' not in result.stderr
        error = [line for line in result.stderr.splitlines()
                 if line.startswith('handkit: error:')]
        assert error == [f'handkit: error: refused checkpoint '
                         f'{pickle_payload}: it holds the Python object(s) '
                         'posix.system, which a handkit checkpoint never '
                         'contains and whose loading could run code; nothing '
                         'in it was executed. Use a checkpoint saved by '
                         'handkit, or a state_dict of tensors saved with '
                         'torch.save.'], args
    assert not marker.exists()
    assert not (tmp_path / 'd').exists()


def test_a_resumed_best_path_outside_the_work_dir_is_not_deleted(
        payloads, tmp_path):
    # mmengine's CheckpointHook deletes the stored best_ckpt (rmtree for a
    # folder) when a better score comes.
    config, config_payload, _, _ = payloads
    victim = tmp_path / 'precious'
    victim.mkdir()
    (victim / 'thesis.tex').write_text('years of work')
    loaded = torch.load(config_payload, weights_only=True)
    loaded['message_hub']['runtime_info'].update(best_ckpt=str(victim),
                                                 best_score=-1.0)
    crafted = tmp_path / 'crafted.pth'
    torch.save(loaded, crafted)
    result = run_tool('tools/train.py', config, '--work-dir',
                      tmp_path / 'work', '--resume', crafted, '--cfg-options',
                      'train_cfg.max_epochs=2', 'train_cfg.val_interval=1')
    assert result.returncode == 0, result.stderr[-3000:]
    assert (victim / 'thesis.tex').read_text() == 'years of work'
    assert list((tmp_path / 'work').glob('best_PCK_ave_epoch_2.pth'))


# A training run that dies (os._exit, as a kill would) half-way through
# writing its epoch-2 checkpoint.
_KILLED_DURING_WRITE = """
import os, runpy, sys
import mmengine.runner.runner as runner_module
save = runner_module.save_checkpoint
def save_or_die(checkpoint, path, **kwargs):
    if checkpoint['meta']['epoch'] == 2:
        with open(path, 'wb') as file:
            file.write(b'PK half a checkpoint')
        os._exit(9)
    save(checkpoint, path, **kwargs)
runner_module.save_checkpoint = save_or_die
sys.argv = ['tools/train.py'] + sys.argv[1:]
runpy.run_path('tools/train.py', run_name='__main__')
"""


def test_a_kill_during_a_checkpoint_write_loses_nothing(tiny_trained,
                                                        tmp_path):
    # The default max_keep_ckpts=2 here; 1 in tests/engine/test_checkpoint.py.
    _, config, _ = tiny_trained
    work_dir = tmp_path / 'work'
    result = run_tool('-c', _KILLED_DURING_WRITE, config, '--work-dir',
                      work_dir, '--cfg-options', 'train_cfg.max_epochs=3',
                      'train_cfg.val_interval=1')
    assert result.returncode == 9
    names = sorted(path.name for path in work_dir.iterdir()
                   if path.suffix == '.pth' or path.name == 'last_checkpoint')
    # the killed write's hidden temporary (removed at the next start)
    temporary = [name for name in names if name.startswith('.')]
    assert len(temporary) == 1 and temporary[0].startswith('.epoch_2.pth.')
    assert [name for name in names if name not in temporary] == [
        'best_PCK_ave_epoch_1.pth', 'epoch_1.pth', 'last_checkpoint']
    last = (work_dir / 'last_checkpoint').read_text()
    assert last == str(work_dir / 'epoch_1.pth')
    result = run_tool('tools/test.py', config,
                      work_dir / 'best_PCK_ave_epoch_1.pth', '--work-dir',
                      tmp_path / 'test')
    assert result.returncode == 0, result.stderr[-3000:]


def test_resume_with_nothing_to_resume_stops(tiny_trained, tmp_path):
    _, config, _ = tiny_trained
    result = run_tool('tools/train.py', config, '--work-dir',
                      tmp_path / 'empty', '--resume')
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'handkit: error: --resume: no checkpoint to resume in '
        f"{tmp_path / 'empty'} (its 'last_checkpoint' file is missing); pass "
        'a checkpoint path, or use --auto-resume to start from scratch when '
        'there is none')
    assert not (tmp_path / 'empty').exists()
    result = run_tool('tools/train.py', config, '--work-dir',
                      tmp_path / 'fresh', '--auto-resume', '--cfg-options',
                      'train_cfg.max_epochs=1')
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / 'fresh' / 'epoch_1.pth').exists()


def test_resuming_a_checkpoint_of_another_model_is_one_line(tiny_trained,
                                                             tmp_path):
    _, config, checkpoint = tiny_trained
    result = run_tool('tools/train.py', config, '--work-dir',
                      tmp_path / 'other', '--resume', checkpoint,
                      '--cfg-options', 'model.backbone.width_multiplier=0.25')
    assert result.returncode == 2
    assert 'Traceback' not in result.stderr
    assert (f'handkit: error: checkpoint {checkpoint} does not fit the model '
            'of this config: ') in result.stderr
    assert not (tmp_path / 'other').exists()
