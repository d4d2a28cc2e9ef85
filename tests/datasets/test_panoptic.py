"""Tests of the CMU Panoptic hand adapter (both releases, seeded split)."""
import json
import re

import numpy as np
import pytest

from handkit.datasets.base import (AnnotationError, DataRootNotFoundError,
                                   EmptySplitError)
from handkit.datasets.panoptic import PanopticHandDataset
from handkit.registry import DATASETS


def hand_points(offset, unlabelled=()):
    """21 x [x, y, visible]: keypoint k at (offset + k, 2 * offset + 3 * k)."""
    points = [[offset + k, 2.0 * offset + 3 * k, 1] for k in range(21)]
    for k in unlabelled:
        points[k][2] = 0
    return points


def write_hand143(root, num_records=20, records=None):
    root.mkdir(parents=True, exist_ok=True)
    if records is None:
        records = [
            dict(img_paths=f'imgs/{index:08d}.jpg',
                 joint_self=hand_points(10 * index),
                 img_width=640,
                 img_height=480) for index in range(num_records)
        ]
    (root / 'hands_v143_14817.json').write_text(json.dumps(dict(root=records)))
    return root


def write_hand_label(folder, name, points, is_left=None):
    folder.mkdir(parents=True, exist_ok=True)
    record = dict(hand_pts=points)
    if is_left is not None:
        record['is_left'] = is_left
    (folder / f'{name}.json').write_text(json.dumps(record))
    (folder / f'{name}.jpg').write_bytes(b'')


def test_split_indices_reproduce_table_1_and_the_seeded_permutation():
    parts = PanopticHandDataset.split_indices(14817, split_seed=0)
    assert [len(parts[name])
            for name in ('train', 'val', 'test')] == [11853, 1482, 1482]
    order = np.random.default_rng(0).permutation(14817)
    np.testing.assert_array_equal(parts['train'], np.sort(order[:11853]))
    np.testing.assert_array_equal(parts['val'], np.sort(order[11853:13335]))
    np.testing.assert_array_equal(parts['test'], np.sort(order[13335:]))


def test_split_indices_with_ratios_whose_float_sum_falls_short():
    # 0.7 + 0.2 = 0.8999999999999999 in floats; still 7 / 2 / 1 of 10.
    parts = PanopticHandDataset.split_indices(10, 0, (0.7, 0.2, 0.1))
    assert [len(parts[name]) for name in ('train', 'val', 'test')] == [7, 2, 1]


def test_hand143_splits_are_disjoint_cover_everything_and_are_seeded(tmp_path):
    root = write_hand143(tmp_path / 'hand143')
    ids = {
        split: [
            info['img_id'] for info in PanopticHandDataset(
                str(root), split=split, split_seed=3)
        ]
        for split in ('train', 'val', 'test')
    }
    assert [len(ids[split])
            for split in ('train', 'val', 'test')] == [16, 2, 2]
    assert sorted(ids['train'] + ids['val'] + ids['test']) == list(range(20))
    again = [
        info['img_id']
        for info in PanopticHandDataset(str(root), split='test', split_seed=3)
    ]
    assert again == ids['test']
    other_seed = [
        info['img_id']
        for info in PanopticHandDataset(str(root), split='train', split_seed=4)
    ]
    assert other_seed != ids['train']


def test_hand143_values_visibility_and_box(tmp_path):
    records = [
        dict(img_paths='imgs/00000000.jpg',
             joint_self=hand_points(100, unlabelled=(0, 20)),
             img_width=1920,
             img_height=1080)
    ]
    root = write_hand143(tmp_path, records=records)
    dataset = PanopticHandDataset(str(root),
                                  layout='hand143_panopticdb',
                                  split_ratios=(1, 0, 0))
    assert len(dataset) == 1
    info = dataset[0]
    assert info['img_path'] == str(root / 'imgs' / '00000000.jpg')
    assert info['img_id'] == 0
    assert info['img_shape'] == (1080, 1920)
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints'].dtype == np.float32
    assert info['keypoints_visible'].dtype == np.float32
    # Unlabelled keypoints keep their coordinates.
    np.testing.assert_array_equal(info['keypoints'][0], [100, 200])
    np.testing.assert_array_equal(info['keypoints'][20], [120, 260])
    np.testing.assert_array_equal(info['keypoints_visible'],
                                  [0] + [1] * 19 + [0])
    # Tightest box of the labelled keypoints 1..19 only.
    np.testing.assert_array_equal(info['bbox'], [101, 203, 119, 257])
    assert info['bbox'].dtype == np.float32
    assert 'hand_side' not in info
    assert dataset.metainfo['pck_thresholds'] == [0.04, 0.06, 0.08, 0.10, 0.12]
    assert dataset.metainfo['num_keypoints'] == 21


def test_hand_labels_reads_every_folder_sorted_with_hand_side(tmp_path):
    write_hand_label(tmp_path / 'manual_train', 'b_r', hand_points(0), 0)
    write_hand_label(tmp_path / 'manual_train', 'a_l', hand_points(5), 1)
    write_hand_label(tmp_path / 'manual_test', 'c', hand_points(7, (3, )), 0)
    write_hand_label(tmp_path / 'synth2', 'd', hand_points(9))
    dataset = PanopticHandDataset(str(tmp_path), split_ratios=(1, 0, 0))
    infos = list(dataset)
    assert [info['img_id'] for info in infos] == [
        'manual_test/c', 'manual_train/a_l', 'manual_train/b_r', 'synth2/d'
    ]
    assert [info.get('hand_side')
            for info in infos] == ['right', 'left', 'right', None]
    assert infos[0]['img_path'] == str(tmp_path / 'manual_test' / 'c.jpg')
    assert infos[0]['keypoints_visible'][3] == 0
    np.testing.assert_array_equal(infos[0]['keypoints'][3], [10, 23])
    np.testing.assert_array_equal(infos[1]['bbox'], [5, 10, 25, 70])


def test_auto_layout_picks_the_release_present(tmp_path):
    write_hand_label(tmp_path / 'labels' / 'manual_train', 'x', hand_points(0))
    write_hand143(tmp_path / 'db', num_records=1)
    from_labels = PanopticHandDataset(str(tmp_path / 'labels'),
                                      split_ratios=(1, 0, 0))
    from_db = PanopticHandDataset(str(tmp_path / 'db'), split_ratios=(1, 0, 0))
    assert from_labels[0]['img_id'] == 'manual_train/x'
    assert from_db[0]['img_id'] == 0


def test_missing_data_root_names_path_and_layout(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(DataRootNotFoundError) as info:
        PanopticHandDataset(str(missing))
    message = str(info.value)
    assert str(missing) in message
    assert 'hands_v143_14817.json' in message and 'manual_train/' in message
    assert 'domedb.perception.cs.cmu.edu' in message


def test_empty_root_reports_the_missing_annotation_file(tmp_path):
    with pytest.raises(DataRootNotFoundError,
                       match=re.escape(str(tmp_path /
                                           'hands_v143_14817.json'))):
        PanopticHandDataset(str(tmp_path))
    with pytest.raises(DataRootNotFoundError,
                       match=re.escape(str(tmp_path / 'manual_train'))):
        PanopticHandDataset(str(tmp_path), layout='hand_labels')


def test_wrong_number_of_keypoints_names_file_and_record(tmp_path):
    records = [
        dict(img_paths='imgs/0.jpg', joint_self=hand_points(0)),
        dict(img_paths='imgs/1.jpg', joint_self=hand_points(0)[:20])
    ]
    root = write_hand143(tmp_path, records=records)
    pattern = (re.escape(str(root / 'hands_v143_14817.json')) +
               r": root\[1\] \('imgs/1.jpg'\).*\(21, 3\), got \(20, 3\)")
    with pytest.raises(AnnotationError, match=pattern):
        PanopticHandDataset(str(root))


def test_nan_keypoint_names_file(tmp_path):
    points = hand_points(0)
    points[4][1] = float('nan')
    write_hand_label(tmp_path / 'manual_test', 'bad', points)
    path = re.escape(str(tmp_path / 'manual_test' / 'bad.json'))
    with pytest.raises(AnnotationError,
                       match=path + r'.*NaN or inf at indices \[4\]'):
        PanopticHandDataset(str(tmp_path))


def test_ragged_keypoint_row_names_file(tmp_path):
    points = hand_points(0)
    points[2] = [1.0, 2.0]
    write_hand_label(tmp_path / 'manual_test', 'ragged', points)
    with pytest.raises(AnnotationError,
                       match=re.escape(
                           str(tmp_path / 'manual_test' / 'ragged.json'))):
        PanopticHandDataset(str(tmp_path))


def test_missing_key_names_file_and_key(tmp_path):
    root = write_hand143(tmp_path, records=[dict(img_paths='imgs/0.jpg')])
    with pytest.raises(
            AnnotationError,
            match=r"hands_v143_14817.json: root\[0\]: missing key 'joint_self'"
    ):
        PanopticHandDataset(str(root))
    folder = tmp_path / 'labels' / 'manual_train'
    folder.mkdir(parents=True)
    (folder / 'x.json').write_text(json.dumps(dict(is_left=0)))
    with pytest.raises(AnnotationError,
                       match=re.escape(str(folder / 'x.json')) +
                       ": missing key 'hand_pts'"):
        PanopticHandDataset(str(tmp_path / 'labels'))


def test_bad_arguments_raise_value_error(tmp_path):
    with pytest.raises(ValueError,
                       match="layout must be one of .* got 'coco'"):
        PanopticHandDataset(str(tmp_path), layout='coco')
    with pytest.raises(ValueError, match='split_ratios must be three'):
        PanopticHandDataset(str(tmp_path), split_ratios=(0.8, 0.1))
    with pytest.raises(ValueError, match='split must be one of'):
        PanopticHandDataset(str(tmp_path), split='valid')


def test_registered_and_buildable(tmp_path):
    root = write_hand143(tmp_path, num_records=10)
    dataset = DATASETS.build(
        dict(type='PanopticHandDataset', data_root=str(root), split='val'))
    assert isinstance(dataset, PanopticHandDataset)
    assert len(dataset) == 1


def test_a_split_with_no_sample_is_one_line_naming_split_and_count(tmp_path):
    # 3 hands cut 80/10/10: floor(2.4) train, floor(2.7) - 2 = 0 val.
    root = write_hand143(tmp_path / 'panoptic', num_records=3)
    assert len(PanopticHandDataset(str(root), split='train')) == 2
    with pytest.raises(EmptySplitError) as error:
        PanopticHandDataset(str(root), split='val')
    assert str(error.value) == (
        "PanopticHandDataset: the 'val' split of 3 hands (split_ratios "
        f"(0.8, 0.1, 0.1)) has 0 samples ({root}); check the files, the "
        'split or its indices')
