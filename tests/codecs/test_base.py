"""The codec contract: every registered codec derives from BaseCodec."""
import numpy as np
import pytest

import handkit.codecs  # noqa: F401 (registers the codecs)
import handkit.codecs.mesh_targets  # noqa: F401 (Ge et al.'s, own module)
from handkit.codecs.base import BaseCodec
from handkit.registry import CODECS


def test_every_codec_derives_from_the_base():
    names = sorted(name for name in CODECS.module_dict
                   if not name.startswith('_'))
    assert names == ['BoneTree', 'CanonicalFrame', 'CropDepthTarget',
                     'DepthCube', 'DepthLiftedKeypoints', 'GaussianScoreMap',
                     'HandMask', 'HandModelParams', 'IntegralCoordinates',
                     'KeypointConfidenceMap', 'LimbMask', 'LocationMap',
                     'MANOParams', 'MaskDistanceField',
                     'MediaPipeLandmarks', 'MediaPipePalmAnchors',
                     'NormalizedDepthMap', 'NormalizedPose3D',
                     'RootRelative2D', 'RootRelativeMesh']
    for name in names:
        assert issubclass(CODECS.get(name), BaseCodec), name


def test_encode_is_abstract_and_decode_says_there_is_none():
    with pytest.raises(TypeError, match='abstract'):
        BaseCodec()
    limbs = CODECS.build(dict(type='LimbMask', kind='ldm', groups='G1G6'))
    with pytest.raises(NotImplementedError,
                       match='LimbMask encodes training targets only'):
        limbs.decode(np.zeros((7, 46, 46)))


def test_settings_and_repr_name_the_arguments():
    kcm = CODECS.build(dict(type='KeypointConfidenceMap', input_size=[96, 96],
                            heatmap_size=(12, 12), sigma=1))
    assert kcm.settings() == dict(input_size=(96, 96), heatmap_size=(12, 12),
                                  sigma=1.0, subpixel='quarter')
    assert repr(kcm) == ("KeypointConfidenceMap(input_size=(96, 96), "
                         "heatmap_size=(12, 12), sigma=1.0, "
                         "subpixel='quarter')")
    coords = CODECS.build(dict(type='IntegralCoordinates',
                               input_size=(128, 128), heatmap_size=(64, 64)))
    assert coords.settings() == dict(input_size=(128.0, 128.0),
                                     heatmap_size=(64.0, 64.0))
    assert CODECS.build(dict(type='BoneTree')).settings() == {}
