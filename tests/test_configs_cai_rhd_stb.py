"""Cai et al.'s RHD stage and weak RHD + STB setting (configs/cai/cai_rhd.py,
cai_rhd_stb_weak.py) on tiny files in RHD's and STB's formats: the
ConcatDataset runs each member through its own pipeline, and preflight
checks each member."""
import copy
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.base import AnnotationError
from handkit.datasets.collate import hand_collate
from handkit.engine.preflight import preflight
from handkit.registry import DATASETS

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
RHD_K = np.array([[280.0, 0.0, 160.0], [0.0, 280.0, 160.0], [0, 0, 1.0]])


def _hand(rng, count, center_mm):
    """(count, 21, 3) joints in mm scattered 60 mm around ``center_mm``."""
    return center_mm + rng.uniform(-60, 60, (count, 21, 3))


def write_tiny_rhd(root, count=2):
    """RHD's training set: ``count`` renders with colour, mask and depth
    (a hand part in the middle, 500 mm away: R=25, G=153; the background
    5 m away)."""
    rng = np.random.default_rng(0)
    folder = root / 'training'
    for kind in ('color', 'mask', 'depth'):
        (folder / kind).mkdir(parents=True)
    annotations = {}
    for sample_id, joints in enumerate(_hand(rng, count, [0, 0, 500.0])):
        xyz = np.concatenate([joints, joints]) / 1000.0  # both hands, m
        uvw = xyz @ RHD_K.T
        uv_vis = np.c_[uvw[:, :2] / uvw[:, 2:], np.ones(42)]
        annotations[sample_id] = dict(uv_vis=uv_vis, xyz=xyz, K=RHD_K)
        name = f'{sample_id:05d}.png'
        cv2.imwrite(str(folder / 'color' / name),
                    np.full((320, 320, 3), 90, np.uint8))
        parts = np.zeros((320, 320), np.uint8)
        parts[140:180, 140:180] = 20  # a right-hand part
        cv2.imwrite(str(folder / 'mask' / name), parts)
        depth = np.zeros((320, 320, 3), np.uint8)  # B, G, R
        depth[...] = (0, 255, 255)
        depth[parts > 0] = (0, 153, 25)  # 25 * 256 + 153 -> 499.96 mm
        cv2.imwrite(str(folder / 'depth' / name), depth)
    with open(folder / 'anno_training.pickle', 'wb') as file:
        pickle.dump(annotations, file)


def write_tiny_stb(root, sequence='B2Counting', count=2):
    """One STB sequence, SK camera: labels, colour and depth images (the
    hand region at 500 mm)."""
    rng = np.random.default_rng(1)
    (root / 'labels').mkdir(parents=True)
    images = root / 'images' / sequence
    images.mkdir(parents=True)
    joints = _hand(rng, count, [0, 0, 500.0])
    scipy.io.savemat(str(root / 'labels' / f'{sequence}_SK.mat'),
                     {'handPara': joints.transpose(2, 1, 0)})
    depth = np.zeros((480, 640, 3), np.uint8)
    depth[140:340, 220:420] = (0, 500 // 256, 500 % 256)  # B, G, R
    for frame in range(count):
        cv2.imwrite(str(images / f'SK_color_{frame}.png'),
                    np.full((480, 640, 3), 90, np.uint8))
        cv2.imwrite(str(images / f'SK_depth_{frame}.png'), depth)


def weak_config(tmp_path):
    """cai_rhd_stb_weak.py on the tiny RHD and STB sets."""
    write_tiny_rhd(tmp_path / 'rhd')
    write_tiny_stb(tmp_path / 'stb')
    cfg = Config.fromfile(str(CONFIGS / 'cai' / 'cai_rhd_stb_weak.py'))
    init_default_scope(cfg.default_scope)
    rhd, stb = cfg.train_dataloader.dataset.datasets
    rhd.data_root = str(tmp_path / 'rhd')
    stb.update(data_root=str(tmp_path / 'stb'), sequences=['B2Counting'])
    return cfg


def test_weak_setting_trains_rhd_with_3d_and_stb_without(tmp_path):
    cfg = weak_config(tmp_path)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert [type(member).__name__ for member in dataset.datasets] == [
        'RHDDataset', 'STBDataset']
    assert len(dataset) == 4
    assert dataset.metainfo['dataset_name'] == 'rhd'  # the first member's
    assert dataset.metainfo['root_joint'] == 'palm_center'  # both members'
    samples = [dataset[index] for index in range(4)]
    paths = [sample['data_samples']['meta']['img_path'] for sample in samples]
    assert [Path(path).name for path in paths] == [
        '00000.png', '00001.png', 'SK_color_0.png', 'SK_color_1.png']
    weights = [float(sample['data_samples']['targets']['joints_3d_weight'])
               for sample in samples]
    assert weights == [1.0, 1.0, 0.0, 0.0]
    for sample in samples:
        targets = sample['data_samples']['targets']
        assert tuple(sample['inputs'].shape) == (3, 256, 256)
        assert tuple(targets['depth_map'].shape) == (64, 64)
        assert float(targets['depth_weight']) == 1.0  # both have depth
    # RHD's background (mask 0) is no depth, so the hand is the reference
    # depth (0) and the background takes the background value (1); with the
    # far depth kept, the median would be the background's and the hand -1
    rhd_map = samples[0]['data_samples']['targets']['depth_map'].numpy()
    assert np.unique(rhd_map).tolist() == [0.0, 1.0]
    batch = hand_collate(samples)
    assert tuple(batch['inputs'].shape) == (4, 3, 256, 256)
    assert batch['data_samples']['targets']['joints_3d_weight'].flatten(
    ).tolist() == weights


def test_preflight_names_the_member_without_depth(tmp_path):
    cfg = weak_config(tmp_path)
    preflight(cfg, ['train_dataloader'])  # each member has what it needs
    cfg.train_dataloader.dataset.datasets[0].with_depth = False
    with pytest.raises(AnnotationError) as error:
        preflight(cfg, ['train_dataloader'])
    assert str(error.value) == (
        'train_dataloader.dataset.datasets[0]: RHDDataset sample 0 '
        f"({tmp_path / 'rhd' / 'training' / 'color' / '00000.png'}) has no "
        "'depth', which the target codec NormalizedDepthMap needs; use a "
        'dataset with depth images of the RGB hands, e.g. '
        "RHDDataset(with_depth=True) + LoadRHDDepth, STBDataset(camera='SK', "
        'with_depth=True) + LoadSTBDepth or '
        'SyntheticHandDataset(with_depth=True)')


def test_check_data_reads_the_first_images_of_each_member(tmp_path):
    cfg = weak_config(tmp_path)
    broken = tmp_path / 'stb' / 'images' / 'B2Counting' / 'SK_color_0.png'
    broken.write_bytes(b'not a png')
    with pytest.raises(AnnotationError) as error:
        preflight(cfg, ['train_dataloader'], check_first=1)
    assert str(error.value) == (
        f'train_dataloader.dataset.datasets[1]: cannot decode image: {broken}')


def test_the_rhd_stage_loads_rhd_depth_and_the_weak_stage_loads_it():
    rhd = Config.fromfile(str(CONFIGS / 'cai' / 'cai_rhd.py'))
    weak = Config.fromfile(str(CONFIGS / 'cai' / 'cai_rhd_stb_weak.py'))
    stb = Config.fromfile(str(CONFIGS / 'cai' / 'cai_stb.py'))
    train = rhd.train_dataloader.dataset
    assert (train.type, train.split, train.with_depth) == (
        'RHDDataset', 'train', True)
    assert train.pipeline.depth.type == 'LoadRHDDepth'
    assert train.pipeline.labels_3d.fraction == 1.0
    assert rhd.test_dataloader.dataset.split == 'test'
    rhd_member = weak.train_dataloader.dataset.datasets[0]
    # the RHD stage roots RHD's joints at the palm (palm_root, the wrist in
    # joint 0); the weak stage's RHD has the palm in joint 0
    # (root_joint='palm_center'), rooted there as STB's
    pose3d = stb.train_dataloader.dataset.pipeline.targets.encoders.pose3d
    assert train.pipeline.targets.encoders.pose3d == dict(pose3d,
                                                         palm_root=True)
    assert rhd_member.pipeline.targets.encoders.pose3d == pose3d
    same_codec = copy.deepcopy(train)
    same_codec.pipeline.targets.encoders.pose3d = pose3d
    assert rhd_member == dict(same_codec, root_joint='palm_center')
    assert [member.pipeline.labels_3d.fraction for member in
            weak.train_dataloader.dataset.datasets] == [1.0, 0.0]
    # tested on STB B1, as cai_stb.py
    assert weak.test_dataloader.dataset == stb.test_dataloader.dataset
    assert weak.load_from == 'work_dirs/cai_rhd/epoch_80.pth'
    assert rhd.default_hooks.checkpoint.save_last is True
    assert rhd.train_cfg.max_epochs == 80
