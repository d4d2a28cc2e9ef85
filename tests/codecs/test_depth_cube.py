"""Tests of the DepthCube codec (Li and Wang's [-1, 1] joint normalisation).

The depth crop itself is the transform's: tests/datasets/transforms/
test_depth.py.
"""
import numpy as np
import pytest

from handkit.codecs.depth_cube import DepthCube
from handkit.datasets.transforms.targets import GenerateTargets
from handkit.geometry import uvd_to_xyz, xyz_to_uvd


def test_joints_round_trip_and_uvd():
    codec = DepthCube(cube_size=300)
    cam_K = np.array([[588.03, 0, 320], [0, 587.07, 240], [0, 0, 1]])
    center = np.array([-31.5, 12.25, 655.0])
    joints = center + np.random.default_rng(0).uniform(-200, 200, (14, 3))
    out = codec.encode(joints, center)
    np.testing.assert_allclose(out['joints_cube'],
                               (joints - center) / 150.0, atol=1e-6)
    np.testing.assert_allclose(codec.decode(out['joints_cube'], center),
                               joints, atol=1e-4)
    np.testing.assert_allclose(uvd_to_xyz(xyz_to_uvd(joints, cam_K), cam_K),
                               joints, atol=1e-6)
    batch = DepthCube.cube_to_camera(np.stack([out['joints_cube']] * 2),
                                     np.stack([center, center + 10]),
                                     np.array([300.0, 300.0]))
    np.testing.assert_allclose(batch[1], joints + 10, atol=1e-3)


def test_bad_inputs_raise():
    codec = DepthCube()
    with pytest.raises(ValueError, match='center depth must be positive'):
        codec.encode(np.zeros((14, 3)), [0, 0, -5])
    with pytest.raises(ValueError,
                       match=r'joints_3d must have shape \(J, 3\)'):
        codec.encode(np.zeros((14, 2)), [0, 0, 300])
    with pytest.raises(ValueError, match='cube_size must be positive'):
        DepthCube(cube_size=0)


def test_generate_targets_encodes_the_cube_joints():
    """As a target codec it reads the joints and the crop's cube centre."""
    joints = np.array([[10.0, -20.0, 450.0], [0.0, 0.0, 300.0]])
    targets = GenerateTargets(dict(type='DepthCube', cube_size=200))(dict(
        keypoints_3d=joints, cube_center=np.array([0.0, 0.0, 400.0])))[
            'targets']
    np.testing.assert_allclose(targets['joints_cube'],
                               [[0.1, -0.2, 0.5], [0, 0, -1]], atol=1e-7)
