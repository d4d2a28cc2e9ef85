"""inference() on depth models, through their configs' own test pipelines
(LoadDepth -> DepthCubeCrop -> PackHandInputs), and the test-time steps of
every shipped config."""
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from handkit.apis import inference, init_model
from handkit.apis.inference import (CROP_STEPS, LOAD_STEPS, TARGET_STEPS,
                                    inference_steps, prepare_inputs)
from handkit.codecs.depth_cube import DepthCube
from handkit.datasets.base import config_input_size, pipeline_steps
from handkit.datasets.synthetic.renderer import render_hand
from handkit.engine.config import load_config_file
from handkit.geometry import (apply_affine, cube_window, invert_affine,
                              window_warp_matrix)

ROOT = Path(__file__).resolve().parents[2]
KCM_DEPTH = ROOT / 'configs/hourglass/hourglass_structure_kcm_synthetic_depth.py'
IMAGE = ROOT / 'tests/data/onehand10k_coco/9.jpg'
REGRESSION = ROOT / 'configs/hourglass/local_regression_synthetic_depth.py'
NYU = ROOT / 'configs/hourglass/local_regression_nyu.py'
# the steps of the shipped test pipelines (configs/**); a new one must be
# placed in inference()'s tables (CROP_STEPS ...) or read labels only
# where present, and then added here
KNOWN_TEST_STEPS = {'LoadImage', 'LoadDepth', 'HandCrop', 'MediaPipeHandROI',
                    'TopdownAffine', 'DepthCubeCrop', 'PackHandInputs'}


@pytest.fixture(scope='module')
def hand():
    """A rendered depth hand (160 x 120) with its depth rounded to whole mm,
    as a 16-bit PNG holds it, and the mean of its labelled joints."""
    sample = render_hand(3, image_size=(160, 120), modality='depth')
    labelled = sample['keypoints_visible'] > 0
    return dict(depth=np.round(sample['depth']).astype(np.uint16),
                cam_K=sample['cam_K'],
                center=sample['keypoints_3d'][labelled].mean(0))


@pytest.fixture(scope='module')
def kcm_model():
    """The structure + KCM head config on the depth hourglass, narrowed to
    8 channels; random weights."""
    return init_model(KCM_DEPTH, cfg_options={
        'model.backbone.channels': 8, 'model.heads.structure.in_channels': 8,
        'model.heads.keypoints.in_channels': 8})


@pytest.fixture(scope='module')
def regression_model():
    return init_model(REGRESSION, cfg_options={
        'model.backbone.channels': 8, 'model.heads.joints.in_channels': 8})


def test_a_depth_file_gives_keypoints_in_image_pixels(kcm_model, hand,
                                                      tmp_path):
    path = tmp_path / 'depth.png'
    cv2.imwrite(str(path), hand['depth'])
    result = inference(kcm_model, str(path), cam_K=hand['cam_K'],
                       cube_center=hand['center'])
    assert result['keypoints'].shape == (21, 2)
    assert result['keypoints'].dtype == np.float32
    assert result['scores'].shape == (21, )
    assert result['heatmaps'].shape == (21, 32, 32)
    assert result['structure_maps'].shape == (7, 32, 32)  # G1G6
    assert result['input_size'] == (128, 128)
    # the config's 300 mm cube around the given centre, in image pixels
    window = cube_window(hand['center'], 300.0, hand['cam_K'])
    np.testing.assert_allclose(result['warp_mat'], window_warp_matrix(
        window, (128, 128)), atol=1e-5)
    # the keypoints are the heat maps' peaks (input pixels) mapped back
    # through the inverse warp_mat: image pixels
    peaks = kcm_model.heads[-1].decode(
        {'heatmaps': result['heatmaps'][None]})['keypoints'][0]
    np.testing.assert_allclose(
        result['keypoints'],
        apply_affine(peaks, invert_affine(result['warp_mat'])), atol=1e-3)
    assert not np.allclose(result['keypoints'], peaks, atol=1.0)
    # the (H, W) array in mm is the same input as its file
    from_array = inference(kcm_model, hand['depth'], cam_K=hand['cam_K'],
                           cube_center=hand['center'])
    for key in ('keypoints', 'scores', 'heatmaps', 'structure_maps'):
        np.testing.assert_array_equal(from_array[key], result[key])


def test_a_depth_regression_model_returns_camera_frame_joints(
        regression_model, hand):
    result = inference(regression_model, hand['depth'].astype(np.float32),
                       cam_K=hand['cam_K'], cube_center=hand['center'])
    assert set(result) == {'joints_cube', 'keypoints_3d', 'warp_mat',
                           'input_size'}
    assert result['joints_cube'].shape == result['keypoints_3d'].shape == \
        (21, 3)
    np.testing.assert_allclose(
        result['keypoints_3d'],
        DepthCube.cube_to_camera(result['joints_cube'], hand['center'], 300.0),
        atol=1e-3)
    meta = prepare_inputs(regression_model, hand['depth'],
                          cam_K=hand['cam_K'], cube_center=hand['center'])[
                              'data_samples']['metas'][0]
    np.testing.assert_allclose(meta['cube_center'], hand['center'],
                               atol=1e-4)
    assert meta['cube_size'] == 300.0


def test_a_left_hand_is_mirrored_in_and_its_joints_back(regression_model,
                                                        hand):
    """local_regression_synthetic_depth.py mirrors left hands into its right
    hand model (DepthCubeCrop(mirror_side='left')): a left hand's joints
    are the mirror (camera x) of those predicted for the mirrored scene
    given as a right hand; here the principal point is moved to the
    image's centre column so that the mirrored scene is the flipped
    image."""
    depth = hand['depth'].astype(np.float32)
    cam_k = hand['cam_K'].copy()
    cam_k[0, 2] = (depth.shape[1] - 1) / 2
    mirror = np.array([-1.0, 1.0, 1.0])
    left = inference(regression_model, depth, hand_side='left', cam_K=cam_k,
                     cube_center=hand['center'])
    scene = inference(regression_model, depth[:, ::-1].copy(),
                      hand_side='right', cam_K=cam_k,
                      cube_center=hand['center'] * mirror)
    for key in ('keypoints_3d', 'joints_cube'):
        np.testing.assert_allclose(left[key], scene[key] * mirror, atol=1e-3)
    np.testing.assert_allclose(left['keypoints_3d'], DepthCube.cube_to_camera(
        left['joints_cube'], hand['center'], 300.0), atol=1e-3)
    unsided = inference(regression_model, depth, cam_K=cam_k,
                        cube_center=hand['center'])
    assert np.abs(unsided['keypoints_3d'] - left['keypoints_3d']).max() > 1


def test_nyu_reads_its_rgb_encoded_depth_through_its_loading_step(
        hand, tmp_path):
    model = init_model(NYU, cfg_options={
        'model.backbone.channels': 8, 'model.heads.joints.in_channels': 8,
        'model.heads.joints.patch_dim': 8, 'model.heads.joints.hidden': 16})
    depth = hand['depth']
    encoded = np.stack([depth % 256, depth // 256, np.zeros_like(depth)],
                       -1).astype(np.uint8)  # B = low, G = high byte
    path = tmp_path / 'depth_1_0000001.png'
    cv2.imwrite(str(path), encoded)
    from_file = inference(model, path, cam_K=hand['cam_K'],
                          cube_center=hand['center'])
    from_array = inference(model, depth, cam_K=hand['cam_K'],
                           cube_center=hand['center'])
    assert from_file['keypoints_3d'].shape == (36, 3)
    np.testing.assert_array_equal(from_file['keypoints_3d'],
                                  from_array['keypoints_3d'])


def test_depth_inputs_are_one_line_errors(regression_model, hand, tmp_path):
    depth, cam_k, center = hand['depth'], hand['cam_K'], hand['center']
    cases = [
        (dict(image=depth), r'needs cam_K, the \(3, 3\) intrinsics'),
        (dict(image=depth, cam_K=cam_k), 'and cube_center'),
        (dict(image=depth, cam_K=cam_k, cube_center=center,
              bbox=(0, 0, 10, 10)), 'crops a cube around cube_center, not '
         'a bbox'),
        (dict(image=np.zeros((12, 16, 3), np.uint8), cam_K=cam_k,
              cube_center=center), r'takes an \(H, W\) depth array in mm'),
        (dict(image=np.full((12, 16), np.nan), cam_K=cam_k,
              cube_center=center), r'finite and >= 0 mm'),
        (dict(image=depth, cam_K=np.eye(2), cube_center=center),
         r'cam_K must be the finite \(3, 3\) intrinsics'),
        (dict(image=depth, cam_K=cam_k, cube_center=(0, 0, -5)),
         'inference: cube_center: center depth must be positive'),
        (dict(image=depth, cam_K=cam_k, cube_center=(1, 2)),
         r'inference: cube_center: center must be a finite \(3,\) point'),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as error:
            inference(regression_model, **kwargs)
        assert '\n' not in str(error.value)
    text = tmp_path / 'notes.png'
    text.write_text('not a depth image')
    with pytest.raises(ValueError, match=f'cannot decode depth image: {text}'):
        inference(regression_model, text, cam_K=cam_k, cube_center=center)
    with pytest.raises(FileNotFoundError, match='depth file not found'):
        inference(regression_model, tmp_path / 'missing.png', cam_K=cam_k,
                  cube_center=center)


def test_an_rgb_model_refuses_depth_arguments(hand):
    # the arguments are checked before the model runs: its config suffices
    model = SimpleNamespace(cfg=load_config_file(str(
        ROOT / 'configs/quickstart/cpm_synthetic.py')))
    with pytest.raises(ValueError, match='cam_K and cube_center are for '
                       'depth models'):
        inference(model, str(IMAGE), cube_center=hand['center'])


def test_every_shipped_test_pipeline_runs_with_its_crop_replaced():
    """inference_steps over configs/**: the configured steps in order, the
    loading and target steps out, each label-reading crop replaced, every
    other step (TopdownAffine's mirror_side, input_size) as configured."""
    checked = 0
    for path in sorted((ROOT / 'configs').rglob('*.py')):
        if '_base_' in path.parts:
            continue
        cfg = load_config_file(str(path))
        # configs without a test pipeline of their own: those that only
        # train (IKNet), and dataset wrappers (HeldOutSplit)
        if not (cfg.get('test_dataloader') or {}).get('dataset', {}).get(
                'pipeline'):
            continue
        configured = pipeline_steps(cfg.test_dataloader.dataset.pipeline)
        assert {step['type'] for step in configured} <= KNOWN_TEST_STEPS, \
            path
        kept = [step for step in configured if step['type'] not in LOAD_STEPS
                and step['type'] not in TARGET_STEPS]
        built = inference_steps(cfg, 'bbox').transforms
        assert [type(step).__name__ for step in built] == [
            'HandCrop' if step['type'] in CROP_STEPS else step['type']
            for step in kept], path
        for step, config in zip(built, kept):
            name = type(step).__name__
            if name == 'HandCrop':
                assert (step.mode, step.padding) == ('bbox', 1.25), path
            elif name == 'DepthCubeCrop':
                assert step.center == 'center_3d', path
                assert step.cube_size == config['cube_size'], path
            elif name == 'TopdownAffine':
                assert step.mirror_side == config.get('mirror_side'), path
            if hasattr(step, 'input_size'):
                assert step.input_size == config_input_size(cfg), path
        checked += 1
    assert checked >= 40


def test_config_input_size_names_the_key():
    from mmengine.config import Config
    with pytest.raises(ValueError, match=r'^cannot tell the network input '
                       r'size: the config has no test_dataloader\.dataset\.'
                       r'pipeline$'):
        config_input_size(Config(dict(test_dataloader=None)))
    with pytest.raises(ValueError, match=r'no step of test_dataloader\.'
                       r'dataset\.pipeline states input_size'):
        config_input_size(Config(dict(test_dataloader=dict(dataset=dict(
            pipeline=[dict(type='TopdownAffine'),
                      dict(type='PackHandInputs')])))))
    assert config_input_size(Config(dict(test_dataloader=dict(dataset=dict(
        pipeline=dict(warp=dict(type='TopdownAffine', input_size=(64, 48)),
                      pack=dict(type='PackHandInputs'))))))) == (64, 48)
