"""Tests of SyntheticHandDataset and tools/make_synthetic.py."""
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from handkit.datasets.synthetic.renderer import render_hand
from handkit.datasets.synthetic_dataset import (SyntheticHandDataset,
                                                sample_seed)
from handkit.registry import DATASETS
from handkit.skeleton import KEYPOINT_NAMES

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools',
                'make_synthetic.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('make_synthetic', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_length_and_metainfo():
    dataset = SyntheticHandDataset(num_samples=7, image_size=64)
    assert len(dataset) == 7
    assert dataset.metainfo['dataset_name'] == 'synthetic'
    assert dataset.metainfo['pck_thresholds'] == [0.04, 0.06, 0.08, 0.10,
                                                  0.12]
    assert len(SyntheticHandDataset(num_samples=0)) == 0


def test_data_info_contents():
    dataset = SyntheticHandDataset(num_samples=3, split='val', seed=4,
                                   image_size=(80, 64), occlusion=0.0)
    info = dataset[2]
    assert info['img_path'] == 'synthetic://val/000002'
    assert info['img_id'] == 2
    assert info['img'].shape == (64, 80, 3) and info['img'].dtype == np.uint8
    assert info['img_shape'] == info['ori_shape'] == (64, 80)
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints_3d'].shape == (21, 3)
    assert info['cam_K'].shape == (3, 3)
    assert info['occluded'].dtype == bool
    visible = info['keypoints_visible'] > 0
    labelled = info['keypoints'][visible]
    np.testing.assert_allclose(
        info['bbox'], np.concatenate([labelled.min(0), labelled.max(0)]))
    # The sample is render_hand of the documented seed.
    sample = render_hand(sample_seed(4, 'val', 2), (80, 64), 'rgb', 0.0)
    np.testing.assert_array_equal(info['img'], sample['image'])
    np.testing.assert_array_equal(info['keypoints'], sample['keypoints'])


def test_splits_are_disjoint_and_deterministic():
    seeds = {
        split: [info['sample_seed'] for info in SyntheticHandDataset(
            num_samples=200, split=split).load_data_list()]
        for split in ('train', 'val', 'test')
    }
    everything = sum(seeds.values(), [])
    assert len(set(everything)) == 600
    images = {
        split: SyntheticHandDataset(num_samples=2, split=split,
                                    image_size=48)[1]['img']
        for split in ('train', 'val', 'test')
    }
    assert not np.array_equal(images['train'], images['val'])
    assert not np.array_equal(images['val'], images['test'])
    again = SyntheticHandDataset(num_samples=2, split='val', image_size=48)
    np.testing.assert_array_equal(again[1]['img'], images['val'])
    other_seed = SyntheticHandDataset(num_samples=2, split='val', seed=1,
                                      image_size=48)
    assert not np.array_equal(other_seed[1]['img'], images['val'])


def test_depth_modality():
    info = SyntheticHandDataset(num_samples=1, modality='depth',
                                image_size=64)[0]
    assert 'img' not in info
    depth = info['depth']
    assert depth.dtype == np.float32 and depth.shape == (64, 64)
    assert (depth == 0).any() and (depth > 0).any()
    assert depth.min() == 0.0
    assert info['depth_path'] == 'synthetic://train/000000'


def test_rgb_with_depth_gives_the_same_hand_in_both():
    plain = SyntheticHandDataset(num_samples=2, image_size=64)
    both = SyntheticHandDataset(num_samples=2, image_size=64,
                                with_depth=True)
    depth_only = SyntheticHandDataset(num_samples=2, image_size=64,
                                      modality='depth')
    for index in range(2):
        np.testing.assert_array_equal(both[index]['img'], plain[index]['img'])
        np.testing.assert_array_equal(both[index]['depth'],
                                      depth_only[index]['depth'])
        # the depth covers the hand mask (the forearm and occluders too)
        assert (both[index]['depth'][both[index]['hand_mask']] > 0).all()
    assert 'depth' not in plain[0]


def test_hand_side_follows_left_ratio():
    sides = {ratio: {SyntheticHandDataset(num_samples=6, image_size=32,
                                          left_ratio=ratio)[i]['hand_side']
                     for i in range(6)} for ratio in (0.0, 1.0)}
    assert sides == {0.0: {'right'}, 1.0: {'left'}}
    mixed = [SyntheticHandDataset(num_samples=40, image_size=32)[i][
        'hand_side'] for i in range(40)]
    assert 10 < mixed.count('left') < 30


def test_pipeline_receives_rendered_sample_and_registry_builds():
    dataset = DATASETS.build(dict(
        type='SyntheticHandDataset', num_samples=2, image_size=32,
        pipeline=[lambda results: dict(shape=results['img'].shape,
                                       path=results['img_path'])]))
    assert dataset[1] == dict(shape=(32, 32, 3),
                              path='synthetic://train/000001')


@pytest.mark.parametrize('kwargs, match', [
    (dict(modality='foo'), 'modality'),
    (dict(num_samples=-1), 'num_samples'),
    (dict(image_size=0), 'image_size'),
    (dict(occlusion=-0.1), 'occlusion'),
    (dict(split='dev'), 'split'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticHandDataset(**kwargs)


def test_make_synthetic_writes_coco_files(tmp_path, capsys):
    tool = _load_tool()
    tool.main(['--out', str(tmp_path), '--num', '3', '--split', 'val',
               '--seed', '2', '--image-size', '64', '--occlusion', '0.5',
               '--depth'])
    assert '3/3 samples written' in capsys.readouterr().out
    coco = COCO(str(tmp_path / 'annotations' / 'synthetic_val.json'))
    assert sorted(coco.getImgIds()) == [0, 1, 2]
    category = coco.loadCats(1)[0]
    assert category['keypoints'] == list(KEYPOINT_NAMES)
    assert category['skeleton'][:2] == [[1, 2], [2, 3]]
    with open(tmp_path / 'annotations' / 'synthetic_val_3d.json') as file:
        annotations_3d = json.load(file)
    for index in range(3):
        sample = render_hand(sample_seed(2, 'val', index), (64, 64), 'rgb',
                             0.5)
        image = coco.loadImgs(index)[0]
        assert (image['width'], image['height']) == (64, 64)
        jpeg = cv2.imread(str(tmp_path / 'images' / image['file_name']))
        assert jpeg.shape == (64, 64, 3)
        # JPEG is lossy: close to the render on average.
        assert np.abs(jpeg.astype(float) - sample['image']).mean() < 12
        annotation = coco.loadAnns(coco.getAnnIds(imgIds=index))[0]
        assert annotation['category_id'] == 1 and annotation['iscrowd'] == 0
        triplets = np.array(annotation['keypoints']).reshape(21, 3)
        inside = sample['keypoints_visible'] > 0
        expected_v = np.where(inside, np.where(sample['occluded'], 1, 2), 0)
        np.testing.assert_array_equal(triplets[:, 2], expected_v)
        np.testing.assert_allclose(triplets[inside, :2],
                                   sample['keypoints'][inside], atol=1e-4)
        assert (triplets[~inside, :2] == 0).all()
        assert annotation['num_keypoints'] == inside.sum()
        x1, y1 = sample['keypoints'][inside].min(0)
        x2, y2 = sample['keypoints'][inside].max(0)
        np.testing.assert_allclose(annotation['bbox'],
                                   [x1, y1, x2 - x1, y2 - y1], atol=1e-4)
        np.testing.assert_allclose(annotation['area'],
                                   (x2 - x1) * (y2 - y1), rtol=1e-5)
        depth = cv2.imread(str(tmp_path / 'depth' / image['depth_file_name']),
                           cv2.IMREAD_UNCHANGED)
        assert depth.dtype == np.uint16
        np.testing.assert_array_equal(depth, np.round(sample['depth']))
        np.testing.assert_allclose(
            annotations_3d[str(index)]['keypoints_3d'],
            sample['keypoints_3d'], atol=1e-4)
        np.testing.assert_allclose(annotations_3d[str(index)]['cam_K'],
                                   sample['cam_K'], atol=1e-4)


def test_make_synthetic_rejects_bad_arguments(tmp_path):
    tool = _load_tool()
    with pytest.raises(SystemExit):
        tool.main(['--out', str(tmp_path), '--num', '-2'])
