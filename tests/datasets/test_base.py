import numpy as np

from handkit.datasets.base import project_points


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
