"""HandVisualizationHook: pictures of the first validation batch."""
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.collate import hand_collate
from handkit.engine.hooks.visualization_hook import HandVisualizationHook
from handkit.registry import DATASETS, HOOKS, MODELS
from handkit.visualization.visualizer import HandVisualizer
from tiny_setup import write_nsrm_layout, write_tiny_config

ROOT = Path(__file__).resolve().parents[2]
INPUT = 32  # network input side; the tiny images are 64 x 64


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny model (32 x 32 input, 4 x 4 maps) and a batch of 2 images."""
    root = tmp_path_factory.mktemp('hook')
    write_nsrm_layout(root / 'data')
    cfg = Config.fromfile(write_tiny_config(root / 'tiny.py', root / 'data'))
    cfg.model.heads.keypoints.decoder.update(input_size=(INPUT, INPUT),
                                             heatmap_size=(4, 4))
    cfg.val_dataloader.dataset.pipeline.warp.input_size = (INPUT, INPUT)
    init_default_scope('handkit')
    model = MODELS.build(cfg.model).eval()
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    return root, model, [dataset[0], dataset[1]]


def fake_runner(work_dir, model, epoch):
    visualizer = HandVisualizer(name=f'hook_test_{work_dir.name}_{epoch}',
                                vis_backends=[dict(type='LocalVisBackend')],
                                save_dir=str(work_dir))
    return SimpleNamespace(model=model, work_dir=str(work_dir), epoch=epoch,
                           visualizer=visualizer)


def validate(hook, runner, samples):
    """What mmengine's ValLoop does for one batch, hooks included."""
    batch = hand_collate(samples)
    hook.before_run(runner)
    outputs = runner.model.val_step(batch)
    hook.after_val_iter(runner, 0, batch, outputs)
    return outputs


def test_hook_draws_original_images_with_their_maps(tiny, tmp_path):
    _, model, samples = tiny
    runner = fake_runner(tmp_path, model, epoch=2)
    hook = HOOKS.build(dict(type='HandVisualizationHook', num_samples=4))
    outputs = validate(hook, runner, samples)
    # the validation's own predictions carry no maps; the model is untouched
    assert 'structure_maps' not in outputs[0]
    assert 'output_maps' not in model.test_cfg
    files = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert files == ['epoch_2_0.png', 'epoch_2_1.png']  # a batch of 2
    drawn = cv2.imread(str(tmp_path / 'vis' / 'epoch_2_0.png'))
    assert drawn.shape == (64, 64 + 4 + 64, 3)  # original image | overlay
    original = cv2.imread(samples[0]['data_samples']['meta']['img_path'])
    # ground truth (white) and prediction are drawn on the original image
    assert (drawn[:, :64] != original).any()
    assert ((drawn[:, :64] == 255).all(axis=2)).any()
    sent = tmp_path / 'vis_data' / 'vis_image' / 'val_sample_0_2.png'
    assert (cv2.imread(str(sent)) == drawn).all()


def test_hook_draws_on_the_network_input_without_an_image_file(tiny,
                                                               tmp_path):
    _, model, samples = tiny
    synthetic = []
    for sample in samples:
        meta = dict(sample['data_samples']['meta'],
                    img_path='synthetic://val/000000')
        synthetic.append(dict(sample, data_samples=dict(
            sample['data_samples'], meta=meta)))
    hook = HandVisualizationHook(num_samples=1, out_dir='pictures',
                                 draw_maps=False)
    validate(hook, fake_runner(tmp_path, model, epoch=0), synthetic)
    assert [p.name for p in (tmp_path / 'pictures').iterdir()] == \
        ['epoch_0_0.png']
    drawn = cv2.imread(str(tmp_path / 'pictures' / 'epoch_0_0.png'))
    assert drawn.shape == (INPUT, INPUT, 3)  # the input crop, no map panel


def test_hook_skips_epochs_off_the_interval(tiny, tmp_path):
    _, model, samples = tiny
    hook = HandVisualizationHook(interval=2)
    runner = fake_runner(tmp_path, model, epoch=3)
    batch = hand_collate(samples)
    hook.after_val_iter(runner, 0, batch, runner.model.val_step(batch))
    assert not (tmp_path / 'vis').exists()
    with pytest.raises(ValueError, match='interval must be an integer >= 1'):
        HandVisualizationHook(interval=0)


def test_hook_needs_the_hand_visualizer(tiny, tmp_path):
    from mmengine.visualization import Visualizer
    _, model, _ = tiny
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), epoch=1,
                             visualizer=Visualizer(name='plain_for_hook'))
    with pytest.raises(ValueError, match="set visualizer=dict\\(type="
                       "'HandVisualizer'"):
        HandVisualizationHook().before_run(runner)


def test_hook_in_a_real_training_run(tiny, tmp_path):
    root, _, _ = tiny
    config = tmp_path / 'with_hook.py'
    config.write_text(
        f"_base_ = ['{root / 'tiny.py'}']\n"
        "custom_imports = dict(imports=["
        "'handkit.engine.hooks.visualization_hook'])\n"
        "custom_hooks = [dict(type='HandVisualizationHook', num_samples=1)]\n"
        "train_cfg = dict(max_epochs=1, val_interval=1)\n")
    work_dir = tmp_path / 'work'
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(config), '--work-dir',
         str(work_dir)], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = cv2.imread(str(work_dir / 'vis' / 'epoch_1_0.png'))
    assert drawn.shape == (64, 132, 3)
    assert list(work_dir.glob('*/vis_data/vis_image/val_sample_0_1.png'))
