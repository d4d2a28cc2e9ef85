"""Every 3D config builds; one forward at its input size has the paper's
shapes; the synthetic ones also run one loss step on their own samples. The
DetNet and Zimmermann & Brox configs state each codec once and score with
their protocols (HandSegNet: the mask IoU); Zimmermann & Brox's on real data
follow the authors' training scripts."""
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


def zimmermann_cascade(crop, maps):
    """Zimmermann & Brox: PoseNet's three score-map stages, all of the
    PosePrior's outputs."""
    return (3, crop, crop), {
        0: {None: [(1, 21, maps, maps)] * 3},
        1: {None: {'canonical_keypoints': (1, 2, 21, 3),
                   'rotations': (1, 2, 3, 3)}}}


# config -> (input (C, H, W), {head index: {output key (-1: the last stage
# of a list; None: the whole output): shapes}})
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
    'zimmermann/posenet_poseprior_rhd.py': zimmermann_cascade(256, 32),
    'zimmermann/posenet_poseprior_stb.py': zimmermann_cascade(256, 32),
    'zimmermann/posenet_poseprior_synthetic.py': zimmermann_cascade(128, 16),
    'zimmermann/handsegnet_rhd.py': (
        (3, 320, 320), {0: {None: (1, 2, 320, 320)}}),
    'zimmermann/handsegnet_synthetic.py': (
        (3, 128, 128), {0: {None: (1, 2, 128, 128)}}),
}
SYNTHETIC = [name for name in EXPECTED if 'synthetic' in name]


def load(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    init_default_scope(cfg.default_scope)
    return cfg


def shapes(output):
    """A head output's shape: a tensor's, a list of its stages' or a dict of
    its keys'."""
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, dict):
        return {key: shapes(value) for key, value in output.items()}
    return [shapes(stage) for stage in output]


def test_every_3d_config_is_listed():
    # the side models, IKNet and the depth regulariser's pre-training, take
    # no images (tests/tools/test_side_models_train.py)
    side_models = {'zhou/iknet_synthetic.py',
                   'cai/cai_depth_regularizer_pretrain_synthetic.py'}
    found = {str(path.relative_to(CONFIGS))
             for folder in ('cai', 'resunet', 'hourglass', 'zhou',
                            'zimmermann')
             for path in (CONFIGS / folder).glob('*.py')}
    assert found == set(EXPECTED) | side_models


@pytest.mark.parametrize('name', [n for n in EXPECTED if 'detnet' in n])
def test_detnet_configs_state_one_codec_and_both_protocols(name):
    cfg = load(name)
    codec = cfg.train_dataloader.dataset.pipeline.targets.encoders.location
    heads = cfg.model.heads
    assert heads.heatmaps.decoder == codec == heads.locations.decoder
    preset = 'zhou_stb' if 'stb' in name else 'zhou_rhd'
    assert [(m.type, m.get('prefix'), m.get('protocol'))
            for m in cfg.test_evaluator] == [
        ('Keypoint3DMetric', None, None),
        ('Keypoint3DMetric', 'zhou', preset),
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


@pytest.mark.parametrize('name', [n for n in EXPECTED if 'resunet' in n])
def test_resunet_configs_decode_with_the_coordinate_codec(name):
    """The 2D head's decoder is the pipeline's IntegralCoordinates codec,
    so preflight compares the two (check_codecs)."""
    cfg = load(name)
    encoders = cfg.train_dataloader.dataset.pipeline.targets.encoders
    assert cfg.model.heads.keypoints2d.decoder == encoders.coords


@pytest.mark.parametrize('name', [n for n in EXPECTED if 'posenet' in n])
def test_cascade_states_each_codec_once_and_three_protocols(name):
    cfg = load(name)
    encoders = cfg.train_dataloader.dataset.pipeline.targets.encoders
    heads = cfg.model.heads
    assert encoders.scoremaps == heads.keypoints.decoder == \
        heads.pose3d.score_codec
    assert encoders.canonical == heads.pose3d.decoder
    assert heads.pose3d.train_inputs == 'targets'  # the paper's
    preset = ('zimmermann_brox_stb' if 'stb' in name
              else 'zimmermann_brox_rhd')
    assert [(m.type, m.get('protocol'), m.get('prefix'))
            for m in cfg.test_evaluator] == [
        ('Keypoint3DMetric', None, None),
        ('Keypoint3DMetric', preset, 'zb'),
        ('PCKMetric', None, None)]


@pytest.mark.parametrize('name', ['zimmermann/posenet_poseprior_rhd.py',
                                  'zimmermann/posenet_poseprior_stb.py'])
def test_real_data_cascade_follows_their_training_script(name):
    cfg = load(name)
    assert cfg.model.heads.keypoints.decoder.sigma == 25.0
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4)
    assert cfg.param_scheduler[0].milestones == [10000, 20000]
    assert cfg.train_cfg.max_iters == 30000
    prior = MODELS.build(cfg.model).heads[1]
    # dropout: defined in their network, never on in their training
    # (training_lifting.py:55; tests/models/test_zimmermann_brox.py)
    assert [layer.p for layer in prior.canonical.fcs
            if isinstance(layer, torch.nn.Dropout)] == [0.0, 0.0]
    assert [layer.p for layer in prior.view.fcs
            if isinstance(layer, torch.nn.Dropout)] == [0.0, 0.0]
    root = 'wrist' if 'stb' in name else 'palm'  # STB's joint 0: the palm
    assert cfg.model.heads.pose3d.decoder.root == root


def test_real_data_handsegnet_follows_their_training_script():
    cfg = load('zimmermann/handsegnet_rhd.py')
    assert cfg.train_dataloader.dataset.with_masks
    assert cfg.test_dataloader.dataset.with_masks
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-5)
    assert cfg.train_cfg.max_iters == 40000
    assert cfg.train_dataloader.dataset.pipeline.color.hue == 0.1
    assert [m.type for m in cfg.test_evaluator] == ['MaskIoUMetric']


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
    for index, selected in expected.items():
        for key, shape in selected.items():
            output = outputs[index] if key is None else outputs[index][key]
            assert shapes(output) == shape, (index, key)


@pytest.mark.parametrize('name', SYNTHETIC)
def test_synthetic_config_trains_one_step_on_its_samples(name,
                                                         fixed_threads):
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
