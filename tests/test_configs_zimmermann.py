"""The Zimmermann & Brox configs (configs/zimmermann/): each builds and has
the paper's shapes at its input size, states each codec once, scores with
the three protocols (HandSegNet: the mask IoU), follows the authors'
training scripts on real data, and the synthetic ones run a loss step."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.base import pipeline_steps
from handkit.datasets.collate import hand_collate
from handkit.evaluation.complexity import input_shape_from_config
from handkit.registry import DATASETS, MODELS, TRANSFORMS

CONFIGS = Path(__file__).resolve().parents[1] / 'configs' / 'zimmermann'


def cascade(crop, maps):
    return (3, crop, crop), [
        [(1, 21, maps, maps)] * 3,
        {'canonical_keypoints': (1, 2, 21, 3), 'rotations': (1, 2, 3, 3)}]


# config -> (input (C, H, W), per head: the outputs' shapes)
EXPECTED = {
    'posenet_poseprior_rhd.py': cascade(256, 32),
    'posenet_poseprior_stb.py': cascade(256, 32),
    'posenet_poseprior_synthetic.py': cascade(128, 16),
    'handsegnet_rhd.py': ((3, 320, 320), [(1, 2, 320, 320)]),
    'handsegnet_synthetic.py': ((3, 128, 128), [(1, 2, 128, 128)]),
}


def load(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    init_default_scope(cfg.default_scope)
    return cfg


def shapes(outputs):
    if isinstance(outputs, torch.Tensor):
        return tuple(outputs.shape)
    if isinstance(outputs, dict):
        return {key: tuple(value.shape) for key, value in outputs.items()}
    return [tuple(stage.shape) for stage in outputs]


def test_every_config_is_listed():
    assert {path.name for path in CONFIGS.glob('*.py')} == set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_config_builds_with_the_paper_shapes(name):
    cfg = load(name)
    input_shape, expected = EXPECTED[name]
    assert input_shape_from_config(cfg) == input_shape
    for loader in ('train_dataloader', 'test_dataloader'):
        for step in pipeline_steps(cfg[loader].dataset.pipeline):
            TRANSFORMS.build(step)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, *input_shape), mode='tensor')
    assert [shapes(head) for head in outputs] == [
        expected_head if not isinstance(expected_head, list) else
        [tuple(shape) for shape in expected_head]
        for expected_head in expected]


@pytest.mark.parametrize('name', [n for n in EXPECTED if 'posenet' in n])
def test_cascade_states_each_codec_once_and_three_protocols(name):
    cfg = load(name)
    encoders = cfg.train_dataloader.dataset.pipeline.targets.encoders
    heads = cfg.model.heads
    assert encoders.scoremaps == heads.keypoints.codec == \
        heads.pose3d.score_codec
    assert encoders.canonical == heads.pose3d.codec
    assert heads.pose3d.train_inputs == 'targets'  # the paper's
    assert [(m.type, m.get('protocol'), m.get('from_normalized'))
            for m in cfg.test_evaluator] == [
        ('Keypoint3DMetric', None, None),
        ('Keypoint3DMetric', 'zimmermann_brox', True),
        ('PCKMetric', None, None)]


@pytest.mark.parametrize('name', ['posenet_poseprior_rhd.py',
                                  'posenet_poseprior_stb.py'])
def test_real_data_cascade_follows_their_training_script(name):
    cfg = load(name)
    assert cfg.model.heads.keypoints.codec.sigma == 25.0
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4)
    assert cfg.param_scheduler[0].milestones == [10000, 20000]
    assert cfg.train_cfg.max_iters == 30000
    prior = MODELS.build(cfg.model).heads[1]
    assert [layer.p for layer in prior.canonical.fcs
            if isinstance(layer, torch.nn.Dropout)] == [0.2, 0.2]
    assert [layer.p for layer in prior.view.fcs
            if isinstance(layer, torch.nn.Dropout)] == [0.25, 0.25]
    root = 'wrist' if 'stb' in name else 'palm'  # STB's joint 0: the palm
    assert cfg.model.heads.pose3d.codec.root == root


def test_real_data_handsegnet_follows_their_training_script():
    cfg = load('handsegnet_rhd.py')
    assert cfg.train_dataloader.dataset.with_masks
    assert cfg.test_dataloader.dataset.with_masks
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-5)
    assert cfg.train_cfg.max_iters == 40000
    assert cfg.train_dataloader.dataset.pipeline.color.hue == 0.1
    assert [m.type for m in cfg.test_evaluator] == ['MaskIoUMetric']


@pytest.mark.parametrize('name', [n for n in EXPECTED if 'synthetic' in n])
def test_synthetic_config_trains_one_step_on_its_samples(name):
    torch.set_num_threads(1)
    cfg = load(name)
    loader = cfg.train_dataloader
    loader.dataset.update(num_samples=2, cache_dir=None)
    dataset = DATASETS.build(loader.dataset)
    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(
        hand_collate([dataset[index] for index in range(2)]), True)
    losses = model(batch['inputs'], batch['data_samples'], mode='loss')
    assert all(torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()
