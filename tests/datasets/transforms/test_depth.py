"""Tests of LoadDepth and DepthCubeCrop, and of the depth path through
PackHandInputs and HandDataPreprocessor."""
import cv2
import numpy as np
import pytest
import torch

from handkit.codecs.depth_cube import DepthCube
from handkit.datasets.collate import hand_collate
from handkit.datasets.transforms.depth import (DepthCubeCrop, LoadDepth,
                                              crop_depth_cube)
from handkit.datasets.transforms.formatting import PackHandInputs
from handkit.geometry import apply_affine
from handkit.models.data_preprocessors.hand_data_preprocessor import \
    HandDataPreprocessor
from handkit.registry import TRANSFORMS

CAM_K = np.array([[200.0, 0, 64], [0, 220.0, 48], [0, 0, 1]], np.float32)


def test_load_depth_reads_a_16_bit_png_in_mm(tmp_path):
    depth = np.zeros((6, 8), np.uint16)
    depth[2, 3], depth[5, 7] = 812, 65000
    path = str(tmp_path / 'depth.png')
    cv2.imwrite(path, depth)
    results = LoadDepth()({'depth_path': path})
    assert results['depth'].dtype == np.float32
    assert results['depth'][2, 3] == 812.0 and results['depth'][5, 7] == 65000
    assert results['img_shape'] == results['ori_shape'] == (6, 8)


def test_load_depth_reads_nyu_rgb_encoding(tmp_path):
    image = np.zeros((4, 5, 3), np.uint8)
    image[1, 2] = (0x34, 0x03, 0)  # B = low byte, G = high byte
    path = str(tmp_path / 'depth_1_0000001.png')
    cv2.imwrite(path, image)
    depth = LoadDepth(encoding='nyu_rgb')({'depth_path': path})['depth']
    assert depth[1, 2] == 3 * 256 + 0x34 == 820
    assert depth.sum() == 820


def test_load_depth_refuses_8_bit_png_naming_the_file(tmp_path):
    path = str(tmp_path / 'eight_bit.png')
    cv2.imwrite(path, np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError,
                       match=r'eight_bit\.png: depth must be a single-channel '
                       r'16-bit PNG in mm, found uint8 with 1 channel'):
        LoadDepth()({'depth_path': path})
    with pytest.raises(FileNotFoundError, match='missing.png'):
        LoadDepth()({'depth_path': str(tmp_path / 'missing.png')})
    with pytest.raises(ValueError, match="encoding must be one of"):
        LoadDepth(encoding='kinect')


def test_load_depth_passes_a_rendered_depth_through():
    results = LoadDepth()({'depth': np.full((3, 4), 500, np.float64),
                           'depth_path': 'synthetic://test/000000'})
    assert results['depth'].dtype == np.float32
    assert results['img_shape'] == (3, 4)


def ramp_depth():
    """64 x 64 depth image: d = 250 + u mm, with one missing pixel."""
    depth = np.tile(250.0 + np.arange(64, dtype=np.float32), (64, 1))
    depth[31, 33] = 0.0
    return depth


def test_crop_window_and_depth_normalisation():
    # fx = 100, centre (0, 0, 300): r = 150 * 100 / 300 = 50 px around u = 32,
    # 100 px -> 50 input px, so input pixel i samples image u = 2 i - 17.
    cam_K = np.array([[100.0, 0, 32], [0, 100.0, 32], [0, 0, 1]])
    out = crop_depth_cube(ramp_depth(), np.array([0.0, 0.0, 300.0]),
                          cube_size=300, input_size=(50, 50), cam_K=cam_K)
    np.testing.assert_allclose(out['crop_window'], [-18, -18, 82, 82])
    assert out['depth_input'].shape == (1, 50, 50)
    assert out['depth_input'].dtype == np.float32
    row = out['depth_input'][0, 24]  # image row v = 31
    u = 2 * np.arange(50) - 17
    inside = (u >= 0) & (u <= 63)
    expected = np.where(inside, (250.0 + u - 300.0) / 150.0, 1.0)
    expected[25] = 1.0  # u = 33 is the missing pixel -> background
    np.testing.assert_allclose(row, expected, atol=1e-6)
    assert out['depth_input'].min() >= -1 and out['depth_input'].max() <= 1
    np.testing.assert_allclose(
        out['warp_mat'] @ np.array([33.0, 31.0, 1.0]), [25, 24], atol=1e-5)


def test_far_and_near_depth_clip():
    cam_K = np.array([[50.0, 0, 8], [0, 50.0, 8], [0, 0, 1]])
    depth = np.full((16, 16), 900.0, np.float32)  # far behind the cube
    depth[:, :8] = 100.0  # in front of it
    out = crop_depth_cube(depth, np.array([0.0, 0.0, 500.0]), cube_size=200,
                          input_size=(8, 8), cam_K=cam_K)
    np.testing.assert_array_equal(np.unique(out['depth_input']), [-1.0, 1.0])


def test_crop_refuses_bad_inputs():
    cam_K = np.array([[100.0, 0, 32], [0, 100.0, 32], [0, 0, 1]])
    with pytest.raises(ValueError, match='center depth must be positive'):
        crop_depth_cube(np.zeros((64, 64)), [0, 0, -5], 300, (128, 128),
                        cam_K)
    with pytest.raises(ValueError, match=r'depth must be an \(H, W\) image'):
        crop_depth_cube(np.zeros((64, 64, 3)), [0, 0, 300], 300, (128, 128),
                        cam_K)
    with pytest.raises(ValueError, match='cube_size must be positive'):
        DepthCubeCrop(cube_size=0)


def hand_sample():
    """Joints around (10, -5, 400) mm and a flat depth map behind them."""
    rng = np.random.default_rng(0)
    joints = np.array([10.0, -5.0, 400.0]) + rng.uniform(-60, 60, (21, 3))
    keypoints = joints[:, :2] / joints[:, 2:] * [200, 220] + [64, 48]
    return {'depth': np.full((96, 128), 450.0, np.float32), 'cam_K': CAM_K,
            'keypoints_3d': joints.astype(np.float32),
            'keypoints': keypoints.astype(np.float32),
            'keypoints_visible': np.ones(21, np.float32),
            'depth_path': 'sample.png'}


def test_depth_cube_crop_round_trip_and_centre():
    sample = hand_sample()
    results = TRANSFORMS.build(dict(type='DepthCubeCrop', cube_size=300,
                                    input_size=(64, 48)))(dict(sample))
    center = sample['keypoints_3d'].mean(0)  # no center_3d: joint mean
    np.testing.assert_allclose(results['cube_center'], center, atol=1e-4)
    assert results['cube_size'] == 300.0
    joints_cube = results['targets']['joints_cube']
    np.testing.assert_allclose(joints_cube,
                               (sample['keypoints_3d'] - center) / 150,
                               atol=1e-6)
    back = DepthCube.cube_to_camera(joints_cube, results['cube_center'],
                                    results['cube_size'])
    np.testing.assert_allclose(back, sample['keypoints_3d'], atol=1e-3)
    # The centre projects to the input centre ((w - 1) / 2, (h - 1) / 2).
    center_px = center[:2] / center[2] * [200, 220] + [64, 48]
    np.testing.assert_allclose(
        apply_affine(center_px[None], results['warp_mat'])[0], [31.5, 23.5],
        atol=1e-3)
    np.testing.assert_allclose(
        results['transformed_keypoints'],
        apply_affine(sample['keypoints'], results['warp_mat']))
    # The flat background at 450 mm: (450 - Z) / 150 inside the image.
    img = results['img']
    assert img.shape == (48, 64, 1) and img.dtype == np.float32
    assert img[24, 32, 0] == pytest.approx((450 - center[2]) / 150, abs=1e-5)
    assert img.min() >= -1 and img.max() <= 1


def test_depth_cube_crop_centre_choices():
    sample = hand_sample()
    sample['center_3d'] = np.array([0.0, 0.0, 420.0], np.float32)
    by_reference = DepthCubeCrop(center='center_3d')(dict(sample))
    np.testing.assert_allclose(by_reference['cube_center'], [0, 0, 420])
    by_root = DepthCubeCrop(center='root')(dict(sample))
    np.testing.assert_allclose(by_root['cube_center'],
                               sample['keypoints_3d'][0])
    with pytest.raises(KeyError, match="no 'cam_K'"):
        DepthCubeCrop()({'depth': sample['depth']})
    with pytest.raises(ValueError, match='center must be one of'):
        DepthCubeCrop(center='palm')


def test_depth_crop_packs_and_batches_as_float_one_channel():
    results = DepthCubeCrop(input_size=(32, 32))(hand_sample())
    packed = PackHandInputs()(results)
    assert packed['inputs'].shape == (1, 32, 32)
    assert packed['inputs'].dtype == torch.float32
    meta = packed['data_samples']['meta']
    assert {'cube_center', 'cube_size', 'keypoints_3d', 'cam_K',
            'warp_mat'} <= set(meta)
    assert packed['data_samples']['targets']['joints_cube'].shape == (21, 3)
    # A 2-D image is packed as one channel too.
    two_d = PackHandInputs()({'img': np.zeros((5, 6), np.float32)})
    assert two_d['inputs'].shape == (1, 5, 6)

    preprocessor = HandDataPreprocessor(mean=None, std=None,
                                        bgr_to_rgb=False)
    batch = preprocessor(hand_collate([packed, packed]))
    assert batch['inputs'].shape == (2, 1, 32, 32)
    torch.testing.assert_close(batch['inputs'][1], packed['inputs'])
    assert batch['data_samples']['targets']['joints_cube'].shape == (2, 21,
                                                                      3)
    with pytest.raises(ValueError, match='both be given or both be None'):
        HandDataPreprocessor(mean=None)


def test_depth_cube_crop_mirrors_a_left_hand_as_the_mirrored_scene():
    """mirror_side='left': a left hand's crop, labels and centre are those
    of the scene mirrored in camera x (X -> -X), here built by hand: with
    the principal point at the image's centre column, the mirrored depth
    image is the image flipped left-right."""
    width = 128
    cam_k = CAM_K.copy()
    cam_k[0, 2] = (width - 1) / 2
    rng = np.random.default_rng(1)
    depth = rng.uniform(350, 450, (96, width)).astype(np.float32)
    joints = np.array([10.0, -5.0, 400.0]) + rng.uniform(-60, 60, (21, 3))
    keypoints = joints[:, :2] / joints[:, 2:] * [200, 220] + cam_k[:2, 2]
    left = {'depth': depth, 'cam_K': cam_k, 'hand_side': 'left',
            'keypoints_3d': joints.astype(np.float32),
            'keypoints': keypoints.astype(np.float32)}
    mirrored_scene = dict(
        left, depth=np.ascontiguousarray(depth[:, ::-1]), hand_side='right',
        keypoints_3d=(joints * [-1, 1, 1]).astype(np.float32),
        keypoints=((keypoints * [-1, 1]) + [width - 1, 0]).astype(
            np.float32))
    crop = DepthCubeCrop(input_size=(64, 48), mirror_side='left')
    result = crop(dict(left))
    expected = DepthCubeCrop(input_size=(64, 48))(dict(mirrored_scene))
    np.testing.assert_array_equal(result['img'], expected['img'])
    for key in ('cube_center', 'keypoints_3d'):
        np.testing.assert_allclose(result[key], expected[key], atol=1e-4)
    np.testing.assert_allclose(result['targets']['joints_cube'],
                               expected['targets']['joints_cube'], atol=1e-6)
    # warp_mat maps the original image to the mirrored input
    np.testing.assert_allclose(result['transformed_keypoints'],
                               expected['transformed_keypoints'], atol=1e-3)
    assert result['hand_side'] == 'right' and result['hand_mirrored']
    # a right hand is cropped as it comes
    right = DepthCubeCrop(input_size=(64, 48), mirror_side='left')(
        dict(left, hand_side='right'))
    assert 'hand_mirrored' not in right and right['hand_side'] == 'right'
    np.testing.assert_allclose(right['keypoints_3d'], joints, atol=1e-4)
    with pytest.raises(ValueError, match="mirror_side must be None, 'left' "
                       "or 'right', got 'both'"):
        DepthCubeCrop(mirror_side='both')
