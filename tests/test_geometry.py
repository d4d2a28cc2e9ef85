"""handkit.geometry: the warp matrices, their inverse and the pinhole."""
import numpy as np
import pytest

from handkit.geometry import (apply_affine, cube_window, get_warp_matrix,
                              invert_affine, project_points, uvd_to_xyz,
                              window_warp_matrix, xyz_to_uvd)


def test_pinhole_projection_by_hand():
    cam_K = np.array([[500.0, 0, 320], [0, 400.0, 240], [0, 0, 1]])
    points = np.array([[0.0, 0, 1000], [100, -50, 500]])
    # u = fx x / z + cx, v = fy y / z + cy
    np.testing.assert_allclose(project_points(points, cam_K),
                               [[320, 240], [420, 200]])


def test_batched_intrinsics_project_each_sample_with_its_own():
    cam_K = np.stack([np.diag([100.0, 100, 1]), np.diag([200.0, 50, 1])])
    points = np.array([[[10.0, 20, 100]], [[10.0, 20, 100]]])  # (2, 1, 3)
    np.testing.assert_allclose(project_points(points, cam_K),
                               [[[10, 20]], [[20, 10]]])


def test_batched_affine_maps_each_sample_with_its_own_matrix():
    warps = np.stack([get_warp_matrix((10, 20), 50, 0, (100, 100)),
                      get_warp_matrix((0, 0), 25, 90, (100, 100))])
    points = np.array([[[10.0, 20.0], [15.0, 20.0]],
                       [[0.0, 0.0], [5.0, 0.0]]])  # (2, 2, 2)
    mapped = apply_affine(points, warps)
    # centre -> (49.5, 49.5); 5 px right at scale 2 -> 10 px right, and
    # at scale 4 turned by +90 -> 20 px up
    np.testing.assert_allclose(mapped, [[[49.5, 49.5], [59.5, 49.5]],
                                        [[49.5, 49.5], [49.5, 29.5]]],
                               atol=1e-4)
    np.testing.assert_allclose(apply_affine(mapped, invert_affine(warps)),
                               points, atol=1e-4)


def test_invert_affine_by_hand_and_bad_shape():
    warp = np.array([[2.0, 0, 5], [0, 4.0, -8]])
    np.testing.assert_allclose(invert_affine(warp),
                               [[0.5, 0, -2.5], [0, 0.25, 2]])
    with pytest.raises(ValueError, match=r'must be \(\.\.\., 2, 3\)'):
        invert_affine(np.eye(3))


def test_uvd_round_trip_and_cube_window():
    cam_K = np.array([[100.0, 0, 32], [0, 200.0, 16], [0, 0, 1]])
    xyz = np.array([[30.0, -15.0, 300.0], [0.0, 0.0, 600.0]])
    uvd = xyz_to_uvd(xyz, cam_K)
    np.testing.assert_allclose(uvd, [[42, 6, 300], [32, 16, 600]])
    np.testing.assert_allclose(uvd_to_xyz(uvd, cam_K), xyz)
    # 300 mm at 300 mm depth: half-width 150 * 100 / 300 = 50 px, half-height
    # 150 * 200 / 300 = 100 px around the centre's projection (42, 6)
    window = cube_window(xyz[0], 300.0, cam_K)
    np.testing.assert_allclose(window, [-8, -94, 92, 106])
    # the window's outer edges go to the input's outer edges
    warp = window_warp_matrix(window, (50, 100))
    np.testing.assert_allclose(
        apply_affine([[-8, -94], [42, 6]], warp),
        [[-0.5, -0.5], [24.5, 49.5]], atol=1e-5)
