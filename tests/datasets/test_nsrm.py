"""Tests of the NSRMhand (preprocessed Panoptic crops) adapter."""
import json
import re

import numpy as np
import pytest

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.nsrm import NSRMHandDataset


def crop_points(offset):
    """21 x [x, y]: keypoint k at (offset + 2 k, 300 - 5 k)."""
    return [[offset + 2.0 * k, 300.0 - 5 * k] for k in range(21)]


def write_nsrm(root, labels=None, partitions=None):
    (root / 'imgs').mkdir(parents=True)
    if labels is None:
        labels = {
            f'{index:08d}.jpg': crop_points(10 * index)
            for index in range(1, 5)
        }
    if partitions is None:
        partitions = dict(train=['00000001.jpg', '00000002.jpg'],
                          valid=['00000004.jpg'],
                          test=['00000003.jpg'])
    (root / 'labels.json').write_text(json.dumps(labels))
    (root / 'partitions.json').write_text(json.dumps(partitions))
    return root


def test_reads_each_partition_with_values_and_box(tmp_path):
    root = write_nsrm(tmp_path)
    train = NSRMHandDataset(str(root), split='train')
    val = NSRMHandDataset(str(root), split='val')
    test = NSRMHandDataset(str(root), split='test')
    assert [len(train), len(val), len(test)] == [2, 1, 1]
    assert [info['img_id']
            for info in train] == ['00000001.jpg', '00000002.jpg']
    info = val[0]  # handkit's 'val' reads the 'valid' list
    assert info['img_id'] == '00000004.jpg'
    assert info['img_path'] == str(root / 'imgs' / '00000004.jpg')
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints'].dtype == np.float32
    np.testing.assert_array_equal(info['keypoints'][20], [80, 200])
    np.testing.assert_array_equal(info['keypoints_visible'], np.ones(21))
    assert info['keypoints_visible'].dtype == np.float32
    np.testing.assert_array_equal(info['bbox'], [40, 200, 80, 300])
    assert info['bbox'].dtype == np.float32
    assert test.metainfo['pck_thresholds'] == [0.04, 0.06, 0.08, 0.10, 0.12]


def test_missing_data_root_names_path_and_layout(tmp_path):
    missing = tmp_path / 'cmuhand'
    with pytest.raises(DataRootNotFoundError) as info:
        NSRMHandDataset(str(missing), split='train')
    message = str(info.value)
    assert str(missing) in message
    assert 'partitions.json' in message and 'labels.json' in message
    assert 'HowieMa/NSRMhand' in message


def test_missing_label_file_is_named(tmp_path):
    root = write_nsrm(tmp_path)
    (root / 'labels.json').unlink()
    with pytest.raises(DataRootNotFoundError,
                       match='label file not found: ' +
                       re.escape(str(root / 'labels.json'))):
        NSRMHandDataset(str(root))


def test_wrong_number_of_keypoints_names_file_and_sample(tmp_path):
    root = write_nsrm(tmp_path,
                      labels={'a.jpg': crop_points(0)[:19]},
                      partitions=dict(train=['a.jpg'], valid=[], test=[]))
    with pytest.raises(AnnotationError,
                       match=r"labels.json: 'a.jpg': .*got \(19, 2\)"):
        NSRMHandDataset(str(root))


def test_nan_names_file_and_sample(tmp_path):
    points = crop_points(0)
    points[7][0] = float('nan')
    root = write_nsrm(tmp_path,
                      labels={'a.jpg': points},
                      partitions=dict(train=['a.jpg'], valid=[], test=[]))
    with pytest.raises(
            AnnotationError,
            match=
            r"labels.json: 'a.jpg': keypoints hold NaN or inf at indices \[7\]"
    ):
        NSRMHandDataset(str(root))


def test_missing_partition_key_names_file_and_key(tmp_path):
    root = write_nsrm(tmp_path,
                      partitions=dict(train=['00000001.jpg'], test=[]))
    with pytest.raises(AnnotationError,
                       match=re.escape(str(root / 'partitions.json')) +
                       ": missing key 'valid'"):
        NSRMHandDataset(str(root), split='val')


def test_partition_name_missing_from_labels(tmp_path):
    root = write_nsrm(tmp_path,
                      partitions=dict(train=['gone.jpg'], valid=[], test=[]))
    with pytest.raises(
            AnnotationError,
            match=r"labels.json: missing key 'gone.jpg' \(listed under 'train'"
    ):
        NSRMHandDataset(str(root))


def test_malformed_json_names_file(tmp_path):
    root = write_nsrm(tmp_path)
    (root / 'labels.json').write_text('{"a.jpg": [[1, 2],')
    with pytest.raises(AnnotationError, match=r'labels.json: not valid JSON'):
        NSRMHandDataset(str(root))
