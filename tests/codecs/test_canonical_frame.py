"""Tests of the CanonicalFrame codec (Zimmermann & Brox, ICCV 2017,
Section 4.3): the canonical frame's properties, the round trip on random
hands of the synthetic hand model (both sides), the mirrored side, the
rotation's axis-angle and the error messages."""
import numpy as np
import pytest
import torch

from handkit.codecs import CanonicalFrame
from handkit.codecs.canonical_frame import axis_angle_to_matrix
from handkit.datasets.synthetic.hand_model import sample_hands
from handkit.registry import CODECS


def synthetic_hands(num=32, left_ratio=0.5, seed=0):
    """(N, 21, 3) mm joints and (N,) sides of the synthetic hand model."""
    hands = sample_hands(np.random.default_rng(seed), num, (256, 256),
                         left_ratio=left_ratio)
    sides = np.where(hands['is_left'], 'left', 'right')
    return hands['keypoints_3d'], sides


def encode_all(codec, joints, sides):
    encoded = [codec.encode(hand, side) for hand, side in zip(joints, sides)]
    return {key: np.stack([sample[key] for sample in encoded])
            for key in encoded[0]}


def test_canonical_frame_properties_on_both_sides():
    joints, sides = synthetic_hands()
    assert set(sides) == {'left', 'right'}
    codec = CODECS.build(dict(type='CanonicalFrame'))
    targets = encode_all(codec, joints, sides)
    assert {key: value.shape for key, value in targets.items()} == {
        'canonical_keypoints': (32, 21, 3), 'rotation': (32, 3, 3),
        'axis_angle': (32, 3), 'keypoints_3d_normalized': (32, 21, 3)}
    normalized, canonical = (targets['keypoints_3d_normalized'],
                             targets['canonical_keypoints'])
    # root: the palm (midpoint of wrist and middle MCP) at 0, in 9 -> 10
    # bones
    palm = 0.5 * (normalized[:, 0] + normalized[:, 9])
    np.testing.assert_allclose(palm, 0, atol=1e-5)
    np.testing.assert_allclose(
        np.linalg.norm(normalized[:, 10] - normalized[:, 9], axis=-1), 1,
        rtol=1e-5)
    # middle MCP on the -y axis, little MCP in z = 0 with x > 0
    np.testing.assert_allclose(canonical[:, 9, [0, 2]], 0, atol=1e-5)
    assert (canonical[:, 9, 1] < 0).all()
    np.testing.assert_allclose(canonical[:, 17, 2], 0, atol=1e-5)
    assert (canonical[:, 17, 0] > 0).all()
    # rotations are proper and orthonormal
    rotation = targets['rotation'].astype(np.float64)
    np.testing.assert_allclose(rotation @ rotation.swapaxes(1, 2),
                               np.broadcast_to(np.eye(3), (32, 3, 3)),
                               atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(rotation), 1, atol=1e-5)


def test_round_trip_back_to_millimetres():
    joints, sides = synthetic_hands(seed=1)
    codec = CanonicalFrame()
    targets = encode_all(codec, joints, sides)
    normalized = codec.decode(targets['canonical_keypoints'],
                              targets['rotation'], sides)
    np.testing.assert_allclose(normalized,
                               targets['keypoints_3d_normalized'],
                               atol=1e-5)
    bone = np.linalg.norm(joints[:, 10] - joints[:, 9], axis=-1)
    palm = 0.5 * (joints[:, 0] + joints[:, 9])
    np.testing.assert_allclose(codec.denormalize(normalized, bone),
                               joints - palm[:, None], atol=1e-3)


def test_mirrored_side_shares_the_other_sides_canonical_hand():
    # One seed, the hand drawn left or right: mirror images of each other.
    # With the left side mirrored, both give the same canonical joints, and
    # without the mirror the left one's z is negated.
    left, _ = synthetic_hands(8, left_ratio=1.0, seed=2)
    right, _ = synthetic_hands(8, left_ratio=0.0, seed=2)
    mirrored = CanonicalFrame(flip_side='left')
    left_can = encode_all(mirrored, left, ['left'] * 8)[
        'canonical_keypoints']
    right_can = encode_all(mirrored, right, ['right'] * 8)[
        'canonical_keypoints']
    np.testing.assert_allclose(left_can, right_can, atol=1e-5)
    their_side = CanonicalFrame(flip_side='right')  # the authors' code
    left_plain = encode_all(their_side, left, ['left'] * 8)[
        'canonical_keypoints']
    np.testing.assert_allclose(left_plain * [1, 1, -1], left_can, atol=1e-5)


def test_wrist_root_puts_the_wrist_at_the_origin():
    joints, sides = synthetic_hands(4)
    targets = encode_all(CanonicalFrame(root='wrist'), joints, sides)
    np.testing.assert_allclose(targets['keypoints_3d_normalized'][:, 0], 0,
                               atol=1e-6)
    np.testing.assert_allclose(targets['canonical_keypoints'][:, 0], 0,
                               atol=1e-6)


def test_axis_angle_gives_the_rotation_and_a_gradient_at_zero():
    joints, sides = synthetic_hands(8)
    targets = encode_all(CanonicalFrame(), joints, sides)
    built = axis_angle_to_matrix(torch.from_numpy(
        targets['axis_angle']).double())
    np.testing.assert_allclose(built.numpy(), targets['rotation'],
                               atol=1e-5)
    # a quarter turn about z, by hand: x -> y
    quarter = axis_angle_to_matrix(torch.tensor([0.0, 0.0, np.pi / 2]))
    np.testing.assert_allclose(quarter.numpy(),
                               [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-6)
    zero = torch.zeros(3, requires_grad=True)
    axis_angle_to_matrix(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_torch_mirror_matches_numpy():
    codec = CanonicalFrame()
    canonical = np.random.default_rng(0).normal(size=(2, 21, 3))
    sides = np.array([0, 1])  # left (mirrored), right
    mirrored = codec.mirror(torch.from_numpy(canonical),
                            torch.from_numpy(sides)).numpy()
    np.testing.assert_allclose(mirrored, codec.mirror(canonical, sides))
    np.testing.assert_allclose(mirrored[0, :, 2], -canonical[0, :, 2])
    np.testing.assert_allclose(mirrored[1], canonical[1])


def test_errors_name_the_value():
    joints, _ = synthetic_hands(1)
    with pytest.raises(ValueError, match="hand_side must be 'left' or "
                       "'right', got 'L'"):
        CanonicalFrame().encode(joints[0], 'L')
    flat = joints[0].copy()
    flat[10] = flat[9]
    with pytest.raises(ValueError, match='middle MCP -> PIP bone has length '
                       '0'):
        CanonicalFrame().encode(flat, 'left')
    with pytest.raises(ValueError, match="CanonicalFrame root must be one "
                       "of \\['palm', 'wrist'\\], got 'elbow'"):
        CanonicalFrame(root='elbow')
    with pytest.raises(ValueError, match='keypoints_3d must be finite'):
        CanonicalFrame().encode(np.zeros((20, 3)), 'left')


def test_frame_is_the_three_rotations_of_their_canonical_trafo():
    # The authors' canonical_trafo turns the joints (row vectors) about z
    # until the middle MCP is in the yz plane, about x until it is on -y,
    # and about y until the little MCP is in z = 0: one proper rotation,
    # the one built here from the axes directly.
    def about(axis, angle):
        cos, sin = np.cos(angle), np.sin(angle)
        matrix = np.eye(3)
        i, j = [k for k in range(3) if k != axis]
        matrix[[i, i, j, j], [i, j, i, j]] = cos, sin, -sin, cos
        return matrix if axis != 1 else matrix.T

    joints, _ = synthetic_hands(4, seed=3)
    for hand in CanonicalFrame().normalize(joints):
        total = np.eye(3)
        for axis, point, (first, second), offset in (
                (2, 9, (0, 1), 0.0), (0, 9, (2, 1), np.pi),
                (1, 17, (2, 0), 0.0)):
            moved = hand @ total
            sign = -1 if axis == 0 else 1
            total = total @ about(axis, sign * np.arctan2(
                moved[point, first], moved[point, second]) + offset)
        canonical, rotation = CanonicalFrame.to_canonical(hand)
        np.testing.assert_allclose(hand @ total, canonical, atol=1e-9)
        np.testing.assert_allclose(np.linalg.inv(total), rotation,
                                   atol=1e-9)
