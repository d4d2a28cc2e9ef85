"""Tests of the original OneHand10K release adapter (label_joint.txt)."""
import re

import numpy as np
import pytest

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.onehand10k import OneHand10KDataset


def label_line(name, width, height, points, hands=1):
    values = ','.join(f'{x:g},{y:g}' for x, y in points)
    return f'{name},{width},{height},{hands},{values}'


def points_with_missing(offset, missing=()):
    """21 (x, y): keypoint k at (offset + k, 50 + 2 k), -1, -1 where missing."""
    points = [[offset + k, 50 + 2 * k] for k in range(21)]
    for k in missing:
        points[k] = [-1, -1]
    return points


def write_release(root, train_lines=None, test_lines=None):
    if train_lines is None:
        train_lines = [
            label_line('0.jpg', 320, 240, points_with_missing(10, (0, 5))),
            label_line('1.jpg', 100, 200, points_with_missing(20))
        ]
    if test_lines is None:
        test_lines = [label_line('7.jpg', 64, 48, points_with_missing(1))]
    for folder, lines in (('Train', train_lines), ('Test', test_lines)):
        (root / folder / 'source').mkdir(parents=True)
        (root / folder / 'label_joint.txt').write_text('\n'.join(lines) + '\n')
    return root


def test_reads_values_missing_keypoints_and_whole_image_box(tmp_path):
    root = write_release(tmp_path)
    train = OneHand10KDataset(str(root), split='train')
    test = OneHand10KDataset(str(root), split='test')
    assert [len(train), len(test)] == [2, 1]
    info = train[0]
    assert info['img_id'] == '0.jpg'
    assert info['img_path'] == str(root / 'Train' / 'source' / '0.jpg')
    assert info['img_shape'] == (240, 320)
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints'].dtype == np.float32
    np.testing.assert_array_equal(info['keypoints'][20], [30, 90])
    # -1, -1 pairs: unlabelled, stored as (0, 0).
    np.testing.assert_array_equal(info['keypoints'][[0, 5]], [[0, 0], [0, 0]])
    expected_visible = np.ones(21)
    expected_visible[[0, 5]] = 0
    np.testing.assert_array_equal(info['keypoints_visible'], expected_visible)
    assert info['keypoints_visible'].dtype == np.float32
    np.testing.assert_array_equal(info['bbox'], [0, 0, 319, 239])
    assert info['bbox'].dtype == np.float32
    np.testing.assert_array_equal(train[1]['bbox'], [0, 0, 99, 199])
    assert test[0]['img_path'] == str(root / 'Test' / 'source' / '7.jpg')
    assert test.metainfo['pck_thresholds'] == [0.10, 0.15, 0.20, 0.25, 0.30]


def test_no_val_split(tmp_path):
    with pytest.raises(
            ValueError,
            match=r"split must be one of \('train', 'test'\), got 'val'"):
        OneHand10KDataset(str(write_release(tmp_path)), split='val')


def test_missing_data_root_names_path_and_layout(tmp_path):
    missing = tmp_path / 'OneHand10K'
    with pytest.raises(DataRootNotFoundError) as info:
        OneHand10KDataset(str(missing))
    message = str(info.value)
    assert str(missing) in message
    assert 'Train/label_joint.txt' in message and 'Test/source/' in message
    assert 'yangangwang.com' in message


def test_missing_split_folder_is_named(tmp_path):
    (tmp_path / 'Train' / 'source').mkdir(parents=True)
    (tmp_path / 'Train' / 'label_joint.txt').write_text('')
    with pytest.raises(DataRootNotFoundError,
                       match='test folder not found: ' +
                       re.escape(str(tmp_path / 'Test'))):
        OneHand10KDataset(str(tmp_path), split='test')


def test_wrong_number_of_keypoints_names_file_line_and_image(tmp_path):
    lines = [
        label_line('0.jpg', 32, 32, points_with_missing(0)),
        label_line('bad.jpg', 32, 32,
                   points_with_missing(0)[:20])
    ]
    root = write_release(tmp_path, train_lines=lines)
    label_file = re.escape(str(root / 'Train' / 'label_joint.txt'))
    with pytest.raises(AnnotationError,
                       match=label_file +
                       r" line 2: 'bad.jpg': 44 fields, expected 46"):
        OneHand10KDataset(str(root))


def test_extra_value_is_an_annotation_error(tmp_path):
    line = label_line('odd.jpg', 32, 32, points_with_missing(0)) + ',3'
    root = write_release(tmp_path, train_lines=[line])
    with pytest.raises(AnnotationError,
                       match=r"line 1: 'odd.jpg': 47 fields, expected 46"):
        OneHand10KDataset(str(root))


def test_nan_names_file_line_and_image(tmp_path):
    points = points_with_missing(0)
    points[9] = [float('nan'), 3]
    root = write_release(tmp_path,
                         train_lines=[label_line('n.jpg', 32, 32, points)])
    with pytest.raises(
            AnnotationError,
            match=
            r"label_joint.txt line 1: 'n.jpg': keypoints hold NaN or inf at indices \[9\]"
    ):
        OneHand10KDataset(str(root))


def test_missing_and_non_numeric_fields(tmp_path):
    root = write_release(
        tmp_path,
        train_lines=['short.jpg,32,32'],
        test_lines=[label_line('t.jpg', 'wide', 32, points_with_missing(0))])
    with pytest.raises(AnnotationError,
                       match=r"line 1: 'short.jpg': 3 fields, expected 46"):
        OneHand10KDataset(str(root), split='train')
    with pytest.raises(AnnotationError,
                       match=r"line 1: 't.jpg': non-numeric field"):
        OneHand10KDataset(str(root), split='test')


def test_non_positive_image_size(tmp_path):
    root = write_release(
        tmp_path,
        train_lines=[label_line('z.jpg', 0, 32, points_with_missing(0))])
    with pytest.raises(AnnotationError,
                       match=r"'z.jpg': image size 0.0 x 32.0"):
        OneHand10KDataset(str(root))


def write_masks(root, names, shapes, folder='Train'):
    """The release's mask PNGs: ``mask/<stem>.png``, hand = non-zero."""
    import cv2
    (root / folder / 'mask').mkdir(exist_ok=True)
    for name, (height, width) in zip(names, shapes):
        mask = np.zeros((height, width), np.uint8)
        mask[10:20, 30:60] = 255  # a 10 x 30 hand
        cv2.imwrite(str(root / folder / 'mask' / (name[:-4] + '.png')), mask)
        image = np.full((height, width, 3), 90, np.uint8)
        cv2.imwrite(str(root / folder / 'source' / name), image)


def test_with_masks_gives_mask_paths_and_load_image_reads_them(tmp_path):
    from handkit.datasets.transforms.loading import LoadImage
    root = write_release(tmp_path)
    write_masks(root, ['0.jpg', '1.jpg'], [(240, 320), (200, 100)])
    train = OneHand10KDataset(str(root), split='train', with_masks=True)
    info = train[0]
    assert info['mask_path'] == str(root / 'Train' / 'mask' / '0.png')
    results = LoadImage().transform(dict(info))
    mask = results['hand_mask']
    assert mask.dtype == bool and mask.shape == (240, 320)
    assert mask.sum() == 300 and mask[10:20, 30:60].all()
    # without with_masks nothing about masks is read or required
    assert 'mask_path' not in OneHand10KDataset(str(root), 'train')[0]


def test_missing_mask_folder_or_file_is_named(tmp_path):
    root = write_release(tmp_path)
    with pytest.raises(DataRootNotFoundError,
                       match=r'mask folder \(with_masks=True\) not found: '
                       + re.escape(str(root / 'Train' / 'mask'))):
        OneHand10KDataset(str(root), split='train', with_masks=True)
    write_masks(root, ['0.jpg'], [(240, 320)])
    with pytest.raises(DataRootNotFoundError,
                       match=r"mask of 1.jpg not found: .*1\.png"):
        OneHand10KDataset(str(root), split='train', with_masks=True)


def test_mask_of_another_size_than_its_image_is_refused(tmp_path):
    from handkit.datasets.transforms.loading import LoadImage
    root = write_release(tmp_path)
    write_masks(root, ['0.jpg', '1.jpg'], [(240, 320), (200, 100)])
    import cv2
    cv2.imwrite(str(root / 'Train' / 'mask' / '1.png'),
                np.zeros((20, 10), np.uint8))
    info = OneHand10KDataset(str(root), split='train', with_masks=True)[1]
    with pytest.raises(ValueError, match=r'mask .*1\.png is 10 x 20 pixels '
                       r'but its image .*1\.jpg is 100 x 200'):
        LoadImage().transform(dict(info))


def test_real_mask_config_trains_on_the_release_masks(tmp_path):
    """configs/nsrm/realmask_onehand10k.py on a tiny copy of the release:
    the mask, warped with the image to 368, becomes the G1 target at 46 and
    reaches the test samples for MaskIoUMetric."""
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from handkit.registry import DATASETS
    root = write_release(tmp_path)
    write_masks(root, ['0.jpg', '1.jpg'], [(240, 320), (200, 100)])
    write_masks(root, ['7.jpg'], [(48, 64)], folder='Test')
    config = (Path(__file__).resolve().parents[2] / 'configs' / 'nsrm' /
              'realmask_onehand10k.py')
    cfg = Config.fromfile(str(config))
    init_default_scope('handkit')
    train_cfg = dict(cfg.train_dataloader.dataset, data_root=str(root))
    sample = DATASETS.build(train_cfg)[0]['data_samples']
    target = sample['targets']['hand_masks']
    assert tuple(target.shape) == (1, 46, 46)
    assert 0 < float(target.sum()) < 46 * 46 and float(target.max()) <= 1
    test_cfg = dict(cfg.test_dataloader.dataset, data_root=str(root))
    mask = DATASETS.build(test_cfg)[0]['data_samples']['meta']['hand_mask']
    assert mask.shape == (368, 368) and mask.dtype == bool
    # a 10 x 30 hand in a 64 x 48 image, scaled by 368 / 64 (the image is
    # padded to a square): about 10 x 30 x 5.75^2 pixels
    assert abs(mask.sum() / (300 * 5.75 ** 2) - 1) < 0.1
