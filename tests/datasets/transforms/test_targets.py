"""GenerateTargets: builds codecs from configs and merges their outputs."""
import numpy as np
import pytest

from handkit.codecs.base import BaseCodec
from handkit.datasets.transforms.targets import GenerateTargets
from handkit.registry import CODECS, TRANSFORMS, UnknownTypeError


@CODECS.register_module(name='_FakeScaledKeypointCodec', force=True)
class _FakeScaledKeypointCodec(BaseCodec):
    """Stands in for a real codec: keypoints times a factor, and weights."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def encode(self, keypoints, keypoints_visible):
        return {'scaled_keypoints': (keypoints * self.factor).astype(
                    np.float32),
                'keypoint_weights': keypoints_visible.astype(np.float32)}


@CODECS.register_module(name='_FakeCountCodec', force=True)
class _FakeCountCodec(BaseCodec):
    """Stands in for a second codec: the number of visible keypoints."""

    def encode(self, keypoints, keypoints_visible):
        return {'num_visible': np.array([keypoints_visible.sum()], np.float32)}


def _results():
    keypoints = np.arange(42, dtype=np.float32).reshape(21, 2)
    visible = np.ones(21, np.float32)
    visible[3] = 0
    return {'transformed_keypoints': keypoints, 'keypoints_visible': visible}


def test_outputs_of_all_codecs_are_merged():
    transform = GenerateTargets([
        dict(type='_FakeScaledKeypointCodec', factor=0.125),
        dict(type='_FakeCountCodec'),
    ])
    targets = transform(_results())['targets']
    assert sorted(targets) == ['keypoint_weights', 'num_visible',
                               'scaled_keypoints']
    np.testing.assert_array_equal(targets['scaled_keypoints'],
                                  np.arange(42).reshape(21, 2) / 8)
    assert targets['keypoint_weights'][3] == 0
    np.testing.assert_array_equal(targets['num_visible'], [20])


def test_single_config_dict_is_accepted():
    transform = GenerateTargets(dict(type='_FakeCountCodec'))
    assert list(transform(_results())['targets']) == ['num_visible']


def test_named_codec_configs_are_built_in_order():
    transform = GenerateTargets(dict(
        count=dict(type='_FakeCountCodec'),
        scaled=dict(type='_FakeScaledKeypointCodec', factor=2.0)))
    assert [type(codec).__name__ for codec in transform.encoders] == [
        '_FakeCountCodec', '_FakeScaledKeypointCodec']
    targets = transform(_results())['targets']
    np.testing.assert_array_equal(targets['scaled_keypoints'][20], [80, 82])


def test_duplicate_target_name_is_refused():
    transform = GenerateTargets([dict(type='_FakeScaledKeypointCodec'),
                                 dict(type='_FakeScaledKeypointCodec')])
    with pytest.raises(ValueError,
                       match="target 'scaled_keypoints' is produced twice"):
        transform(_results())


def test_missing_transformed_keypoints_is_refused():
    results = _results()
    del results['transformed_keypoints']
    with pytest.raises(KeyError, match="no 'transformed_keypoints'"):
        GenerateTargets(dict(type='_FakeCountCodec'))(results)


def test_bad_encoders_are_refused():
    with pytest.raises(TypeError, match='encoders must be a codec config'):
        GenerateTargets('_FakeCountCodec')
    with pytest.raises(TypeError, match="got {'kcm': 3}"):
        GenerateTargets({'kcm': 3})
    with pytest.raises(UnknownTypeError, match="unknown type '_NoSuchCodec'"):
        GenerateTargets(dict(type='_NoSuchCodec'))


def test_registered_and_repr():
    transform = TRANSFORMS.build(
        dict(type='GenerateTargets', encoders=dict(type='_FakeCountCodec')))
    assert repr(transform) == \
        "GenerateTargets(encoders={'type': '_FakeCountCodec'})"


def test_bone_tree_reads_keypoints_3d_and_kcm_reads_2d():
    """Each codec gets the results keys it declares (encode_inputs)."""
    joints = np.zeros((21, 3), np.float32)
    joints[:, 0] = np.arange(21) * 10.0  # joint j at x = 10 j mm
    joints[:, 2] = 500.0
    results = dict(_results(), keypoints_3d=joints)
    transform = GenerateTargets(dict(
        bones=dict(type='BoneTree'), count=dict(type='_FakeCountCodec')))
    targets = transform(results)['targets']
    # bone b ends at joint b + 1: x difference to its parent
    parents = np.array([0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15,
                        0, 17, 18, 19])
    np.testing.assert_allclose(targets['bones'][:, 0],
                               10.0 * (np.arange(1, 21) - parents))
    assert targets['bones'][:, 1:].max() == 0
    np.testing.assert_allclose(targets['keypoints_3d_rel'][20], [200, 0, 0])
    # keypoint 3 is unlabelled: bones 2 (2 -> 3) and 3 (3 -> 4) get weight 0
    assert targets['bone_weights'].tolist() == [1, 1, 0, 0] + [1] * 16
    assert targets['num_visible'].tolist() == [20]


def test_missing_input_key_names_the_codec_and_the_key():
    with pytest.raises(KeyError, match="no 'keypoints_3d' \\(needed by "
                       "BoneTree; sample None\\)"):
        GenerateTargets(dict(type='BoneTree'))(_results())


@CODECS.register_module(name='_PlainCodec', force=True)
class _PlainCodec:
    """Has an encode but does not derive from BaseCodec."""

    def encode(self, keypoints, keypoints_visible):
        return {}


def test_a_codec_outside_the_contract_is_refused():
    with pytest.raises(TypeError, match="codec '_PlainCodec' is a "
                       '_PlainCodec, not a BaseCodec subclass'):
        GenerateTargets(dict(type='_PlainCodec'))
