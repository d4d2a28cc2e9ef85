"""The synthetic hand's joint rotations (the IKNet supervision of
handkit.datasets.synthetic.joint_rotations)."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from handkit.datasets.synthetic import hand_model
from handkit.datasets.synthetic.joint_rotations import (
    global_joint_rotations, matrix_to_quaternion, sample_ik_hands)
from handkit.hand import rest_pose, rotate_rest_pose


def test_rotations_turn_the_rest_pose_into_the_posed_hand():
    hands = sample_ik_hands(np.random.default_rng(0), 64)
    # proper rotations, both hands
    determinants = np.linalg.det(hands['rotations'])
    np.testing.assert_allclose(determinants, 1.0, atol=1e-9)
    assert 0 < hands['is_left'].mean() < 1
    # FK: bone k = G_parent(k) x rest bone k reproduces every joint
    np.testing.assert_allclose(
        rotate_rest_pose(hands['rotations'], hands['rest_keypoints_3d']),
        hands['keypoints_3d'], atol=1e-9)


def test_rest_pose_has_identity_finger_rotations():
    rng = np.random.default_rng(1)
    shape = hand_model.sample_shape(rng, 3)
    joints, frames = rest_pose(shape)
    rotations = global_joint_rotations(frames, frames)
    np.testing.assert_allclose(rotations, np.broadcast_to(np.eye(3),
                                                          rotations.shape),
                               atol=1e-12)
    # the rest hand is flat: every joint in the palm plane z = base z
    np.testing.assert_allclose(joints[:, 9, :2], shape['bases'][:, 2, :2])


def test_a_single_flexion_rotates_that_segment_only():
    rng = np.random.default_rng(2)
    shape = hand_model.sample_shape(rng, 1)
    _, rest_frames = rest_pose(shape)
    pose = dict(flexion=np.zeros((1, 5, 3)), abduction=np.zeros((1, 5)),
                thumb_cmc=np.zeros((1, 3)))
    pose['flexion'][0, 2, 1] = np.pi / 4  # the middle finger's PIP, 45 deg
    _, frames = hand_model.forward_kinematics(shape, pose)
    rotations = global_joint_rotations(frames, rest_frames)
    angles = Rotation.from_matrix(rotations[0]).magnitude()
    # joints 10 (PIP), 11 (DIP) and 12 (tip) of the middle finger turn by 45
    np.testing.assert_allclose(np.degrees(angles[[10, 11, 12]]), 45.0,
                               atol=1e-9)
    np.testing.assert_allclose(np.delete(angles, [10, 11, 12]), 0.0,
                               atol=1e-9)


def test_quaternions_are_unit_with_non_negative_w():
    rotations = Rotation.random(50, random_state=3).as_matrix()
    quaternions = matrix_to_quaternion(rotations)
    assert quaternions.shape == (50, 4)
    assert (quaternions[:, 0] >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(quaternions, axis=1), 1.0)
    # (w, x, y, z): a quarter turn about z is (cos 45, 0, 0, sin 45)
    quarter = Rotation.from_euler('z', 90, degrees=True).as_matrix()
    np.testing.assert_allclose(matrix_to_quaternion(quarter),
                               [np.sqrt(0.5), 0, 0, np.sqrt(0.5)])


def test_sampler_arguments_are_checked():
    with pytest.raises(ValueError, match='left_ratio must be in'):
        sample_ik_hands(np.random.default_rng(0), 2, left_ratio=2)
    with pytest.raises(ValueError, match='max_view_angle'):
        sample_ik_hands(np.random.default_rng(0), 2, max_view_angle=120)
