"""HandMask: a real hand mask as the structure target (NSRM "Real Mask")."""
import numpy as np
import pytest

from handkit.codecs import HandMask
from handkit.registry import CODECS


def test_fraction_of_hand_in_each_map_cell_by_hand():
    # 8 x 8 input, 2 x 2 map, stride 4: map pixel 0 sits at input 0 (window
    # [0, 2), clipped at the border), map pixel 1 at input 4 (window [2, 6))
    codec = HandMask(input_size=(8, 8), heatmap_size=(2, 2))
    mask = np.zeros((8, 8), bool)
    mask[0:2, 0:2] = True      # fills map (0, 0)'s 2 x 2 window
    mask[2:4, 2:6] = True      # half of map (1, 1)'s 4 x 4 window
    mask[0, 2:6] = True        # map (0, 1): 4 of its 2 x 4 = 8 pixels
    encoded = codec.encode(mask)
    np.testing.assert_allclose(encoded['hand_masks'],
                               [[[1.0, 0.5], [0.0, 0.5]]])
    assert encoded['hand_masks'].dtype == np.float32
    np.testing.assert_array_equal(encoded['hand_mask_weights'], [1.0])


def test_full_and_empty_masks_and_a_non_square_grid():
    codec = CODECS.build(dict(type='HandMask', input_size=(96, 64),
                              heatmap_size=(12, 8)))
    full = codec.encode(np.ones((64, 96), np.uint8))['hand_masks']
    assert full.shape == (1, 8, 12)
    np.testing.assert_array_equal(full, 1.0)
    assert not codec.encode(np.zeros((64, 96), bool))['hand_masks'].any()


def test_the_generator_reads_hand_mask_and_a_wrong_size_is_named():
    from handkit.datasets.transforms.targets import GenerateTargets
    targets = GenerateTargets(dict(type='HandMask', input_size=(8, 8),
                                   heatmap_size=(2, 2)))
    with pytest.raises(KeyError, match="no 'hand_mask' .*HandMask"):
        targets.transform(dict(img_path='a.jpg'))
    with pytest.raises(ValueError, match=r'hand_mask is \(4, 4\) .*expected '
                       r'\(8, 8\)'):
        HandMask(input_size=(8, 8), heatmap_size=(2, 2)).encode(
            np.ones((4, 4), bool))
