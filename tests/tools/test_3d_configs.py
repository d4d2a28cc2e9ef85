"""A 3D config end to end through tools/train.py and tools/test.py: a tiny
synthetic depth hourglass trains for 3 iterations, then the test tool prints
the NYU and 3D tables and, with --speed, parameters, MACs and FPS."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TINY_3D_CONFIG = """
_base_ = ['{configs}/hourglass/local_regression_synthetic_depth.py']
model = dict(backbone=dict(channels=8, order=1),
             heads=dict(joints=dict(in_channels=8, feature_size=(8, 8),
                                    patch_grid=(2, 2), patch_dim=4,
                                    hidden=16)))
input_size = (32, 32)
pipeline = dict(cube=dict(input_size=input_size))
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(loader, batch_size=2, dataset=dict(
    num_samples=6, image_size=(64, 64), pipeline=pipeline, cache_dir=None))
val_dataloader = dict(loader, batch_size=2, dataset=dict(
    num_samples=2, image_size=(64, 64), pipeline=pipeline, cache_dir=None))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
log_processor = dict(window_size=1)
"""


def run_tool(*args):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_tiny_3d_training_then_test_prints_the_3d_tables_and_speed(
        tmp_path):
    config = tmp_path / 'tiny_depth.py'
    config.write_text(TINY_3D_CONFIG.format(configs=ROOT / 'configs'))
    work_dir = tmp_path / 'work'
    result = run_tool('tools/train.py', str(config), '--work-dir',
                      str(work_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work_dir / 'epoch_1.pth').is_file()

    result = run_tool('tools/test.py', str(config),
                      str(work_dir / 'epoch_1.pth'), '--work-dir',
                      str(tmp_path / 'test'), '--name', 'HG', '--speed')
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    nyu_header = next(line for line in lines
                      if line.startswith('model') and 'mean_error' in line)
    assert nyu_header.split() == ['model', 'mean_error(mm)', '10mm', '20mm',
                                  '30mm', '40mm', '50mm', '60mm', '70mm',
                                  '80mm']
    table_3d = next(index for index, line in enumerate(lines)
                    if line.startswith('model') and 'EPE_3D(mm)' in line)
    assert lines[table_3d].split() == [
        'model', 'EPE_3D(mm)', 'AUC_20-50', 'PCK3D@20mm', 'PCK3D@30mm',
        'PCK3D@40mm', 'PCK3D@50mm']
    row = lines[table_3d + 1].split()
    assert row[0] == 'HG' and float(row[1]) > 0
    assert re.search(r'mean-pose EPE_3D \d+\.\d\d mm \(oracle baseline\)',
                     result.stdout)
    assert re.search(r'^Params 0\.\d{3} M   MACs 0\.\d{3} G per 1x32x32 '
                     r'input$', result.stdout, re.M)
    assert re.search(r'^FPS \(cpu\) batch 1: \d+\.\d   batch 32: \d+\.\d$',
                     result.stdout, re.M)
