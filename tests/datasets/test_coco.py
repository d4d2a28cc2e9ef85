"""Tests of the COCO-style hand adapter on MMPose's real files and tiny ones."""
import json
import os.path as osp
import re
from pathlib import Path

import numpy as np
import pytest

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.coco import RHD_ORDER, CocoHandDataset

TEST_DATA = Path(__file__).resolve().parents[1] / 'data'


def flat_keypoints(points, v=1):
    """Flat COCO list from (21, 2) points, one v (scalar or per keypoint)."""
    v = np.broadcast_to(np.asarray(v, dtype=float), (len(points), ))
    return np.column_stack([np.asarray(points, dtype=float),
                            v]).ravel().tolist()


def grid_points(offset=0.0):
    return [[offset + k, 100.0 + 2 * k] for k in range(21)]


def write_coco(path, annotations, images=None, **extra):
    if images is None:
        images = [
            dict(id=1, file_name='a.jpg', width=64, height=48),
            dict(id=2, file_name='b.jpg', width=32, height=32)
        ]
    path.write_text(
        json.dumps(dict(images=images, annotations=annotations, **extra)))
    return path


def annotation(ann_id, image_id=1, points=None, v=1, **fields):
    points = grid_points() if points is None else points
    return dict(id=ann_id,
                image_id=image_id,
                keypoints=flat_keypoints(points, v),
                **fields)


def test_real_onehand10k_file():
    root = TEST_DATA / 'onehand10k_coco'
    thresholds = [0.1, 0.15, 0.2, 0.25, 0.3]  # NSRM Table 2
    dataset = CocoHandDataset('test_onehand10k.json',
                              data_root=str(root),
                              split='test',
                              metainfo=dict(pck_thresholds=thresholds))
    assert len(dataset) == 4
    assert dataset.metainfo['pck_thresholds'] == thresholds
    assert dataset.metainfo['num_keypoints'] == 21
    info = dataset[0]
    assert info['img_id'] == 9
    assert info['img_path'] == str(root / '9.jpg') and osp.isfile(
        info['img_path'])
    assert info['img_shape'] == (358, 238)
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints'].dtype == np.float32
    # From the JSON: wrist (0, 0, 0) unlabelled, thumb base (81, 251, 1).
    np.testing.assert_array_equal(info['keypoints'][1], [81, 251])
    np.testing.assert_array_equal(info['keypoints'][20], [142, 132])
    assert info['keypoints_visible'][0] == 0
    assert info['keypoints_visible'].sum() == 20
    # bbox [63, 92, 99, 194] as x1, y1, x2, y2 (edge pixels included).
    np.testing.assert_array_equal(info['bbox'], [63, 92, 161, 285])
    assert info['bbox'].dtype == np.float32
    # Image 33 labels keypoints 0, 6-9, 13 and 17 only.
    assert dataset[1]['img_id'] == 33
    np.testing.assert_array_equal(
        np.flatnonzero(dataset[1]['keypoints_visible']),
        [0, 6, 7, 8, 9, 13, 17])
    np.testing.assert_array_equal(dataset[1]['keypoints'][17], [79, 194])


def test_real_panoptic_file():
    root = TEST_DATA / 'panoptic_coco'
    dataset = CocoHandDataset('test_panoptic.json', data_root=str(root))
    assert len(dataset) == 4
    assert [info['img_id']
            for info in dataset] == [100586, 100587, 100520, 100521]
    info = dataset[0]
    assert info['img_path'] == str(root / '005880453_01_l.jpg')
    assert info['img_shape'] == (720, 1280)
    np.testing.assert_allclose(info['keypoints'][0], [721.0, 224.0])
    np.testing.assert_allclose(info['keypoints'][20],
                               [774.7701416015626, 213.43435668945315])
    assert info['keypoints_visible'].sum() == 21
    # MMPose's Panoptic box is the tightest keypoint box, w = x2 - x1 + 1.
    np.testing.assert_allclose(
        info['bbox'],
        np.concatenate([info['keypoints'].min(0), info['keypoints'].max(0)]),
        atol=1e-3)
    np.testing.assert_allclose(info['bbox'][:2], [720.3247, 188.0991],
                               atol=1e-3)
    assert dataset.metainfo['pck_thresholds'] == [0.04, 0.06, 0.08, 0.10, 0.12]


def test_tiny_file_skips_crowd_and_unlabelled_and_boxes_from_keypoints(
        tmp_path):
    points = grid_points(5)
    v = [1] * 21
    v[3] = 0
    v[4] = 2  # COCO's "visible" counts as labelled too
    path = write_coco(tmp_path / 'hands.json', [
        annotation(10, 1, points, v, bbox=[1, 2, 30, 40]),
        annotation(11, 1, v=0, bbox=[0, 0, 5, 5]),
        annotation(12, 2, iscrowd=1),
        annotation(13, 2, points),
    ])
    dataset = CocoHandDataset('hands.json',
                              data_root=str(tmp_path),
                              data_prefix=dict(img='images'))
    assert len(dataset) == 2
    first, second = dataset[0], dataset[1]
    assert first['img_path'] == str(tmp_path / 'images' / 'a.jpg')
    assert first['img_shape'] == (48, 64)
    np.testing.assert_array_equal(first['bbox'], [1, 2, 30, 41])
    np.testing.assert_array_equal(first['keypoints'][3], [8, 106])
    assert first['keypoints_visible'][3] == 0
    assert first['keypoints_visible'][4] == 1
    assert second['img_id'] == 2
    # No bbox in the annotation: the tightest keypoint box.
    np.testing.assert_array_equal(second['bbox'], [5, 100, 25, 140])


def test_image_without_size_has_no_img_shape(tmp_path):
    path = write_coco(tmp_path / 'a.json', [annotation(1)],
                      images=[dict(id=1, file_name='a.jpg')])
    assert 'img_shape' not in CocoHandDataset(str(path))[0]


def test_rhd_order_moves_tip_first_fingers_to_base_first(tmp_path):
    file_points = np.zeros((21, 2))
    tips_in_file = [1, 5, 9, 13, 17]  # thumb4, index4, ... : the tips
    for finger, index in enumerate(tips_in_file):
        file_points[index] = [1000 + finger, 2000 + finger]
    file_points[4] = [7, 7]  # thumb1: the thumb's base
    file_points[0] = [3, 3]
    path = write_coco(tmp_path / 'rhd.json',
                      [annotation(1, points=file_points)])
    info = CocoHandDataset(str(path), keypoint_order='rhd')[0]
    for finger, index in enumerate([4, 8, 12, 16, 20]):
        np.testing.assert_array_equal(info['keypoints'][index],
                                      [1000 + finger, 2000 + finger])
    np.testing.assert_array_equal(info['keypoints'][1], [7, 7])
    np.testing.assert_array_equal(info['keypoints'][0], [3, 3])
    assert RHD_ORDER[:5] == (0, 4, 3, 2, 1)


def test_rhd_file_with_nested_keypoints_as_mmpose_publishes_it(tmp_path):
    # MMPose's rhd_{train,test}.json: keypoints nested as 21 x [x, y, v],
    # plus camera_param and joint_cam per annotation.
    file_points = np.arange(42, dtype=float).reshape(21, 2) + 10
    nested = [[x, y, 1] for x, y in file_points.tolist()]
    nested[3][2] = 0
    ann = dict(id=42, image_id=0, category_id=1, iscrowd=0,
               bbox=[10.0, 11.0, 40.0, 40.0], area=1600.0, keypoints=nested,
               num_keypoints=20,
               camera_param=dict(focal=[282.9, 282.9],
                                 princpt=[160.0, 160.0]),
               joint_cam=[[0.0, 0.0, 500.0]] * 21)
    path = write_coco(
        tmp_path / 'rhd_test.json', [ann],
        images=[dict(id=0, file_name='00000.png', width=320, height=320)],
        categories=[dict(id=1, name='hand', supercategory='hand')])
    info = CocoHandDataset(str(path), keypoint_order='rhd')[0]
    order = np.asarray(RHD_ORDER)
    np.testing.assert_array_equal(info['keypoints'], file_points[order])
    assert info['keypoints_visible'][list(order).index(3)] == 0
    assert info['keypoints_visible'].sum() == 20
    # The same keypoints flat give the same sample.
    ann['keypoints'] = [value for row in nested for value in row]
    write_coco(path, [ann], images=[dict(id=0, file_name='00000.png')],
               categories=[dict(id=1, name='hand')])
    flat = CocoHandDataset(str(path), keypoint_order='rhd')[0]
    np.testing.assert_array_equal(flat['keypoints'], info['keypoints'])


@pytest.mark.parametrize('bbox', [[5, 5, 0, 10], [5, 5, 10, -3], [0, 0, 0, 0]])
def test_zero_or_negative_box_is_refused_at_load(tmp_path, bbox):
    path = write_coco(tmp_path / 'a.json', [annotation(1), annotation(
        8, bbox=bbox)])
    with pytest.raises(AnnotationError, match=re.escape(
            f"{path}: annotation id 8 (image 'a.jpg'): bbox [x, y, w, h] = "
            f'{bbox!r} has a zero or negative width or height')):
        CocoHandDataset(str(path))


def test_explicit_order_moves_keypoints_and_visibility(tmp_path):
    v = [1] * 21
    v[20] = 0
    path = write_coco(tmp_path / 'a.json', [annotation(1, v=v)])
    order = list(range(21))[::-1]  # handkit i = file 20 - i
    info = CocoHandDataset(str(path), keypoint_order=order)[0]
    np.testing.assert_array_equal(info['keypoints'][0], [20, 140])
    assert info['keypoints_visible'][0] == 0
    assert info['keypoints_visible'][20] == 1


@pytest.mark.parametrize('order', [
    list(range(20)), [0] * 21, [float(i) for i in range(21)], 'freihand',
    list(range(1, 22))
])
def test_invalid_keypoint_order_raises(tmp_path, order):
    with pytest.raises(ValueError, match='keypoint_order must be'):
        CocoHandDataset(str(tmp_path / 'a.json'), keypoint_order=order)


def test_missing_annotation_file_names_path_and_layout(tmp_path):
    with pytest.raises(DataRootNotFoundError) as info:
        CocoHandDataset('annotations/onehand10k_test.json',
                        data_root=str(tmp_path / 'onehand10k'))
    message = str(info.value)
    assert str(tmp_path / 'onehand10k' / 'annotations' /
               'onehand10k_test.json') in message
    assert '"images", "annotations"' in message and 'ann_file' in message


def test_wrong_number_of_keypoints_names_file_and_sample(tmp_path):
    bad = annotation(7)
    bad['keypoints'] = bad['keypoints'][:60]
    path = write_coco(tmp_path / 'a.json', [annotation(6), bad])
    with pytest.raises(AnnotationError,
                       match=re.escape(str(path)) +
                       r": annotation id 7 \(image 'a.jpg'\).*got \(20, 3\)"):
        CocoHandDataset(str(path))
    bad['keypoints'] = bad['keypoints'][:59]
    write_coco(path, [bad])
    with pytest.raises(AnnotationError, match='annotation id 7.*triplets'):
        CocoHandDataset(str(path))


def test_nan_names_file_and_sample(tmp_path):
    bad = annotation(5)
    bad['keypoints'][3 * 2] = float('nan')
    path = write_coco(tmp_path / 'a.json', [bad])
    with pytest.raises(
            AnnotationError,
            match=r'a.json: annotation id 5 .*NaN or inf at indices \[2\]'):
        CocoHandDataset(str(path))


def test_missing_keys_name_file_and_key(tmp_path):
    no_keypoints = annotation(1)
    del no_keypoints['keypoints']
    path = write_coco(tmp_path / 'a.json', [no_keypoints])
    with pytest.raises(AnnotationError,
                       match=re.escape(str(path)) +
                       r": annotations\[0\] is missing key 'keypoints'"):
        CocoHandDataset(str(path))
    path.write_text(json.dumps(dict(annotations=[])))
    with pytest.raises(AnnotationError, match=r"a.json: missing key 'images'"):
        CocoHandDataset(str(path))
    write_coco(path, [annotation(1)], categories=[dict(id=1, name='hand')])
    with pytest.raises(AnnotationError, match="missing key 'category_id'"):
        CocoHandDataset(str(path))


def test_unknown_image_and_bad_box_raise(tmp_path):
    path = write_coco(tmp_path / 'a.json', [annotation(1, image_id=99)])
    with pytest.raises(AnnotationError,
                       match=r"image_id \[99\] missing from 'images'"):
        CocoHandDataset(str(path))
    write_coco(path, [annotation(1, bbox=[1, 2, 3])])
    with pytest.raises(AnnotationError,
                       match=r'annotation id 1 .*bbox must be \[x, y, w, h\]'):
        CocoHandDataset(str(path))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='ann_file is empty'):
        CocoHandDataset('')
    with pytest.raises(ValueError, match="data_prefix needs the key 'img'"):
        CocoHandDataset('a.json', data_prefix=dict(img_path=''))
