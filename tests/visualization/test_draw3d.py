"""3D drawings: the image map of a weak-perspective prediction, the two
joint views and the mesh overlay, on hand-made cases."""
import numpy as np
import pytest

from handkit.visualization.draw import GT_COLOR
from handkit.visualization.draw3d import (draw_3d_views, draw_mesh,
                                          fit_image_map)

RNG = np.random.default_rng(0)
JOINTS = RNG.normal(0, 40, (21, 3))
# a weak-perspective camera and a crop warp: 2 px per mm, turned 30 degrees,
# mirrored in x, shifted
ANGLE = np.deg2rad(30)
LINEAR = 2 * np.array([[np.cos(ANGLE), -np.sin(ANGLE)],
                       [np.sin(ANGLE), np.cos(ANGLE)]]) @ np.diag([-1, 1])
SHIFT = np.array([100.0, 80.0])


def test_the_image_map_of_a_weak_perspective_prediction_is_exact():
    keypoints = JOINTS[:, :2] @ LINEAR.T + SHIFT
    image_map = fit_image_map(JOINTS, keypoints)
    np.testing.assert_allclose(image_map[:, :2], LINEAR, atol=1e-9)
    np.testing.assert_allclose(image_map[:, 2], SHIFT, atol=1e-9)


def test_views_are_two_squares_with_the_ground_truth_in_white():
    views = draw_3d_views(JOINTS, JOINTS * 1.3, size=128)
    assert views.shape == (128, 2 * 128 + 4, 3) and views.dtype == np.uint8
    white = (views == GT_COLOR).all(-1)
    assert white[:, :128].any() and white[:, 132:].any()
    assert not (views[:, 128:132] > 0).any()  # the gap between the views
    # the prediction is drawn in its fingers' colours over the white
    coloured = (views > 0).any(-1) & ~white
    assert coloured[:, :128].sum() > 100 and coloured[:, 132:].sum() > 100


def test_the_side_view_shows_depth_to_the_right():
    """A hand flat in the image plane is a vertical line in the side view;
    one that reaches away from the camera (z) goes right there."""
    flat = JOINTS * [1, 1, 0]
    side = draw_3d_views(flat, size=128)[:, 132:]
    columns = np.flatnonzero((side[20:] > 0).any(-1).any(0))
    assert columns.max() - columns.min() < 12  # a line, the joints' dots
    away = flat.copy()
    away[:, 2] = np.arange(21) * 5.0  # deeper joint by joint
    side = draw_3d_views(away, size=128)[:, 132:]
    tip, wrist = away[20, 2], away[0, 2]
    assert tip > wrist
    drawn = np.flatnonzero((side[20:] > 0).any(-1).any(0))
    assert drawn.max() - drawn.min() > 40


def square_mesh(side_mm=40.0):
    """A square in the z = 0 plane, two triangles, and joints spanning it
    (the image map's support)."""
    half = side_mm / 2
    vertices = np.array([[-half, -half, 0], [half, -half, 0],
                         [half, half, 0], [-half, half, 0]], np.float64)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    joints = np.concatenate([RNG.uniform(-half, half, (21, 2)),
                             np.zeros((21, 1))], 1)
    return vertices, faces, joints


def test_the_mesh_covers_its_mapped_outline():
    vertices, faces, joints = square_mesh()
    image = np.zeros((200, 200, 3), np.uint8)
    keypoints = joints[:, :2] * 2.0 + 100  # 2 px per mm, centred
    drawn = draw_mesh(image, vertices, faces, joints, keypoints, alpha=1.0)
    covered = (drawn > 0).any(-1)
    rows, cols = np.nonzero(covered)
    # the 40 mm square is 80 px wide around (100, 100)
    assert abs(covered.sum() - 80 * 80) <= 2 * 80 + 1
    assert 59 <= cols.min() <= 61 and 139 <= cols.max() <= 141
    assert 59 <= rows.min() <= 61 and 139 <= rows.max() <= 141
    # alpha blends over the image
    grey = np.full((200, 200, 3), 100, np.uint8)
    half = draw_mesh(grey, vertices, faces, joints, keypoints, alpha=0.5)
    full = draw_mesh(grey, vertices, faces, joints, keypoints, alpha=1.0)
    np.testing.assert_allclose(half[100, 100], (100 + full[100, 100].astype(
        float)) / 2, atol=1)


def test_bad_inputs_are_one_line():
    vertices, faces, joints = square_mesh()
    image = np.zeros((50, 50, 3), np.uint8)
    with pytest.raises(ValueError, match=r'keypoints_3d must be finite '
                       r'\(21, 3\), got shape \(5, 3\)'):
        draw_3d_views(JOINTS[:5])
    with pytest.raises(ValueError, match=r'keypoints must be \(21, 2\), got '
                       r'\(21, 3\)'):
        fit_image_map(JOINTS, JOINTS)
    with pytest.raises(ValueError, match=r'vertices must be finite \(V, 3\), '
                       r'got shape \(4, 2\)'):
        draw_mesh(image, vertices[:, :2], faces, joints, joints[:, :2])
    with pytest.raises(ValueError, match=r'alpha must be in \[0, 1\], got 2'):
        draw_mesh(image, vertices, faces, joints, joints[:, :2], alpha=2)
