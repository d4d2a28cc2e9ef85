"""init_model / inference on a real OneHand10K image with a tiny checkpoint."""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from handkit.apis import inference, init_model
from handkit.datasets.collate import hand_collate
from handkit.engine.checkpoint import (CheckpointMismatchError,
                                       UnsafeCheckpointError)
from handkit.geometry import get_warp_matrix
from handkit.registry import DATASETS

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / 'tests' / 'data' / \
    'onehand10k_coco' / '9.jpg'  # 238 x 358 (width x height)


@pytest.fixture(scope='module')
def trained(tiny_trained):
    return tiny_trained


@pytest.fixture(scope='module')
def model(trained):
    _, config, checkpoint = trained
    return init_model(config, checkpoint)


def test_init_model_loads_the_weights_in_eval_mode(trained, model):
    _, config, checkpoint = trained
    assert not model.training
    assert model.cfg.model.type == 'CascadeEstimator'
    saved = torch.load(checkpoint, weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_whole_image_inference(model):
    result = inference(model, str(IMAGE))
    assert result['keypoints'].shape == (21, 2)
    assert result['keypoints'].dtype == np.float32
    assert result['scores'].shape == (21, )
    # The whole image, padded to a 358-pixel square centred on the image.
    np.testing.assert_allclose(
        result['warp_mat'],
        get_warp_matrix((118.5, 178.5), 358.0, 0.0, (64, 64)), atol=1e-6)
    assert result['input_size'] == (64, 64)
    low, high = result['keypoints'].min(0), result['keypoints'].max(0)
    assert (low >= (118.5 - 179.5, -0.5)).all()
    assert (high <= (118.5 + 179.5, 357.5)).all()
    assert result['structure_maps'].shape == (7, 8, 8)  # G1G6 over 64 / 8
    assert result['heatmaps'].shape == (21, 8, 8)
    assert 0 <= result['structure_maps'].min() <= \
        result['structure_maps'].max() <= 1
    assert 'output_maps' not in model.test_cfg  # left as configured


def test_inference_matches_the_test_pipeline(model):
    """The same image through the dataset's test pipeline and the model's
    test step gives the same keypoints (tools/test.py's path)."""
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    sample = dataset[0]
    expected = model.test_step(hand_collate([sample]))[0]
    result = inference(model, sample['data_samples']['meta']['img_path'])
    np.testing.assert_allclose(result['keypoints'],
                               expected['pred_keypoints'], atol=1e-4)
    np.testing.assert_allclose(result['scores'], expected['pred_scores'],
                               atol=1e-6)


def test_array_and_path_give_the_same_result(model):
    from_path = inference(model, IMAGE)
    from_array = inference(model, cv2.imread(str(IMAGE)))
    for key in ('keypoints', 'scores', 'structure_maps', 'heatmaps'):
        np.testing.assert_array_equal(from_path[key], from_array[key])


def test_bbox_crops_a_square_of_1_25_times_its_longer_side(model):
    result = inference(model, IMAGE, bbox=(50, 100, 150, 250))
    # centre (100, 175), side 1.25 x 150 = 187.5
    np.testing.assert_allclose(
        result['warp_mat'],
        get_warp_matrix((100.0, 175.0), 187.5, 0.0, (64, 64)), atol=1e-6)
    half = 187.5 / 2 + 0.5
    assert (np.abs(result['keypoints'] - (100, 175)) <= half).all()


def test_bad_bbox_and_bad_image_are_clear_errors(model, tmp_path):
    with pytest.raises(ValueError, match=r'bbox \[300.0, 10.0, 400.0, 50.0\] '
                       r'lies outside the image of size 238 x 358'):
        inference(model, IMAGE, bbox=(300, 10, 400, 50))
    with pytest.raises(ValueError, match='needs x2 >= x1'):
        inference(model, IMAGE, bbox=(50, 100, 40, 250))
    with pytest.raises(ValueError, match='4 finite numbers'):
        inference(model, IMAGE, bbox=(50, 100, 150))
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    with pytest.raises(ValueError, match=f'cannot decode image: {text}'):
        inference(model, text)
    with pytest.raises(FileNotFoundError, match='image file not found'):
        inference(model, tmp_path / 'missing.jpg')
    with pytest.raises(ValueError, match=r'BGR uint8 \(H, W, 3\)'):
        inference(model, np.zeros((10, 10), np.uint8))


def test_foreign_and_unsafe_checkpoints_are_refused(trained, tmp_path):
    _, config, checkpoint = trained
    state_dict = torch.load(checkpoint, weights_only=True)['state_dict']
    state_dict.pop(next(iter(state_dict)))
    foreign = tmp_path / 'foreign.pth'
    torch.save({'state_dict': state_dict}, foreign)
    with pytest.raises(CheckpointMismatchError,
                       match='does not fit the model of this config'):
        init_model(config, foreign)
    unsafe = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': state_dict, 'args': argparse.Namespace()},
               unsafe)
    with pytest.raises(UnsafeCheckpointError,
                       match='argparse.Namespace'):
        init_model(config, unsafe)
    with pytest.raises(FileNotFoundError, match='config not found'):
        init_model(tmp_path / 'none.py')


def test_a_config_without_a_test_pipeline_is_one_line(trained):
    _, config, _ = trained
    model = init_model(config, cfg_options={'test_dataloader': None})
    with pytest.raises(ValueError, match=r'^inference runs the test pipeline '
                       r".*has no test_dataloader\.dataset\.pipeline$"):
        inference(model, IMAGE)


def test_a_3d_model_returns_its_3d_joints():
    sys.path.insert(0, str(ROOT / 'tests' / 'deploy'))
    from tiny_models import tiny_model  # the deployment tests' tiny DetNet
    result = inference(tiny_model('detnet'), str(IMAGE))
    assert result['keypoints'].shape == (21, 2)
    assert result['keypoints_3d'].shape == (21, 3)
    assert result['keypoints_3d'].dtype == np.float32
    assert result['keypoints_3d_normalized'].shape == (21, 3)
    # every map the estimator outputs, under the heads' names
    assert result['heatmaps'].shape == (21, 32, 32)
    assert result['delta_maps'].shape == (21, 3, 32, 32)
    assert result['location_maps'].shape == (21, 3, 32, 32)
    assert not any(key.startswith('pred_') for key in result)
    # the wrist-relative mm are the read-out in wrist -> middle-MCP bones
    np.testing.assert_allclose(result['keypoints_3d'],
                               result['keypoints_3d_normalized'] * 84.5,
                               rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="hand_side must be one of"):
        inference(tiny_model('detnet'), str(IMAGE), hand_side='up')


def test_a_one_side_model_gets_the_other_side_mirrored():
    """The paper DetNet is a left-hand model (its test pipeline's
    TopdownAffine(mirror_side='right')): inference mirrors a right hand's
    crop in, as the test pipeline does, and the 3D joints back out."""
    sys.path.insert(0, str(ROOT / 'tests' / 'deploy'))
    from tiny_models import tiny_model
    from handkit.apis.inference import prepare_inputs
    model = tiny_model('detnet')
    # detnet_synthetic is the paper's left-hand model, as detnet_rhd.py
    warp = model.cfg.test_dataloader.dataset.pipeline.warp
    assert warp.get('mirror_side') == 'right'
    image = cv2.imread(str(IMAGE))
    right = prepare_inputs(model, image, hand_side='right')
    left = prepare_inputs(model, image, hand_side='left')
    assert right['data_samples']['metas'][0]['hand_mirrored']
    assert 'hand_mirrored' not in left['data_samples']['metas'][0]
    # one grey level (1 / 57 after normalising) where bilinear rounding
    # differs between a warp and its mirror
    torch.testing.assert_close(right['inputs'], left['inputs'].flip(-1),
                               atol=0.02, rtol=0)
    # the mirrored image as a left hand: the same network input, so the
    # right hand's 3D joints are its mirror image
    as_right = inference(model, image, hand_side='right')
    as_left = inference(model, np.ascontiguousarray(image[:, ::-1]),
                        hand_side='left')
    np.testing.assert_allclose(as_right['keypoints_3d'],
                               as_left['keypoints_3d'] * [-1, 1, 1],
                               atol=1e-3)
