"""Bad images, unsafe init files and non-ONNX files are one line (exit 2),
found before anything is written where they can be; the work-dir lock dies
with the training (docs/reliability.md)."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from handkit.engine.outputs import work_dir_lock
from handkit.tools import test as test_tool
from handkit.tools import train
from tiny_setup import exit_code, write_nsrm_layout, write_tiny_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def tiny(tmp_path):
    write_nsrm_layout(tmp_path / 'data')
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data',
                               epochs=1)
    return tmp_path, config


class _RunsCode:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


@pytest.mark.parametrize('legacy', [False, True])
def test_a_pretrained_init_file_with_a_payload_is_one_line(tiny, legacy,
                                                           capsys):
    """``init_cfg=dict(type='Pretrained')`` reads the file as handkit does:
    refused in one line that never suggests weights_only=False."""
    root, config = tiny
    marker = root / 'marker'
    payload = root / 'imagenet.pth'
    torch.save(dict(weight=torch.zeros(2), extra=_RunsCode(marker)), payload,
               _use_new_zipfile_serialization=not legacy)
    child = root / 'child.py'
    child.write_text(f"_base_ = ['{config}']\nmodel = dict(init_cfg=dict("
                     f"type='Pretrained', checkpoint='{payload}'))\n")
    work = root / 'work'
    assert exit_code(train.main, [child, '--work-dir', work]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f'handkit: error: refused checkpoint {payload}: '
                          'it holds ')
    assert err.endswith('nothing in it was executed. Use a checkpoint saved '
                        'by handkit, or a state_dict of tensors saved with '
                        'torch.save.')
    assert '\n' not in err and 'weights_only=False' not in err
    assert not marker.exists() and not work.exists()


def test_a_pretrained_init_file_loads_through_handkit(tiny):
    """A plain state dict under ``init_cfg=dict(type='Pretrained')``
    initialises the weights, and ``prefix`` takes the weights under it
    (mmengine's PretrainedInit's contract)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from handkit.models.weight_init import SafePretrainedInit
    from handkit.registry import MODELS
    root, config = tiny
    cfg = Config.fromfile(str(config))
    init_default_scope('handkit')
    state = {key: value + 1.0 for key, value in
             MODELS.build(cfg.model).state_dict().items()
             if value.is_floating_point()}
    torch.save(state, root / 'estimator.pth')
    cfg.model.init_cfg = dict(type='Pretrained',
                              checkpoint=str(root / 'estimator.pth'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, state[key])
    backbone = MODELS.build(cfg.model).backbone
    SafePretrainedInit(str(root / 'estimator.pth'),
                       prefix='backbone')(backbone)
    for key, value in backbone.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, state[f'backbone.{key}'])


def test_bad_images_are_found_before_the_work_dir_by_default(tiny, capsys):
    root, config = tiny
    train_image = root / 'data' / 'imgs' / '0000.jpg'  # first of 'train'
    train_image.write_bytes(b'')
    work = root / 'work'
    assert exit_code(train.main, [config, '--work-dir', work]) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: train_dataloader: cannot decode image: '
        f'{train_image}')
    assert not work.exists()
    # tools/test.py checks the test split the same way
    shutil.copy(root / 'data' / 'imgs' / '0001.jpg', train_image)
    test_image = root / 'data' / 'imgs' / '0010.jpg'  # first of 'test'
    test_image.write_text('not an image')
    checkpoint = root / 'any.pth'
    checkpoint.write_bytes(b'')
    assert exit_code(test_tool.main, [config, checkpoint, '--work-dir',
                                      work]) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: test_dataloader: cannot decode image: '
        f'{test_image}')
    assert not work.exists()


def test_a_bad_image_past_the_first_checked_is_one_line(tiny, capfd):
    """With --check-data 0 (or an image past the first N) the data loader
    meets it while training: one line, exit 2, even from a worker."""
    root, config = tiny
    bad = root / 'data' / 'imgs' / '0003.jpg'
    bad.write_bytes(bad.read_bytes()[:200])  # truncated JPEG
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(config), '--work-dir',
         str(root / 'work'), '--check-data', '0', '--cfg-options',
         'train_dataloader.num_workers=1'], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f'handkit: error: cannot decode image: {bad}')
    assert 'Traceback' not in result.stderr


def test_a_file_that_is_not_onnx_is_one_line(tiny, capsys):
    root, config = tiny
    fake = root / 'model.onnx'
    fake.write_text('not a model')
    assert exit_code(test_tool.main, [
        config, fake, '--backend', 'onnxruntime', '--work-dir',
        root / 'work']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f'handkit: error: ONNX Runtime cannot load {fake}: ')
    assert '\n' not in err and not (root / 'work').exists()


_HOLD_WITH_A_WORKER = """
import os, sys, time
from handkit.engine.outputs import work_dir_lock
with work_dir_lock(sys.argv[1]):
    if os.fork() == 0:  # a data-loader worker: outlives a kill -9 briefly
        time.sleep(30)
        os._exit(0)
    print('locked', flush=True)
    time.sleep(60)
"""


def test_the_lock_dies_with_the_training_not_with_its_workers(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, '-c', _HOLD_WITH_A_WORKER, str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        children = subprocess.run(
            ['pgrep', '-P', str(holder.pid)], capture_output=True,
            text=True).stdout.split()
        assert len(children) == 1
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        start = time.monotonic()
        with work_dir_lock(str(tmp_path)):  # at once, the worker still alive
            os.kill(int(children[0]), 0)
            assert time.monotonic() - start < 1.0
    finally:
        for pid in children if 'children' in locals() else []:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        if holder.poll() is None:
            holder.kill()
