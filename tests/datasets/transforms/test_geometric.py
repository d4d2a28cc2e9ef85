"""HandCrop, RandomAffine, TopdownAffine: crops, warps, exact keypoints."""
import cv2
import numpy as np
import pytest

from handkit.datasets.transforms.geometric import (HandCrop, RandomAffine,
                                                   TopdownAffine)
from handkit.geometry import apply_affine, get_warp_matrix
from handkit.registry import TRANSFORMS


def _hand(points, visible=None):
    keypoints = np.zeros((21, 2), np.float32)
    keypoints[:len(points)] = np.reshape(points, (-1, 2))
    if visible is None:
        visible = np.zeros(21, np.float32)
        visible[:len(points)] = 1
    return {'keypoints': keypoints,
            'keypoints_visible': np.asarray(visible, np.float32)}


# -- HandCrop ---------------------------------------------------------------
def test_keypoints_crop_is_padded_square_on_labelled_box():
    # Labelled box x 10..50, y 20..40 (longer side 40); the unlabelled far
    # point (keypoint 3) must not count.
    results = _hand([(10, 20), (50, 40), (30, 25), (900, 900)],
                    visible=[1, 1, 1, 0] + [0] * 17)
    results = HandCrop()(results)
    np.testing.assert_allclose(results['bbox_center'], [30, 30])
    assert results['bbox_center'].dtype == np.float32
    assert results['bbox_size'] == pytest.approx(2.2 * 40)


def test_single_labelled_keypoint_gives_padding_times_one_pixel():
    results = HandCrop(padding=2.2)(_hand([(12.5, 7)]))
    np.testing.assert_allclose(results['bbox_center'], [12.5, 7])
    assert results['bbox_size'] == pytest.approx(2.2)


def test_no_labelled_keypoint_falls_back_to_bbox():
    results = _hand([], visible=np.zeros(21))
    results['bbox'] = np.array([10, 20, 50, 30], np.float32)
    results = HandCrop(padding=2.0)(results)
    np.testing.assert_allclose(results['bbox_center'], [30, 25])
    assert results['bbox_size'] == pytest.approx(80)


def test_no_labelled_keypoint_and_no_bbox_is_refused():
    results = _hand([], visible=np.zeros(21))
    results['img_path'] = 'a/hand.jpg'
    with pytest.raises(KeyError, match="no 'bbox'.*a/hand.jpg"):
        HandCrop()(results)


def test_bbox_mode_without_bbox_is_refused():
    with pytest.raises(KeyError, match=r"mode='bbox'\): results have no "
                       r"'bbox' \(sample b.jpg\)"):
        HandCrop(mode='bbox')({'img_path': 'b.jpg'})


def test_bbox_mode_uses_annotated_box():
    results = HandCrop(mode='bbox', padding=1.5)(
        {'bbox': np.array([100, 40, 140, 100], np.float32)})
    np.testing.assert_allclose(results['bbox_center'], [120, 70])
    assert results['bbox_size'] == pytest.approx(90)


def test_inverted_bbox_is_refused():
    with pytest.raises(ValueError, match=r"'bbox' must be .*x2 >= x1"):
        HandCrop(mode='bbox')({'bbox': [50, 0, 10, 10], 'img_path': 'x.jpg'})


def test_image_mode_is_image_centred_square_of_longer_side():
    results = HandCrop(mode='image')({'img_shape': (100, 60)})
    np.testing.assert_allclose(results['bbox_center'], [29.5, 49.5])
    assert results['bbox_size'] == 100


def test_bad_mode_and_padding_are_refused():
    with pytest.raises(ValueError, match="mode must be one of .*'box'"):
        HandCrop(mode='box')
    with pytest.raises(ValueError, match='padding must be > 0, got 0'):
        HandCrop(padding=0)


# -- RandomAffine -----------------------------------------------------------
def _cropped():
    return {'bbox_center': np.array([100, 50], np.float32), 'bbox_size': 40.0}


def test_prob_zero_leaves_crop_and_sets_no_rotation():
    results = RandomAffine(prob=0.0)(_cropped())
    np.testing.assert_array_equal(results['bbox_center'], [100, 50])
    assert results['bbox_size'] == 40.0
    assert results['bbox_rotation'] == 0.0
    assert results['bbox_flip'] is False and results['flipped'] is False


def test_draws_follow_np_random_in_documented_order():
    np.random.seed(3)
    np.random.rand()  # the prob draw
    rotation = np.random.uniform(-30, 30)
    scale = np.random.uniform(0.5, 1.5)
    shift = np.random.uniform(-0.2, 0.2, size=2) * 40
    np.random.seed(3)
    results = RandomAffine(30, (0.5, 1.5), 0.2)(_cropped())
    assert results['bbox_rotation'] == pytest.approx(rotation)
    assert results['bbox_size'] == pytest.approx(40 * scale)
    np.testing.assert_allclose(results['bbox_center'], [100, 50] + shift,
                               rtol=1e-6)


def test_draws_stay_in_their_ranges():
    np.random.seed(0)
    transform = RandomAffine(rotate_range=40, scale_range=(0.8, 1.2),
                             shift_ratio=0.1)
    draws = [transform(_cropped()) for _ in range(300)]
    rotations = np.array([r['bbox_rotation'] for r in draws])
    sizes = np.array([r['bbox_size'] for r in draws])
    centers = np.array([r['bbox_center'] for r in draws])
    assert -40 <= rotations.min() < -30 and 30 < rotations.max() <= 40
    assert 32 <= sizes.min() < 34 and 46 < sizes.max() <= 48
    assert np.abs(centers - [100, 50]).max() <= 4 + 1e-4


def test_flip_sets_both_flags_about_half_the_time():
    np.random.seed(1)
    transform = RandomAffine(prob=0.0, flip=True)
    flags = [transform(_cropped()) for _ in range(200)]
    assert all(r['bbox_flip'] == r['flipped'] for r in flags)
    assert 70 < sum(r['flipped'] for r in flags) < 130


def test_random_affine_without_crop_perturbs_the_image_square():
    results = RandomAffine(prob=0.0)({'img_shape': (20, 40)})
    np.testing.assert_allclose(results['bbox_center'], [19.5, 9.5])
    assert results['bbox_size'] == 40


def test_random_affine_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='scale_range'):
        RandomAffine(scale_range=(1.2, 0.8))
    with pytest.raises(ValueError, match='prob must be in'):
        RandomAffine(prob=2)


# -- TopdownAffine ----------------------------------------------------------
def test_whole_square_image_at_its_size_is_identity():
    image = np.random.default_rng(0).integers(0, 256, (20, 20, 3), np.uint8)
    results = TopdownAffine(input_size=(20, 20))(
        {'img': image, 'img_shape': (20, 20), **_hand([(3, 4), (15.25, 9)])})
    np.testing.assert_allclose(results['warp_mat'], [[1, 0, 0], [0, 1, 0]],
                               atol=1e-6)
    np.testing.assert_array_equal(results['img'], image)
    np.testing.assert_allclose(results['transformed_keypoints'][:2],
                               [(3, 4), (15.25, 9)], atol=1e-5)


def test_without_crop_the_wide_image_is_letterboxed():
    # 10 x 20 image into 20 x 20: scale 1, rows shifted down by 5.
    image = np.full((10, 20, 3), 200, np.uint8)
    results = TopdownAffine(input_size=(20, 20))({'img': image})
    np.testing.assert_allclose(results['warp_mat'], [[1, 0, 0], [0, 1, 5]],
                               atol=1e-6)
    assert (results['img'][:5] == 0).all() and (results['img'][15:] == 0).all()
    assert (results['img'][5:15] == 200).all()
    assert results['img_shape'] == (20, 20)


def test_keypoints_recovered_through_inverse_warp():
    keypoints = np.array([(721.0, 224.0), (760.3, 313.1), (796.4, 390.3)],
                         np.float32)
    results = {'img': np.zeros((720, 1280, 3), np.uint8),
               **_hand(keypoints),
               'bbox_center': np.array([755.2, 300.7], np.float32),
               'bbox_size': 171.3, 'bbox_rotation': 27.5, 'bbox_flip': True}
    results = TopdownAffine(input_size=(368, 256))(results)
    warp_mat = results['warp_mat']
    assert warp_mat.shape == (2, 3) and warp_mat.dtype == np.float32
    transformed = results['transformed_keypoints']
    assert transformed.shape == (21, 2) and transformed.dtype == np.float32
    inverse = cv2.invertAffineTransform(warp_mat.astype(np.float64))
    recovered = apply_affine(transformed, inverse)
    np.testing.assert_allclose(recovered[:3], keypoints, atol=1e-4)
    np.testing.assert_array_equal(results['keypoints'][:3], keypoints)


def test_bright_pixel_lands_on_transformed_keypoint():
    image = np.zeros((60, 80, 3), np.uint8)
    image[23, 41] = 255  # keypoint (x=41, y=23)
    results = {'img': image, **_hand([(41, 23)]),
               'bbox_center': np.array([37.3, 28.1], np.float32),
               'bbox_size': 30.0}
    results = TopdownAffine(input_size=(90, 90))(results)  # scale 3
    grey = results['img'].max(axis=2)
    peak_y, peak_x = np.unravel_index(np.argmax(grey), grey.shape)
    expected_x, expected_y = results['transformed_keypoints'][0]
    # Hand-computed: 44.5 + 3 * (41 - 37.3), 44.5 + 3 * (23 - 28.1).
    assert (expected_x, expected_y) == pytest.approx((55.6, 29.2), abs=1e-4)
    assert abs(peak_x - expected_x) <= 1 and abs(peak_y - expected_y) <= 1


def test_hand_mask_is_warped_with_the_image():
    mask = np.zeros((60, 80), bool)
    mask[20:31, 30:51] = True  # an 11 x 21 block
    results = {'img': np.repeat(mask[..., None] * np.uint8(255), 3, axis=2),
               'hand_mask': mask, 'bbox_center': np.array([40, 25.]),
               'bbox_size': 40.0, 'bbox_rotation': 30.0}
    results = TopdownAffine(input_size=(80, 80))(results)  # scale 2
    warped = results['hand_mask']
    assert warped.dtype == bool and warped.shape == (80, 80)
    # Nearest-neighbour mask and bilinear image agree but on the edges.
    image = results['img'][..., 0] > 127
    assert (warped != image).sum() < 0.1 * warped.sum()
    assert warped.sum() == pytest.approx(11 * 21 * 4, rel=0.1)


def test_depth_is_warped_with_the_image_without_blending():
    depth = np.zeros((60, 80), np.float32)
    depth[20:31, 30:51] = 500.0
    depth[20:31, 40:51] = 700.0
    results = {'img': np.zeros((60, 80, 3), np.uint8), 'depth': depth,
               'bbox_center': np.array([40, 25.]), 'bbox_size': 40.0,
               'bbox_rotation': 30.0}
    warped = TopdownAffine(input_size=(80, 80))(results)['depth']
    assert warped.dtype == np.float32 and warped.shape == (80, 80)
    assert set(np.unique(warped)) == {0.0, 500.0, 700.0}  # nearest only
    assert (warped > 0).sum() == pytest.approx(11 * 21 * 4, rel=0.1)
    # outside the image: no depth
    far = TopdownAffine(input_size=(20, 20))(dict(
        img=np.zeros((60, 80, 3), np.uint8), depth=np.full((60, 80), 9.0,
                                                             np.float32),
        bbox_center=np.array([0, 0.]), bbox_size=40.0))['depth']
    assert far[0, 0] == 0 and far[-1, -1] == 9.0


def test_rotation_by_90_turns_content_counter_clockwise():
    # Centre (50, 50), side 100, input 100 x 100: scale 1, input centre 49.5.
    results = {'img': np.zeros((100, 100, 3), np.uint8),
               **_hand([(60, 50), (50, 40)]),
               'bbox_center': np.array([50, 50], np.float32),
               'bbox_size': 100.0, 'bbox_rotation': 90.0}
    transformed = TopdownAffine(input_size=(100, 100))(
        results)['transformed_keypoints']
    # Right of the centre goes above it; above the centre goes left of it.
    np.testing.assert_allclose(transformed[:2], [(49.5, 39.5), (39.5, 49.5)],
                               atol=1e-5)


def test_flip_mirrors_about_input_centre():
    results = {'img': np.zeros((100, 100, 3), np.uint8),
               **_hand([(60, 45)]),
               'bbox_center': np.array([50, 50], np.float32),
               'bbox_size': 50.0, 'bbox_flip': True}
    transformed = TopdownAffine(input_size=(100, 100))(
        results)['transformed_keypoints']
    # Unflipped: (49.5 + 2 * 10, 49.5 - 2 * 5) = (69.5, 39.5).
    np.testing.assert_allclose(transformed[0], (29.5, 39.5), atol=1e-5)


def test_non_square_input_scales_each_axis_by_its_side():
    warp_mat = get_warp_matrix((10, 20), 50, 0, (200, 100))
    np.testing.assert_allclose(
        warp_mat, [[4, 0, 99.5 - 40], [0, 2, 49.5 - 40]], atol=1e-5)


def test_topdown_affine_needs_image_and_valid_size():
    with pytest.raises(KeyError, match="no 'img'"):
        TopdownAffine()({'keypoints': np.zeros((21, 2))})
    with pytest.raises(ValueError, match='input_size must be two positive'):
        TopdownAffine(input_size=(368, 0))


def test_registered_and_repr():
    assert repr(TRANSFORMS.build(dict(type='TopdownAffine',
                                      input_size=(256, 192)))) == \
        'TopdownAffine(input_size=(256, 192))'
    assert repr(TRANSFORMS.build(dict(type='RandomAffine'))) == (
        'RandomAffine(rotate_range=40.0, scale_range=(0.8, 1.2), '
        'shift_ratio=0.1, prob=1.0, flip=False)')
    assert repr(HandCrop(mode='bbox', padding=1.25)) == \
        "HandCrop(mode='bbox', padding=1.25)"


def test_mirror_side_mirrors_the_3d_labels_and_the_mesh():
    warp = TopdownAffine(input_size=(32, 32), mirror_side='right')
    joints = np.random.default_rng(0).normal(0, 40, (21, 3))
    vertices = np.random.default_rng(1).normal(0, 40, (9, 3))
    results = warp.transform(dict(
        img=np.zeros((40, 40, 3), np.uint8), hand_side='right',
        keypoints_3d=joints.copy(), vertices=vertices.copy(),
        bbox_center=np.array([20.0, 20.0], np.float32), bbox_size=40.0))
    assert results['hand_mirrored'] and results['hand_side'] == 'left'
    np.testing.assert_allclose(results['keypoints_3d'], joints * [-1, 1, 1])
    np.testing.assert_allclose(results['vertices'], vertices * [-1, 1, 1])
