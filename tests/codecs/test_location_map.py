"""Tests of the LocationMap codec (Zhou et al., CVPR 2020, Section 4.1):
targets of a known hand, and the read-out of a known joint."""
import numpy as np
import pytest
import torch

from handkit.codecs import LocationMap
from handkit.registry import CODECS


def known_hand():
    """21 joints (mm): wrist at (10, 20, 500), middle MCP 80 mm above it
    along +y, every other joint offset from the wrist."""
    joints = np.zeros((21, 3))
    joints[:] = [10.0, 20.0, 500.0]
    offsets = np.random.default_rng(0).normal(0, 30, (21, 3))
    offsets[0] = 0
    offsets[9] = [0.0, 80.0, 0.0]
    return joints + offsets


def test_encode_targets_of_a_known_hand():
    codec = LocationMap(input_size=(128, 128), heatmap_size=(32, 32),
                        sigma=1.0)
    joints = known_hand()
    keypoints = np.full((21, 2), 64.0)
    keypoints[9] = (40.0, 80.0)  # map pixel (10, 20)
    visible = np.ones(21)
    visible[3] = 0
    targets = codec.encode(keypoints, visible, joints)
    assert sorted(targets) == ['deltas', 'heatmaps', 'keypoint_weights',
                               'locations']
    assert targets['heatmaps'].shape == (21, 32, 32)
    assert targets['heatmaps'][9, 20, 10] == pytest.approx(1.0)
    assert targets['heatmaps'][3].max() == 0.0  # invisible: no heatmap
    assert targets['keypoint_weights'][3] == 0.0
    # L^GT: relative to the middle MCP, in wrist -> middle-MCP bones (80 mm)
    np.testing.assert_allclose(targets['locations'][9], [0, 0, 0])
    np.testing.assert_allclose(targets['locations'][0], [0, -1, 0])
    np.testing.assert_allclose(targets['locations'][5],
                               (joints[5] - joints[9]) / 80.0, rtol=1e-5)
    # D^GT: unit bone directions parent -> joint; none for the wrist
    np.testing.assert_allclose(targets['deltas'][0], [0, 0, 0])
    np.testing.assert_allclose(targets['deltas'][9], [0, 1, 0], atol=1e-6)
    bone = joints[6] - joints[5]
    np.testing.assert_allclose(targets['deltas'][6],
                               bone / np.linalg.norm(bone), rtol=1e-5)
    assert all(value.dtype == np.float32 for value in targets.values())


def test_decode_reads_the_location_map_at_the_heatmap_argmax():
    codec = CODECS.build(dict(type='LocationMap', heatmap_size=(32, 32)))
    rng = np.random.default_rng(1)
    heatmaps = rng.uniform(0, 0.5, (2, 21, 32, 32)).astype(np.float32)
    location_maps = rng.normal(0, 1, (2, 21, 3, 32, 32)).astype(np.float32)
    # sample 1, joint 7: peak at row 5, column 30, holding (0.25, -1.5, 2)
    heatmaps[1, 7, 5, 30] = 1.0
    location_maps[1, 7, :, 5, 30] = (0.25, -1.5, 2.0)
    decoded = codec.decode(heatmaps, location_maps)
    assert decoded.shape == (2, 21, 3)
    np.testing.assert_allclose(decoded[1, 7], [0.25, -1.5, 2.0])
    # every joint is read at its own argmax
    peaks = heatmaps.reshape(2, 21, -1).argmax(-1)
    expected = location_maps.reshape(2, 21, 3, -1)[
        np.arange(2)[:, None], np.arange(21)[None], :, peaks]
    np.testing.assert_allclose(decoded, expected)
    # torch in, torch out, the same values
    decoded_torch = codec.decode(torch.from_numpy(heatmaps),
                                 torch.from_numpy(location_maps))
    assert isinstance(decoded_torch, torch.Tensor)
    np.testing.assert_allclose(decoded_torch.numpy(), decoded)


def test_round_trip_to_mm():
    codec = LocationMap()
    joints = known_hand()
    keypoints = np.random.default_rng(2).uniform(8, 120, (21, 2))
    targets = codec.encode(keypoints, None, joints)
    # maps that hold the target vector at every pixel, as L^GT does
    location_maps = np.broadcast_to(targets['locations'][:, :, None, None],
                                    (21, 3, 32, 32))
    read = codec.decode(targets['heatmaps'], location_maps)
    np.testing.assert_allclose(read, targets['locations'])
    bone_mm = codec.reference_length(joints)
    assert bone_mm == pytest.approx(80.0)
    np.testing.assert_allclose(codec.denormalize(read, bone_mm),
                               joints - joints[9], atol=1e-3)
    # the 2D read-out: the KCM decode, within a quarter map pixel
    keypoints_2d, scores = codec.decode_keypoints(targets['heatmaps'])
    assert np.abs(keypoints_2d - keypoints).max() <= 4 * 0.75
    assert scores.shape == (21, )


def test_bad_labels_are_named():
    codec = LocationMap()
    keypoints = np.full((21, 2), 64.0)
    with pytest.raises(ValueError, match=r'keypoints_3d must have shape '
                       r'\(21, 3\), got \(21, 2\)'):
        codec.encode(keypoints, None, np.zeros((21, 2)))
    joints = known_hand()
    joints[4, 1] = np.nan
    with pytest.raises(ValueError, match='keypoints_3d holds NaN'):
        codec.encode(keypoints, None, joints)
    flat = np.zeros((21, 3))
    with pytest.raises(ValueError, match=r'reference bone \(0, 9\) has '
                       'length 0'):
        codec.encode(keypoints, None, flat)
    with pytest.raises(ValueError, match='reference_bone must be two '
                       'different joints'):
        LocationMap(reference_bone=(9, 9))
    with pytest.raises(ValueError, match=r'root_index must be a joint index'):
        LocationMap(root_index=21)
    with pytest.raises(ValueError, match='must match'):
        codec.decode(np.zeros((21, 32, 32)), np.zeros((21, 3, 16, 16)))


def test_settings_name_the_codec():
    codec = LocationMap(sigma=1.5)
    assert codec.settings() == dict(
        input_size=(128, 128), heatmap_size=(32, 32), sigma=1.5,
        root_index=9, reference_bone=(0, 9))
    assert codec.encode_inputs == ('transformed_keypoints',
                                   'keypoints_visible', 'keypoints_3d')
