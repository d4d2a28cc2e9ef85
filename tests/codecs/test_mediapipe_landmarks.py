"""MediaPipeLandmarks: the landmark model's raw outputs and targets."""
import numpy as np
import pytest

from handkit.codecs.mediapipe_landmarks import MediaPipeLandmarks
from handkit.datasets.transforms import GenerateTargets
from handkit.registry import CODECS


def test_decode_by_hand():
    codec = MediaPipeLandmarks()
    index = np.arange(21, dtype=np.float32)
    raw = np.stack([10 + index, 20 + index, 2 * index], 1).reshape(1, 63)
    world = np.stack([index, -index, 0.5 * index], 1).reshape(1, 63) / 100
    decoded = codec.decode(raw, np.array([[0.8]]), np.array([[0.3]]), world)
    assert sorted(decoded) == ['handedness', 'keypoints', 'keypoints_z',
                               'presence', 'scores', 'world_keypoints']
    # crop pixel i spans [i, i + 1] in MediaPipe: centre at i here
    np.testing.assert_allclose(decoded['keypoints'][0],
                               np.stack([9.5 + index, 19.5 + index], 1))
    np.testing.assert_allclose(decoded['keypoints_z'][0], 2 * index / 0.4,
                               rtol=1e-6)
    np.testing.assert_allclose(decoded['scores'], np.full((1, 21), 0.8))
    np.testing.assert_allclose(decoded['presence'], [0.8])
    # the raw value scores the model's label 'Left' (handedness.txt)
    np.testing.assert_allclose(decoded['handedness'], [0.7], rtol=1e-6)
    np.testing.assert_allclose(decoded['world_keypoints'][0, 20],
                               [0.2, -0.2, 0.1], rtol=1e-6)
    single = codec.decode(raw[0], [0.8], [0.3], world[0])
    assert single['keypoints'].shape == (21, 2)
    with pytest.raises(ValueError, match=r'landmarks must be \(2, 63\)'):
        codec.decode(np.zeros((2, 42)), np.zeros((2, 1)), np.zeros((2, 1)),
                     np.zeros((2, 63)))


def test_encode_by_hand_and_round_trip():
    codec = CODECS.build(dict(type='MediaPipeLandmarks'))
    keypoints = np.stack([np.arange(21) * 2.0, 100 - np.arange(21)], 1)
    visible = np.ones(21)
    visible[[3, 7]] = 0
    targets = codec.encode(keypoints, visible)
    assert sorted(targets) == ['hand_presence', 'handedness',
                               'handedness_weight', 'landmark_coords',
                               'landmark_weights', 'landmark_z_weights']
    np.testing.assert_allclose(targets['landmark_coords'][0], [0.5, 100.5, 0])
    np.testing.assert_allclose(targets['landmark_coords'][3], [0, 0, 0])
    np.testing.assert_array_equal(targets['landmark_weights'], visible)
    np.testing.assert_array_equal(targets['landmark_z_weights'], 0)  # no z
    np.testing.assert_array_equal(targets['hand_presence'], [1])
    np.testing.assert_array_equal(targets['handedness_weight'], [0])
    # with depth: z in x's pixels -> raw (* normalize_z), weighted
    with_z = np.concatenate([keypoints, np.full((21, 1), 10.0)], 1)
    targets = codec.encode(with_z, None)
    np.testing.assert_allclose(targets['landmark_coords'][:, 2], 4.0)
    np.testing.assert_array_equal(targets['landmark_z_weights'], 1)
    decoded = codec.decode(targets['landmark_coords'].reshape(1, 63), [[1]],
                           [[0.5]], np.zeros((1, 63)))
    np.testing.assert_allclose(decoded['keypoints'][0], keypoints, atol=1e-5)
    np.testing.assert_allclose(decoded['keypoints_z'][0], 10.0, rtol=1e-6)


@pytest.mark.parametrize('side, mirrored, raw', [
    ('right', False, 1.0),  # a right hand in a photo: the model's 'Left'
    ('left', False, 0.0),
    ('left', True, 1.0),    # in a selfie image the label is the true side
    ('right', True, 0.0),
    (None, False, 0.0)])
def test_handedness_target_in_the_models_raw_units(side, mirrored, raw):
    codec = MediaPipeLandmarks(use_hand_side=True, mirrored=mirrored)
    assert codec.encode_inputs == ('transformed_keypoints',
                                   'keypoints_visible', 'hand_side')
    targets = codec.encode(np.zeros((21, 2)), None, side)
    np.testing.assert_array_equal(targets['handedness'], [raw])
    np.testing.assert_array_equal(targets['handedness_weight'],
                                  [float(side is not None)])


def test_generate_targets_reads_hand_side_only_when_asked():
    results = dict(transformed_keypoints=np.zeros((21, 2), np.float32),
                   keypoints_visible=np.ones(21, np.float32),
                   hand_side='right')
    plain = GenerateTargets(dict(type='MediaPipeLandmarks')).transform(
        dict(results))
    assert plain['targets']['handedness_weight'][0] == 0
    sided = GenerateTargets(dict(type='MediaPipeLandmarks',
                                 use_hand_side=True)).transform(dict(results))
    assert sided['targets']['handedness'][0] == 1
    assert sided['targets']['handedness_weight'][0] == 1
    del results['hand_side']
    with pytest.raises(KeyError, match="no 'hand_side'"):
        GenerateTargets(dict(type='MediaPipeLandmarks',
                             use_hand_side=True)).transform(results)
    with pytest.raises(ValueError, match='hand_side must be one of'):
        MediaPipeLandmarks().encode(np.zeros((21, 2)), None, 'up')
