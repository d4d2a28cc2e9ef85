"""Drawing functions and HandVisualizer: exactly which pixels change."""
import cv2
import numpy as np
import pytest
from mmengine.visualization import Visualizer

from handkit.geometry import get_warp_matrix
from handkit.registry import VISUALIZERS
from handkit.skeleton import FINGER_COLORS_BGR, WRIST_COLOR_BGR, limb_color
from handkit.visualization.draw import (caption_height, colorize,
                                        default_radius, default_thickness,
                                        draw_prediction, draw_scores,
                                        draw_skeleton, image_grid, map_grid,
                                        overlay_maps, side_by_side,
                                        to_input_frame)
from handkit.visualization.visualizer import HandVisualizer

THUMB, INDEX = FINGER_COLORS_BGR[0], FINGER_COLORS_BGR[1]
GREY = 40


def blank(height=64, width=64):
    return np.full((height, width, 3), GREY, np.uint8)


def only(indices, points):
    """(21, 2) keypoints and (21,) visibility with just ``indices`` set."""
    keypoints = np.zeros((21, 2), np.float32)
    visible = np.zeros(21, np.float32)
    keypoints[indices] = points
    visible[indices] = 1
    return keypoints, visible


def changed(before, after):
    return (before != after).any(axis=2)


def test_a_keypoint_is_a_disc_of_its_finger_colour():
    image = blank()
    keypoints, visible = only([1], [(10, 10)])  # thumb CMC
    drawn = draw_skeleton(image, keypoints, visible, radius=2)
    assert tuple(drawn[10, 10]) == THUMB
    assert tuple(drawn[10, 11]) == THUMB and tuple(drawn[11, 10]) == THUMB
    rows, cols = np.nonzero(changed(image, drawn))
    assert rows.min() >= 7 and rows.max() <= 13  # radius 2, antialiased edge
    assert cols.min() >= 7 and cols.max() <= 13
    assert (image == GREY).all()  # the input is not drawn on
    keypoints, visible = only([0], [(30, 30)])
    assert tuple(draw_skeleton(image, keypoints, visible)[30, 30]) == \
        WRIST_COLOR_BGR


def test_a_limb_colours_its_midpoint_in_its_finger_colour():
    image = blank()
    # index MCP (5) -> index PIP (6) is limb 5, of the index finger
    keypoints, visible = only([5, 6], [(10, 30), (50, 30)])
    drawn = draw_skeleton(image, keypoints, visible, thickness=3, radius=2)
    assert limb_color(5) == INDEX
    assert tuple(drawn[30, 30]) == INDEX
    assert tuple(drawn[30, 20]) == INDEX
    # nothing beyond the line's thickness or the end discs
    mask = changed(image, drawn)
    assert not mask[:26].any() and not mask[35:].any()
    assert not mask[:, :7].any() and not mask[:, 54:].any()


def test_color_overrides_every_limb_and_keypoint():
    image = blank()
    keypoints, visible = only([5, 6], [(10, 30), (50, 30)])
    drawn = draw_skeleton(image, keypoints, visible, thickness=3,
                          color=(255, 255, 255))
    assert tuple(drawn[30, 30]) == (255, 255, 255)
    assert tuple(drawn[30, 10]) == (255, 255, 255)


def test_low_score_and_invisible_keypoints_are_skipped():
    image = blank()
    keypoints = np.random.default_rng(0).uniform(5, 59, (21, 2))
    low = draw_skeleton(image, keypoints, scores=np.full(21, 0.1),
                        score_threshold=0.5)
    assert np.array_equal(low, image)
    hidden = draw_skeleton(image, keypoints, visible=np.zeros(21))
    assert np.array_equal(hidden, image)
    nan = draw_skeleton(image, np.full((21, 2), np.nan))
    assert np.array_equal(nan, image)
    # A limb needs both ends: keypoint 6 alone draws a disc but no line.
    scores = np.zeros(21)
    scores[6] = 0.9
    keypoints[5], keypoints[6] = (10, 30), (50, 30)
    drawn = draw_skeleton(image, keypoints, scores=scores,
                          score_threshold=0.5, radius=2)
    assert tuple(drawn[30, 50]) == INDEX
    assert np.array_equal(drawn[:, :45], image[:, :45])


def test_default_sizes_scale_with_the_image():
    assert (default_thickness((64, 64)), default_radius((64, 64))) == (2, 2)
    assert (default_thickness((960, 540)), default_radius((960, 540))) == \
        (5, 8)


def test_draw_skeleton_rejects_bad_input():
    with pytest.raises(ValueError, match=r'keypoints must be \(21, 2\)'):
        draw_skeleton(blank(), np.zeros((20, 2)))
    with pytest.raises(ValueError, match='BGR uint8'):
        draw_skeleton(blank().astype(np.float32), np.zeros((21, 2)))
    with pytest.raises(ValueError, match=r'scores must be \(21,\)'):
        draw_skeleton(blank(), np.zeros((21, 2)), scores=np.zeros(3))


def test_draw_scores_labels_only_the_kept_keypoints():
    image = blank(128, 128)
    keypoints, _ = only([1, 2], [(20, 40), (20, 90)])
    scores = np.zeros(21)
    scores[1], scores[2] = 0.9, 0.3
    drawn = draw_scores(image, keypoints, scores, score_threshold=0.5)
    mask = changed(image, drawn)
    rows, cols = np.nonzero(mask)
    assert rows.max() < 60 and cols.min() > 20  # only right of keypoint 1
    assert mask[30:45, 22:60].any()
    unchanged = draw_scores(image, keypoints, np.zeros(21),
                            score_threshold=0.5)
    assert np.array_equal(unchanged, image)


def test_overlay_of_zero_maps_leaves_the_image_and_ones_blend_alpha():
    image = blank(16, 16)
    assert np.array_equal(overlay_maps(image, np.zeros((3, 4, 4))), image)
    hot = colorize(np.ones((1, 1)))[0, 0].astype(np.float64)
    half = overlay_maps(image, np.ones((2, 4, 4)), alpha=0.5)
    expected = np.round((GREY + hot) / 2)
    assert (half.reshape(-1, 3) == expected).all()
    full = overlay_maps(image, np.ones((1, 4, 4)), alpha=1.0)
    assert (full.reshape(-1, 3) == hot).all()
    with pytest.raises(ValueError, match=r'alpha must be in \[0, 1\]'):
        overlay_maps(image, np.ones((1, 4, 4)), alpha=2)


def test_overlay_with_a_crop_covers_only_the_crop():
    image = blank(40, 40)
    # The 20 x 20 square centred on (9.5, 9.5) -> a 20 x 20 input:
    # the identity warp; maps of stride 4.
    warp_mat = get_warp_matrix((9.5, 9.5), 20, 0.0, (20, 20))
    np.testing.assert_allclose(warp_mat, np.eye(3)[:2], atol=1e-6)
    drawn = overlay_maps(image, np.ones((1, 5, 5)), alpha=1.0,
                         warp_mat=warp_mat, input_size=(20, 20))
    hot = colorize(np.ones((1, 1)))[0, 0]
    assert (drawn[:20, :20] == hot).all()
    assert (drawn[20:] == GREY).all() and (drawn[:, 20:] == GREY).all()
    # One hot map pixel (2, 1) -> input (8, 4): its peak colour is there.
    maps = np.zeros((1, 5, 5))
    maps[0, 1, 2] = 1.0
    peak = overlay_maps(image, maps, alpha=1.0, warp_mat=warp_mat,
                        input_size=(20, 20))
    assert tuple(peak[4, 8]) == tuple(hot)
    assert tuple(peak[12, 16]) == (GREY, ) * 3


def test_map_grid_has_one_captioned_tile_per_map():
    maps = np.zeros((7, 8, 8), np.float32)
    maps[0] = 1.0
    grid = map_grid(maps, names=list('abcdefg'), tile=32)
    tile_h = 32 + caption_height(32)
    assert grid.shape == (tile_h, 7 * 32 + 6 * 4, 3)
    assert (grid[:32, :32] == colorize(np.ones((1, 1)))[0, 0]).all()
    assert (grid[:32, 36:68] == colorize(np.zeros((1, 1)))[0, 0]).all()
    assert (grid[32:tile_h, :32] > 0).any()  # the caption
    three = map_grid(np.zeros((21, 8, 8)), tile=32, cols=3)
    assert three.shape == (7 * tile_h + 6 * 4, 3 * 32 + 2 * 4, 3)
    with pytest.raises(ValueError, match='2 names for 7 maps'):
        map_grid(maps, names=['a', 'b'])


def test_image_grid_and_side_by_side_layout():
    images = [np.full((10, 20, 3), value, np.uint8) for value in range(1, 6)]
    grid = image_grid(images, cols=2, pad=4)
    assert grid.shape == (3 * 10 + 2 * 4, 2 * 20 + 4, 3)
    assert (grid[14:24, 24:44] == 4).all()  # image 3: row 1, column 1
    assert (grid[28:38, 24:44] == 0).all()  # no sixth image
    row = side_by_side(np.full((10, 20, 3), 1, np.uint8),
                       np.full((30, 5, 3), 2, np.uint8), pad=4)
    assert row.shape == (30, 29, 3)
    assert (row[:10, :20] == 1).all() and (row[10:, :20] == 0).all()
    assert (row[:, 24:] == 2).all()


def prediction_with_gt():
    gt, visible = only([5, 6], [(10, 30), (50, 30)])
    return dict(pred_keypoints=np.full((21, 2), 60.0, np.float32),
                pred_scores=np.zeros(21, np.float32),
                gt_keypoints=gt, gt_keypoints_visible=visible,
                structure_maps=np.ones((7, 8, 8), np.float32))


def test_draw_prediction_draws_gt_in_white_and_adds_the_map_panel():
    image = blank()
    prediction = prediction_with_gt()
    drawn = draw_prediction(image, prediction, score_threshold=0.5)
    assert drawn.shape == (64, 2 * 64 + 4, 3)
    assert tuple(drawn[30, 30]) == (255, 255, 255)
    assert (drawn[:, :64][~changed(image, drawn[:, :64])] == GREY).all()
    panel = drawn[:, 68:]
    assert (panel == overlay_maps(image, prediction['structure_maps'])).all()
    alone = draw_prediction(image, prediction, draw_gt=False,
                            draw_maps=False, score_threshold=0.5)
    assert np.array_equal(alone, image)


def test_to_input_frame_maps_keypoints_with_warp_mat():
    warp_mat = np.array([[2.0, 0.0, 1.0], [0.0, 2.0, -1.0]])
    keypoints = np.arange(42, dtype=np.float32).reshape(21, 2)
    frame = to_input_frame(dict(pred_keypoints=keypoints,
                                gt_keypoints=keypoints, warp_mat=warp_mat,
                                input_size=(64, 64)))
    np.testing.assert_allclose(frame['pred_keypoints'][3], (13.0, 13.0))
    np.testing.assert_allclose(frame['gt_keypoints'][0], (1.0, 1.0))
    assert 'warp_mat' not in frame and 'input_size' not in frame


def test_visualizer_writes_out_file_and_sends_to_backends(tmp_path):
    visualizer = VISUALIZERS.build(dict(
        type='HandVisualizer', name='test_hand_visualizer',
        vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path)))
    assert isinstance(visualizer, HandVisualizer)
    assert isinstance(visualizer, Visualizer)
    image = blank()
    out_file = tmp_path / 'out' / 'sample.png'
    drawn = visualizer.add_datasample('sample', image, prediction_with_gt(),
                                      out_file=str(out_file))
    assert np.array_equal(cv2.imread(str(out_file)), drawn)
    assert drawn.shape == (64, 132, 3)
    # the file is written and the backends get the picture too
    sent = tmp_path / 'vis_data' / 'vis_image' / 'sample_0.png'
    assert np.array_equal(cv2.imread(str(sent)), drawn)
    visualizer.add_datasample('sample', image, prediction_with_gt(),
                              draw_maps=False, step=3)
    sent = tmp_path / 'vis_data' / 'vis_image' / 'sample_3.png'
    assert np.array_equal(cv2.imread(str(sent)), drawn[:, :64])
