"""The tools never overwrite an input, never share a work dir, and stop with
one line (exit 2) on an output they cannot write (docs/reliability.md)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from handkit.engine import outputs
from handkit.tools import demo
from handkit.tools import test as test_tool
from handkit.tools import train
from tiny_setup import exit_code

ROOT = Path(__file__).resolve().parents[2]


def test_test_out_never_overwrites_the_checkpoint_or_config(
        tiny_trained, tmp_path, capsys):
    _, config, checkpoint = tiny_trained
    before = checkpoint.read_bytes(), config.read_text()
    for target in (checkpoint, config):
        assert exit_code(test_tool.main, [
            config, checkpoint, '--work-dir', tmp_path / 'work', '--out',
            target]) == 2
        assert capsys.readouterr().err.strip() == (
            f'handkit: error: the output {target} would overwrite the input '
            f'{target}; choose another --out')
    assert (checkpoint.read_bytes(), config.read_text()) == before
    assert not (tmp_path / 'work').exists()


def test_test_out_into_a_missing_folder_creates_it(tiny_trained, tmp_path):
    _, config, checkpoint = tiny_trained
    out = tmp_path / 'results' / 'deeper' / 'tiny.json'
    assert exit_code(test_tool.main, [
        config, checkpoint, '--work-dir', tmp_path / 'work', '--out',
        out]) == 0
    # COCO keypoint results (the metrics beside them)
    results = json.loads(out.read_text())
    assert results and {'image_id', 'category_id', 'keypoints',
                        'score'} == set(results[0])
    assert out.with_suffix('.metrics.json').is_file()


def test_test_out_that_is_a_folder_is_refused_first(tiny_trained, tmp_path,
                                                    capsys):
    _, config, checkpoint = tiny_trained
    assert exit_code(test_tool.main, [
        config, checkpoint, '--work-dir', tmp_path / 'work', '--out',
        tmp_path]) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: --out {tmp_path} is a folder; give a file name, '
        f"e.g. {tmp_path / 'results.json'}")


def test_read_only_work_dir_is_one_line(tiny_trained, tmp_path, capsys,
                                        monkeypatch):
    _, config, _ = tiny_trained
    locked = tmp_path / 'read_only'
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: see it as a user would
        real_access = os.access
        monkeypatch.setattr(outputs.os, 'access', lambda path, mode: (
            Path(path) != locked and real_access(path, mode)))
    try:
        for main, extra in ((train.main, []),
                            (test_tool.main, [tiny_trained[2]])):
            assert exit_code(main, [config, *extra, '--work-dir',
                                    locked / 'work']) == 2
            assert capsys.readouterr().err.strip() == (
                f"handkit: error: work dir {locked / 'work'} is read-only "
                f'({locked} cannot be written to create it)')
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


_HOLD_THE_LOCK = """
import sys, time
from handkit.engine.outputs import work_dir_lock
with work_dir_lock(sys.argv[1]):
    print('locked', flush=True)
    time.sleep(60)
"""


def test_a_second_training_in_the_same_work_dir_is_refused(
        tiny_trained, tmp_path, capsys):
    _, config, _ = tiny_trained
    work_dir = tmp_path / 'work'
    other = subprocess.Popen(
        [sys.executable, '-c', _HOLD_THE_LOCK, str(work_dir)], cwd=ROOT,
        stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1'))
    try:
        assert other.stdout.readline().strip() == 'locked'
        assert exit_code(train.main, [config, '--work-dir', work_dir]) == 2
        assert capsys.readouterr().err.strip() == (
            f'handkit: error: work dir {work_dir} is in use by another '
            f'training (pid {other.pid}); wait for it to end or choose '
            'another --work-dir')
        assert sorted(p.name for p in work_dir.iterdir()) == [
            '.handkit_train.lock']
    finally:
        other.kill()
        other.wait()
    # Released when its holder ends, however it ends.
    with outputs.work_dir_lock(str(work_dir)):
        assert (work_dir / '.handkit_train.lock').read_text().strip() == \
            str(os.getpid())


# A training whose keypoint loss turns NaN at its third iteration (epoch 2;
# 2 iterations per epoch of the tiny config).
_NAN_AT_ITERATION_3 = """
import runpy, sys
from handkit.models.heads.keypoint_map_head import KeypointMapHead
loss, calls = KeypointMapHead.loss, []
def nan_from_the_third(self, *args, **kwargs):
    calls.append(1)
    losses = loss(self, *args, **kwargs)
    if len(calls) >= 3:
        losses = {key: value * float('nan') for key, value in losses.items()}
    return losses
KeypointMapHead.loss = nan_from_the_third
sys.argv = ['tools/train.py'] + sys.argv[1:]
runpy.run_path('tools/train.py', run_name='__main__')
"""


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(
        tiny_trained, tmp_path):
    _, config, _ = tiny_trained
    work_dir = tmp_path / 'work'
    result = subprocess.run(
        [sys.executable, '-c', _NAN_AT_ITERATION_3, str(config),
         '--work-dir', str(work_dir), '--cfg-options',
         'train_cfg.max_epochs=3'], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 1, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('handkit: error:')]
    assert len(errors) == 1
    assert errors[0].startswith(
        'handkit: error: non-finite loss at iteration 3 (epoch 2): loss=nan')
    assert 'loss_kcm=nan' in errors[0]
    assert 'loss_structure_g1=' in errors[0]
    assert errors[0].endswith(
        f"training stopped and the last good checkpoint "
        f"{work_dir / 'epoch_1.pth'} is kept")
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'epoch_1.pth')
    assert not list(work_dir.glob('epoch_2*.pth'))


def _corrupt(kind, checkpoint, path):
    """A damaged checkpoint: empty, truncated, text, or a bare tensor."""
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'truncated':
        path.write_bytes(checkpoint.read_bytes()[:5000])
    elif kind == 'text':
        path.write_text('not a checkpoint\n')
    else:
        torch.save(torch.zeros(3), path)
    return path


@pytest.mark.parametrize('kind, reason', [
    ('empty', 'is empty'), ('truncated', 'the file is truncated or damaged'),
    ('text', 'is not a PyTorch checkpoint'), ('tensor', 'holds a Tensor')])
def test_a_corrupt_load_from_is_one_line_before_the_work_dir(
        tiny_trained, tmp_path, capsys, kind, reason):
    _, config, checkpoint = tiny_trained
    bad = _corrupt(kind, checkpoint, tmp_path / 'bad.pth')
    assert exit_code(train.main, [config, '--work-dir', tmp_path / 'work',
                                  '--cfg-options', f'load_from={bad}']) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'handkit: error: checkpoint {bad} ') and \
        reason in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / 'work').exists()


def test_a_corrupt_checkpoint_in_test_and_demo_is_one_line(
        tiny_trained, tmp_path, capsys):
    _, config, checkpoint = tiny_trained
    bad = _corrupt('truncated', checkpoint, tmp_path / 'bad.pth')
    image = ROOT / 'tests' / 'data' / 'onehand10k_coco' / '9.jpg'
    for main, args in ((test_tool.main, [config, bad, '--work-dir',
                                         tmp_path / 'work']),
                       (demo.main, [config, bad, '--input', image, '--out',
                                    tmp_path / 'demo'])):
        assert exit_code(main, args) == 2
        assert capsys.readouterr().err.strip() == (
            f'handkit: error: checkpoint {bad} cannot be read: the file is '
            'truncated or damaged')
    assert not (tmp_path / 'work').exists()


def test_a_ddp_prefixed_state_dict_is_tested_like_the_plain_one(
        tiny_trained, tmp_path):
    # DDP saves 'module.backbone...'; tools/test.py strips the prefix, as
    # mmengine's load_checkpoint does.
    _, config, checkpoint = tiny_trained
    weights = torch.load(checkpoint, weights_only=True)['state_dict']
    prefixed = tmp_path / 'ddp.pth'
    torch.save(dict(state_dict={f'module.{key}': value
                                for key, value in weights.items()}),
               prefixed)
    plain = test_tool.main([str(config), str(checkpoint), '--work-dir',
                            str(tmp_path / 'plain')])
    stripped = test_tool.main([str(config), str(prefixed), '--work-dir',
                               str(tmp_path / 'ddp')])
    assert stripped == plain
