"""Tests of the BoneTree codec (Bekiri and Babahenini, eq. 3 and its
inverse)."""
import numpy as np
import pytest
import torch

from handkit.codecs.bone_tree import BoneTree
from handkit.hand.bones import BONE_ANCESTORS, bones_to_joints


def random_hand(seed=0):
    return np.random.default_rng(seed).normal(0, 50, (21, 3)).astype(
        np.float32) + np.float32([10, -20, 400])


def test_encode_bones_follow_eq3():
    joints = random_hand()
    encoded = BoneTree().encode(joints)
    assert encoded['bones'].shape == (20, 3)
    # bone 0 ends at joint 1 (thumb CMC, parent wrist); bone 5 at joint 6
    # (index PIP, parent joint 5); bone 19 at joint 20 (little tip, parent 19)
    np.testing.assert_allclose(encoded['bones'][0], joints[1] - joints[0])
    np.testing.assert_allclose(encoded['bones'][5], joints[6] - joints[5])
    np.testing.assert_allclose(encoded['bones'][19], joints[20] - joints[19])
    np.testing.assert_allclose(encoded['keypoints_3d_rel'],
                               joints - joints[0])
    np.testing.assert_array_equal(encoded['bone_weights'], np.ones(20))


def test_round_trip_numpy_and_torch():
    codec = BoneTree()
    joints = random_hand(1)
    encoded = codec.encode(joints)
    np.testing.assert_allclose(codec.decode(encoded['bones']),
                               encoded['keypoints_3d_rel'], atol=1e-4)
    batch = torch.from_numpy(np.stack([encoded['bones']] * 2))
    decoded = codec.decode(batch)
    assert isinstance(decoded, torch.Tensor) and decoded.shape == (2, 21, 3)
    np.testing.assert_allclose(decoded[1].numpy(), encoded['keypoints_3d_rel'],
                               atol=1e-4)


def test_ancestor_matrix_paths():
    # the middle fingertip (12) sums bones 8..11 (joints 9..12); wrist none
    np.testing.assert_array_equal(np.nonzero(BONE_ANCESTORS[12])[0],
                                  [8, 9, 10, 11])
    assert BONE_ANCESTORS[0].sum() == 0
    assert BONE_ANCESTORS.sum() == 5 * (1 + 2 + 3 + 4)


def test_bone_weights_need_both_ends_visible():
    visible = np.ones(21, np.float32)
    visible[5] = 0  # index MCP: bone 4 (wrist->5) and bone 5 (5->6) lose it
    weights = BoneTree().encode(random_hand(), visible)['bone_weights']
    assert weights.sum() == 18 and weights[4] == 0 and weights[5] == 0


def test_bad_shapes_raise():
    with pytest.raises(ValueError,
                       match=r'keypoints_3d must have shape \(21, 3\)'):
        BoneTree().encode(np.zeros((14, 3)))
    with pytest.raises(ValueError,
                       match=r'bones must have shape \(\.\.\., 20, 3\)'):
        bones_to_joints(np.zeros((21, 3)))
    with pytest.raises(ValueError, match='NaN'):
        BoneTree().encode(np.full((21, 3), np.nan))
