"""Tests of the DepthCube codec (paper 002's [-1, 1] depth-crop normalisation).
"""
import numpy as np
import pytest

from handkit.codecs.depth_cube import DepthCube


def ramp_depth():
    """64 x 64 depth image: d = 250 + u mm, with one missing pixel."""
    depth = np.tile(250.0 + np.arange(64, dtype=np.float32), (64, 1))
    depth[31, 33] = 0.0
    return depth


def test_crop_window_and_depth_normalisation():
    # fx = 100, centre (0, 0, 300): r = 150 * 100 / 300 = 50 px around u = 32,
    # 100 px -> 50 input px, so input pixel i samples image u = 2 i - 17.
    codec = DepthCube(cube_size=300, input_size=(50, 50), fx=100, fy=100,
                      cx=32, cy=32)
    out = codec.encode(ramp_depth(), None, np.array([0.0, 0.0, 300.0]))
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
    codec = DepthCube(cube_size=200, input_size=(8, 8), fx=50, fy=50, cx=8,
                      cy=8)
    depth = np.full((16, 16), 900.0, np.float32)  # far behind the cube
    depth[:, :8] = 100.0  # in front of it
    out = codec.encode(depth, None, np.array([0.0, 0.0, 500.0]))
    np.testing.assert_array_equal(np.unique(out['depth_input']), [-1.0, 1.0])


def test_joints_round_trip_and_uvd():
    codec = DepthCube(cube_size=300, input_size=(128, 128), fx=588.03,
                      fy=587.07, cx=320, cy=240)
    center = np.array([-31.5, 12.25, 655.0])
    joints = center + np.random.default_rng(0).uniform(-200, 200, (14, 3))
    out = codec.encode(np.zeros((480, 640), np.float32), joints, center)
    np.testing.assert_allclose(out['joints_cube'],
                               (joints - center) / 150.0, atol=1e-6)
    np.testing.assert_allclose(codec.decode(out['joints_cube'], center),
                               joints, atol=1e-4)
    np.testing.assert_allclose(codec.uvd_to_xyz(codec.xyz_to_uvd(joints)),
                               joints, atol=1e-6)
    batch = DepthCube.cube_to_camera(np.stack([out['joints_cube']] * 2),
                                     np.stack([center, center + 10]),
                                     np.array([300.0, 300.0]))
    np.testing.assert_allclose(batch[1], joints + 10, atol=1e-3)


def test_bad_inputs_raise():
    codec = DepthCube(fx=100, fy=100, cx=32, cy=32)
    with pytest.raises(ValueError, match='center depth must be positive'):
        codec.encode(np.zeros((64, 64)), None, [0, 0, -5])
    with pytest.raises(ValueError, match=r'depth must be an \(H, W\) image'):
        codec.encode(np.zeros((64, 64, 3)), None, [0, 0, 300])
    with pytest.raises(ValueError,
                       match=r'joints_3d must have shape \(J, 3\)'):
        codec.encode(np.zeros((64, 64)), np.zeros((14, 2)), [0, 0, 300])
    with pytest.raises(ValueError, match='cube_size must be positive'):
        DepthCube(cube_size=0, fx=1, fy=1, cx=0, cy=0)
