"""End to end through the command-line tools, on images the test writes."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tiny_setup import write_nsrm_layout, write_tiny_config

ROOT = Path(__file__).resolve().parents[2]


def run_tool(*args, env=None):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1', **(env or {})))


def logged_losses(work_dir):
    """Training losses in the order mmengine logged them."""
    scalars = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    records = [json.loads(line) for path in scalars
               for line in path.read_text().splitlines()]
    return [(r['iter'], r['loss']) for r in records if 'loss' in r]


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    write_nsrm_layout(root / 'data')
    config = write_tiny_config(root / 'tiny.py', root / 'data', epochs=3)
    work_dir = root / 'work'
    result = run_tool('tools/train.py', str(config), '--work-dir',
                      str(work_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return root, config, work_dir


def test_training_loss_is_finite_and_falls(tiny):
    _, _, work_dir = tiny
    losses = [loss for _, loss in logged_losses(work_dir)]
    assert len(losses) == 6  # 3 epochs x 2 iterations of batch 4
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    # Checkpoints hold only tensors and builtins: plain weights_only load.
    checkpoint = torch.load(work_dir / 'epoch_3.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 6


def test_test_tool_prints_the_pck_table_and_writes_results(tiny):
    root, config, work_dir = tiny
    out = root / 'results.json'
    result = run_tool('tools/test.py', str(config),
                      str(work_dir / 'epoch_3.pth'), '--work-dir',
                      str(root / 'test'), '--out', str(out), '--name', 'NSRM')
    assert result.returncode == 0, result.stderr[-3000:]
    header = next(line for line in result.stdout.splitlines()
                  if line.startswith('sigma_PCK'))
    assert header.split() == ['sigma_PCK', '0.04', '0.06', '0.08', '0.10',
                              '0.12', 'ave']
    row = next(line for line in result.stdout.splitlines()
               if line.startswith('NSRM'))
    # COCO keypoint results, the metrics in the sidecar file
    results = json.loads(out.read_text())
    assert len(results) == 2  # the test split
    assert sorted(results[0]) == ['category_id', 'image_id', 'keypoints',
                                  'score']
    assert results[0]['category_id'] == 1
    assert len(results[0]['keypoints']) == 21 * 3
    assert {r['image_id'] for r in results} == {'0010.jpg', '0011.jpg'}
    sidecar = json.loads((root / 'results.metrics.json').read_text())
    assert sidecar['results'] == str(out)
    assert sidecar['checkpoint'] == str(work_dir / 'epoch_3.pth')
    percent = [float(value) for value in row.split()[1:]]
    assert percent[-1] == pytest.approx(100 * sidecar['metrics']['PCK_ave'],
                                        abs=0.006)
    # --format handkit: today's schema, one file with the ground truth
    handkit_out = root / 'results_handkit.json'
    result = run_tool('tools/test.py', str(config),
                      str(work_dir / 'epoch_3.pth'), '--work-dir',
                      str(root / 'test'), '--out', str(handkit_out),
                      '--format', 'handkit')
    assert result.returncode == 0, result.stderr[-3000:]
    saved = json.loads(handkit_out.read_text())
    assert sorted(saved) == ['checkpoint', 'config', 'metrics',
                             'predictions']
    assert saved['metrics'] == sidecar['metrics']
    assert len(saved['predictions']) == 2
    assert len(saved['predictions'][0]['pred_keypoints']) == 21
    assert not (root / 'results_handkit.metrics.json').exists()
    # the COCO keypoints are the handkit predictions with their scores
    coco = {r['image_id']: r for r in results}
    for record in saved['predictions']:
        flat = coco[record['img_id']]['keypoints']
        assert flat[0::3] == pytest.approx(
            [x for x, _ in record['pred_keypoints']], abs=1e-3)
        assert flat[2::3] == pytest.approx(record['pred_scores'], abs=1e-3)


def test_test_tool_runs_in_bf16_and_says_what_runs(tiny):
    """--precision bf16: bfloat16 autocast where this CPU has it natively,
    else float32; one line says which, and the metrics stay close."""
    from handkit.models.precision import cpu_has_native_bfloat16
    root, config, work_dir = tiny
    metrics = {}
    for precision in ('fp32', 'bf16'):
        out = root / f'precision_{precision}.json'
        result = run_tool('tools/test.py', str(config),
                          str(work_dir / 'epoch_3.pth'), '--work-dir',
                          str(root / 'test'), '--out', str(out),
                          '--precision', precision)
        assert result.returncode == 0, result.stderr[-3000:]
        metrics[precision] = json.loads(
            (root / f'precision_{precision}.metrics.json').read_text()
        )['metrics']
    said = [line for line in (result.stdout + result.stderr).splitlines()
            if 'precision: ' in line]
    expected = ('bfloat16 autocast + channels-last on cpu'
                if cpu_has_native_bfloat16() else
                'float32 on cpu (bf16 asked')
    assert len(said) == 1 and expected in said[0]
    assert metrics['bf16']['EPE'] == pytest.approx(metrics['fp32']['EPE'],
                                                   abs=1.0)
    refused = run_tool('tools/test.py', str(config), 'model.onnx',
                       '--backend', 'onnxruntime', '--precision', 'bf16')
    assert refused.returncode == 2
    assert '--precision bf16 is for --backend pytorch' in refused.stderr


def test_resume_continues_from_the_saved_iteration(tiny):
    root, config, work_dir = tiny
    # As if the 3-epoch run had been killed: resume it for one more epoch.
    result = run_tool('tools/train.py', str(config), '--work-dir',
                      str(work_dir), '--resume', '--cfg-options',
                      'train_cfg.max_epochs=4')
    assert result.returncode == 0, result.stderr[-3000:]
    iterations = [it for it, _ in logged_losses(work_dir)]
    assert iterations == [1, 2, 3, 4, 5, 6, 7, 8]
    checkpoint = torch.load(work_dir / 'epoch_4.pth', weights_only=True)
    assert (checkpoint['meta']['epoch'], checkpoint['meta']['iter']) == (4, 8)


def test_missing_data_root_is_a_paragraph_and_writes_nothing(tmp_path):
    work_dir = tmp_path / 'work'
    result = run_tool('tools/train.py', 'configs/nsrm/lpm_g1g6_panoptic.py',
                      '--work-dir', str(work_dir), '--cfg-options',
                      f'train_dataloader.dataset.data_root={tmp_path}/none')
    assert result.returncode == 2
    assert 'Traceback' not in result.stderr
    assert 'PanopticHandDataset: data_root folder not found' in result.stderr
    assert 'hands_v143_14817.json' in result.stderr  # the expected layout
    assert 'train_dataloader.dataset.data_root' in result.stderr
    assert not work_dir.exists()


def test_unknown_type_and_foreign_checkpoint_are_clear_errors(tiny):
    root, config, work_dir = tiny
    result = run_tool('tools/train.py', str(config), '--work-dir',
                      str(root / 'unused'), '--cfg-options',
                      'model.backbone.type=VGG19CMP')
    assert result.returncode == 2
    assert ("unknown type 'VGG19CMP' in registry 'handkit::model'; closest "
            'registered: VGG19CPM') in result.stderr
    result = run_tool('tools/test.py', 'configs/cpm/cpm_panoptic.py',
                      str(work_dir / 'epoch_3.pth'), '--cfg-options',
                      'test_dataloader.dataset.type=NSRMHandDataset',
                      f'test_dataloader.dataset.data_root={root}/data')
    assert result.returncode == 2
    assert 'does not fit the model of this config' in result.stderr
    assert not (root / 'unused').exists()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_process_training_with_the_pytorch_launcher(tiny, tmp_path):
    root, config, _ = tiny
    work_dir = tmp_path / 'ddp'
    result = run_tool(
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={_free_port()}', 'tools/train.py', str(config),
        '--launcher', 'pytorch', '--work-dir', str(work_dir),
        '--cfg-options', 'train_cfg.max_epochs=1')
    assert result.returncode == 0, result.stderr[-3000:]
    # 8 training images, batch 4 per process, 2 processes: 1 iteration.
    assert [it for it, _ in logged_losses(work_dir)] == [1]
    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    assert not any(key.startswith('module.')
                   for key in checkpoint['state_dict'])
