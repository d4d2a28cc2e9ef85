"""Tests of the IntegralCoordinates codec (LHR soft-argmax, Bekiri and
Babahenini eq. 1-2).
"""
import numpy as np
import pytest
import torch

from handkit.codecs.integral_coordinates import IntegralCoordinates


def test_one_hot_map_gives_its_pixel_in_input_pixels():
    maps = torch.zeros(1, 2, 8, 8)
    maps[0, 0, 3, 5] = 1e4  # x=5, y=3
    maps[0, 1, 7, 0] = 1e4  # x=0, y=7
    coords, probs = IntegralCoordinates.soft_argmax(maps, torch.ones(2))
    np.testing.assert_allclose(coords[0].numpy(), [[5, 3], [0, 7]], atol=1e-4)
    np.testing.assert_allclose(probs.sum(dim=(2, 3)).numpy(), 1, atol=1e-5)
    codec = IntegralCoordinates(input_size=(16, 16), heatmap_size=(8, 8))
    np.testing.assert_allclose(codec.decode(coords)[0, 0].numpy(), [10, 6],
                               atol=1e-3)


def test_flat_map_gives_the_centre_and_beta_sharpens():
    flat, _ = IntegralCoordinates.soft_argmax(torch.zeros(1, 1, 5, 9),
                                              torch.ones(1))
    np.testing.assert_allclose(flat[0, 0].numpy(), [4, 2], atol=1e-5)
    # two pixels with values 1 and 0 at x=0 and x=1 of a 1x2 map:
    # E[x] = 1 / (1 + e^beta)
    maps = torch.tensor([[[[1.0, 0.0]]]])
    for beta in (1.0, 3.0):
        coords, _ = IntegralCoordinates.soft_argmax(maps, torch.tensor([beta]))
        assert coords[0, 0, 0].item() == pytest.approx(1 / (1 + np.exp(beta)),
                                                       rel=1e-5)


def test_soft_argmax_is_differentiable_in_maps_and_beta():
    maps = torch.randn(2, 3, 4, 6, requires_grad=True)
    beta = torch.ones(3, requires_grad=True)
    coords, _ = IntegralCoordinates.soft_argmax(maps, beta)
    coords.sum().backward()
    assert maps.grad.abs().sum() > 0 and beta.grad.abs().sum() > 0


def test_encode_weights_drop_invisible_and_outside():
    codec = IntegralCoordinates(input_size=(128, 96), heatmap_size=(64, 48))
    keypoints = np.array([[10, 20], [127, 95], [128, 5], [5, -1], [3, 3]],
                         np.float32)
    out = codec.encode(keypoints, np.array([1, 1, 1, 1, 0]))
    np.testing.assert_array_equal(out['keypoint_coords'], keypoints)
    np.testing.assert_array_equal(out['coord_weights'], [1, 1, 0, 0, 0])
    assert out['keypoint_coords'].dtype == np.float32
    np.testing.assert_allclose(codec.decode(np.array([[1.5, 2.0]])),
                               [[3.0, 4.0]])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='heatmap_size must be two positive'):
        IntegralCoordinates((128, 128), (0, 64))
    with pytest.raises(ValueError, match=r'beta must have shape \(3,\)'):
        IntegralCoordinates.soft_argmax(torch.zeros(1, 3, 4, 4), torch.ones(2))
    with pytest.raises(ValueError,
                       match=r'keypoints must have shape \(K, 2\)'):
        IntegralCoordinates((8, 8), (4, 4)).encode(np.zeros((21, 3)))
