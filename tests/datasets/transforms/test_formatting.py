"""PackHandInputs, and the whole pipeline on written and real images."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from handkit.datasets.transforms.formatting import PackHandInputs
from handkit.datasets.transforms.geometric import (HandCrop, RandomAffine,
                                                   TopdownAffine)
from handkit.datasets.transforms.loading import LoadImage
from handkit.datasets.transforms.photometric import PhotometricJitter
from handkit.registry import TRANSFORMS

PANOPTIC = Path(__file__).resolve().parents[2] / 'data' / 'panoptic_coco'
INPUT_SIZE = (368, 368)


# -- PackHandInputs ---------------------------------------------------------
def test_image_becomes_contiguous_chw_tensor_and_meta_is_copied():
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    results = {'img': img, 'img_path': 'a.jpg', 'img_id': 7,
               'ori_shape': (40, 50), 'bbox_size': 3.0,
               'targets': {'heatmaps': np.ones((21, 2, 2), np.float32)}}
    packed = PackHandInputs()(results)
    inputs = packed['inputs']
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 4, 5)
    assert inputs.is_contiguous()
    assert inputs[2, 3, 1] == img[3, 1, 2]  # channel, y, x
    targets = packed['data_samples']['targets']
    assert list(targets) == ['heatmaps']
    assert torch.equal(targets['heatmaps'], torch.ones(21, 2, 2))
    # Absent default keys and keys not asked for stay out.
    assert packed['data_samples']['meta'] == {
        'img_path': 'a.jpg', 'img_id': 7, 'ori_shape': (40, 50)}


def test_targets_empty_without_generate_targets_and_extra_meta_keys():
    packed = PackHandInputs(meta_keys=('bbox_size', ))(
        {'img': np.zeros((2, 2, 3), np.uint8), 'bbox_size': 3.0})
    assert packed['data_samples'] == {'targets': {},
                                      'meta': {'bbox_size': 3.0}}


def test_missing_image_is_refused():
    with pytest.raises(KeyError, match="no 'img' .*a.jpg"):
        PackHandInputs()({'img_path': 'a.jpg'})


def test_registered_and_repr():
    transform = TRANSFORMS.build(dict(type='PackHandInputs',
                                      meta_keys=['img_id']))
    assert repr(transform) == "PackHandInputs(meta_keys=('img_id',))"


# -- the whole pipeline -----------------------------------------------------
def _pipeline(augment):
    meta_keys = ('img_path', 'ori_shape', 'input_size', 'warp_mat',
                 'keypoints', 'keypoints_visible', 'transformed_keypoints')
    return Compose([
        LoadImage(),
        HandCrop(mode='keypoints', padding=2.2),
        RandomAffine(prob=1.0 if augment else 0.0),
        TopdownAffine(input_size=INPUT_SIZE),
        PhotometricJitter(prob=1.0 if augment else 0.0),
        PackHandInputs(meta_keys=meta_keys),
    ])


def _written_hand(tmp_path):
    path = tmp_path / 'hand.png'
    image = np.random.default_rng(0).integers(0, 256, (120, 160, 3),
                                              np.uint8)
    cv2.imwrite(str(path), image)
    rng = np.random.default_rng(1)
    keypoints = (rng.uniform([60, 40], [100, 70], (21, 2))).astype(np.float32)
    visible = np.ones(21, np.float32)
    visible[[5, 6]] = 0
    keypoints[[5, 6]] = 0  # unlabelled: coordinates meaningless
    return {'img_path': str(path), 'keypoints': keypoints,
            'keypoints_visible': visible, 'img_id': 1}


def _panoptic_hand():
    annotations = json.loads((PANOPTIC / 'test_panoptic.json').read_text())
    image = next(info for info in annotations['images']
                 if info['file_name'] == '005880453_01_r.jpg')
    annotation = next(ann for ann in annotations['annotations']
                      if ann['image_id'] == image['id'])
    keypoints = np.array(annotation['keypoints'], np.float32).reshape(21, 3)
    return {'img_path': str(PANOPTIC / image['file_name']),
            'img_id': image['id'], 'keypoints': keypoints[:, :2],
            'keypoints_visible': (keypoints[:, 2] > 0).astype(np.float32)}


def _check_packed(packed, sample, ori_shape):
    assert packed['inputs'].shape == (3, 368, 368)
    assert packed['inputs'].dtype == torch.uint8
    meta = packed['data_samples']['meta']
    assert meta['ori_shape'] == ori_shape
    assert meta['input_size'] == INPUT_SIZE
    warp_mat = meta['warp_mat']
    assert warp_mat.shape == (2, 3) and warp_mat.dtype == np.float32
    np.testing.assert_array_equal(meta['keypoints'], sample['keypoints'])
    expected = (sample['keypoints'].astype(np.float64) @
                warp_mat[:, :2].T.astype(np.float64) + warp_mat[:, 2])
    np.testing.assert_allclose(meta['transformed_keypoints'], expected,
                               atol=1e-3)
    return meta


def _check_labelled_box_fills_central_part(meta):
    labelled = meta['keypoints_visible'] > 0
    points = meta['transformed_keypoints'][labelled]
    low, high = points.min(axis=0), points.max(axis=0)
    assert (high - low).max() == pytest.approx(368 / 2.2, abs=1e-3)
    np.testing.assert_allclose((low + high) / 2, [183.5, 183.5], atol=1e-3)


@pytest.mark.parametrize('augment', [False, True])
def test_pipeline_on_written_image(tmp_path, augment):
    sample = _written_hand(tmp_path)
    np.random.seed(0)
    packed = _pipeline(augment)(dict(sample))
    meta = _check_packed(packed, sample, (120, 160))
    if not augment:
        _check_labelled_box_fills_central_part(meta)


def test_pipeline_on_real_panoptic_image():
    sample = _panoptic_hand()
    np.random.seed(0)
    meta = _check_packed(_pipeline(False)(dict(sample)), sample, (720, 1280))
    _check_labelled_box_fills_central_part(meta)
    np.random.seed(0)
    _check_packed(_pipeline(True)(dict(sample)), sample, (720, 1280))


def test_pipeline_built_from_config_names():
    pipeline = Compose([TRANSFORMS.build(cfg) for cfg in [
        dict(type='LoadImage'), dict(type='HandCrop'),
        dict(type='TopdownAffine', input_size=(64, 48)),
        dict(type='PackHandInputs')]])
    packed = pipeline(_panoptic_hand())
    assert packed['inputs'].shape == (3, 48, 64)
    assert packed['data_samples']['meta']['img_id'] == 100587
