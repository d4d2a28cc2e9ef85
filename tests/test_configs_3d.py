"""Every 3D config builds; one forward at its input size has the paper's
shapes; the synthetic ones also run one loss step on their own samples."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.base import pipeline_steps
from handkit.datasets.collate import hand_collate
from handkit.evaluation.complexity import input_shape_from_config
from handkit.registry import DATASETS, METRICS, MODELS, TRANSFORMS

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'

LHR_BONES = {0: {'coords': (1, 21, 2), 'heatmaps': (1, 21, 128, 128)},
             1: {'bones': (1, 20, 3), 'keypoints_3d': (1, 21, 3)}}
# DetNet (Zhou et al.): heatmaps, delta maps and location maps at 32 x 32
DETNET = {0: {'heatmaps': (1, 21, 32, 32)},
          1: {'delta_maps': (1, 21, 3, 32, 32)},
          2: {'location_maps': (1, 21, 3, 32, 32)}}
# Cai et al.: the last CPM stage's heatmaps, the normalised 3D joints
CAI = {0: {-1: (1, 21, 32, 32)}, 1: {'joints_3d_normalized': (1, 21, 3)}}
# config -> (input (C, H, W), {head index: {output key (or -1 for the last
# stage of a list): shape}})
EXPECTED = {
    'cai/cai_stb.py': ((3, 256, 256), CAI),
    'cai/cai_rhd.py': ((3, 256, 256), CAI),
    'cai/cai_rhd_stb_weak.py': ((3, 256, 256), CAI),
    'cai/cai_synthetic.py': ((3, 128, 128), CAI),
    'cai/cai_weak10_synthetic.py': ((3, 128, 128), CAI),
    'cai/cai_depth2d_synthetic.py': ((3, 128, 128), CAI),
    'cai/cai_depth2d_frozen_regularizer_synthetic.py': ((3, 128, 128), CAI),
    'zhou/detnet_stb.py': ((3, 128, 128), DETNET),
    'zhou/detnet_rhd.py': ((3, 128, 128), DETNET),
    'zhou/detnet_synthetic.py': ((3, 128, 128), DETNET),
    'resunet/resunet34_lhr_bonetree_stb.py': ((3, 128, 128), LHR_BONES),
    'resunet/resunet34_lhr_bonetree_rhd.py': ((3, 128, 128), LHR_BONES),
    'resunet/resunet34_lhr_bonetree_synthetic.py': ((3, 128, 128),
                                                    LHR_BONES),
    'resunet/resunet34_structure_lhr_bonetree_synthetic.py': (
        (3, 128, 128), {0: {-1: (1, 7, 32, 32)}, 1: LHR_BONES[0],
                        2: LHR_BONES[1]}),
    'hourglass/local_regression_nyu.py': (
        (1, 128, 128), {0: {'joints_cube': (1, 36, 3)}}),
    'hourglass/local_regression_synthetic_depth.py': (
        (1, 128, 128), {0: {'joints_cube': (1, 21, 3)}}),
    'hourglass/hourglass_structure_kcm_synthetic_depth.py': (
        (1, 128, 128), {0: {-1: (1, 7, 32, 32)}, 1: {-1: (1, 21, 32, 32)}}),
}
SYNTHETIC = [name for name in EXPECTED if 'synthetic' in name]


def load(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    init_default_scope(cfg.default_scope)
    return cfg


def test_every_3d_config_is_listed():
    # iknet_*.py configs train with tools/train_iknet.py (tests/tools/
    # test_train_iknet.py)
    found = {str(path.relative_to(CONFIGS))
             for folder in ('cai', 'resunet', 'hourglass', 'zhou')
             for path in (CONFIGS / folder).glob('*.py')
             if not path.name.startswith('iknet_')}
    assert found == set(EXPECTED)


@pytest.mark.parametrize('name', [n for n in EXPECTED if 'detnet' in n])
def test_detnet_configs_state_one_codec_and_both_protocols(name):
    cfg = load(name)
    codec = cfg.train_dataloader.dataset.pipeline.targets.encoders.location
    heads = cfg.model.heads
    assert heads.heatmaps.codec == codec == heads.locations.codec
    assert [(m.type, m.get('prefix'), m.get('protocol'))
            for m in cfg.test_evaluator] == [
        ('Keypoint3DMetric', None, None),
        ('Keypoint3DMetric', 'zb', 'zimmermann_brox'),
        ('PCKMetric', None, None)]


def test_detnet_pipeline_names_a_missing_3d_label():
    cfg = load('zhou/detnet_synthetic.py')
    targets = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline.targets)
    results = dict(img_path='hand.png',
                   transformed_keypoints=np.full((21, 2), 64.0),
                   keypoints_visible=np.ones(21))
    with pytest.raises(KeyError, match="results have no 'keypoints_3d' "
                       r'\(needed by LocationMap; sample hand.png\)'):
        targets(results)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_config_builds_and_forward_has_the_expected_shapes(name):
    cfg = load(name)
    input_shape, expected = EXPECTED[name]
    assert input_shape_from_config(cfg) == input_shape
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset  # a ConcatDataset: each member's
        for member in dataset.get('datasets', [dataset]):
            for step in pipeline_steps(member.pipeline):
                TRANSFORMS.build(step)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, *input_shape), mode='tensor')
    assert len(outputs) == len(expected)
    for index, shapes in expected.items():
        for key, shape in shapes.items():
            assert tuple(outputs[index][key].shape) == shape, (index, key)


@pytest.mark.parametrize('name', SYNTHETIC)
def test_synthetic_config_trains_one_step_on_its_samples(name):
    torch.set_num_threads(1)
    cfg = load(name)
    loader = cfg.train_dataloader
    loader.dataset.update(num_samples=2, cache_dir=None)
    dataset = DATASETS.build(loader.dataset)
    samples = [dataset[index] for index in range(2)]
    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(hand_collate(samples), True)
    assert tuple(batch['inputs'].shape[1:]) == input_shape_from_config(cfg)
    losses = model(batch['inputs'], batch['data_samples'], mode='loss')
    assert all(torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()


def write_tiny_nyu(root, num_frames=2):
    """NYU's layout: test/joint_data.mat (y-up xyz) and RGB-encoded depth."""
    from handkit.datasets.nyu import NYU_CAMERA, NYU_JOINT_NAMES
    rng = np.random.default_rng(0)
    xyz = np.empty((3, num_frames, 36, 3))
    xyz[..., :2] = rng.uniform(-60, 60, (3, num_frames, 36, 2))
    xyz[..., 2] = rng.uniform(550, 650, (3, num_frames, 36))
    uvd = np.stack([NYU_CAMERA['cx'] + NYU_CAMERA['fx'] * xyz[..., 0] /
                    xyz[..., 2],
                    NYU_CAMERA['cy'] - NYU_CAMERA['fy'] * xyz[..., 1] /
                    xyz[..., 2], xyz[..., 2]], axis=-1)
    (root / 'test').mkdir(parents=True)
    scipy.io.savemat(str(root / 'test' / 'joint_data.mat'), dict(
        joint_uvd=uvd, joint_xyz=xyz,
        joint_names=np.array(NYU_JOINT_NAMES, dtype=object)))
    depth = np.zeros((480, 640, 3), np.uint8)
    depth[150:330, 220:420] = (600 % 256, 600 // 256, 0)  # a 600 mm slab
    for frame in range(1, num_frames + 1):
        cv2.imwrite(str(root / 'test' / f'depth_1_{frame:07d}.png'), depth)


def test_nyu_config_runs_from_files_to_the_nyu_metric(tmp_path):
    write_tiny_nyu(tmp_path)
    cfg = load('hourglass/local_regression_nyu.py')
    cfg.model.backbone.channels = 8
    cfg.model.heads.joints.update(in_channels=8, patch_dim=4, hidden=16)
    cfg.test_dataloader.dataset.data_root = str(tmp_path)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    samples = [dataset[index] for index in range(2)]
    assert samples[0]['inputs'].shape == (1, 128, 128)
    # the slab sits 600 - Z mm behind the cube centre Z (mean of 36 joints)
    meta = samples[0]['data_samples']['meta']
    assert samples[0]['inputs'][0, 64, 64].item() == pytest.approx(
        (600 - meta['cube_center'][2]) / 150, abs=1e-5)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        batch = model.data_preprocessor(hand_collate(samples), False)
        predictions = model(batch['inputs'], batch['data_samples'],
                            mode='predict')
    # the model regresses all 36 joints; the metric scores the protocol's 14
    assert predictions[0]['pred_keypoints_3d'].shape == (36, 3)
    metric = METRICS.build(cfg.test_evaluator[0])
    metric.dataset_meta = dataset.metainfo
    metric.process({}, predictions)
    metrics = metric.compute_metrics(metric.results)
    eval14 = [0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32]
    errors = [np.linalg.norm(p['pred_keypoints_3d'][eval14] -
                             p['gt_keypoints_3d'][eval14], axis=-1)
              for p in predictions]
    assert metrics['mean_error'] == pytest.approx(np.mean(errors))
    assert list(metrics)[1:] == [f'frames_within_{t}mm'
                                 for t in range(10, 90, 10)]
