"""Tests of the GaussianScoreMap codec (Zimmermann & Brox's score maps):
the exact map of a known keypoint, the zero maps, the map-grid read and
the argmax read-out."""
import numpy as np
import pytest
import torch

from handkit.codecs import GaussianScoreMap


def test_encode_is_their_gaussian_on_the_crop():
    codec = GaussianScoreMap(input_size=(256, 256), heatmap_size=(32, 32),
                             sigma=25.0)
    keypoints = np.full((21, 2), 128.0)
    keypoints[0] = (100.7, 50.2)  # truncated to pixel (100, 50)
    keypoints[1] = (0.5, 60.0)  # not strictly inside: zero map
    visible = np.ones(21)
    visible[2] = 0
    targets = codec.encode(keypoints, visible)
    maps = targets['scoremaps']
    assert maps.shape == (21, 256, 256) and maps.dtype == np.float32
    assert maps[0, 50, 100] == pytest.approx(1.0)
    # exp(-(dx^2 + dy^2) / sigma^2): 25 px away -> e^-1 (no factor 2)
    assert maps[0, 50, 125] == pytest.approx(np.exp(-1.0), rel=1e-6)
    assert maps[0, 60, 110] == pytest.approx(np.exp(-200 / 625), rel=1e-6)
    assert maps[1].max() == 0.0 and maps[2].max() == 0.0
    np.testing.assert_array_equal(targets['keypoint_weights'][:3], [1, 1, 0])


def test_map_grid_read_and_argmax_read_out():
    codec = GaussianScoreMap(input_size=(128, 128), heatmap_size=(16, 16),
                             sigma=12.5)
    keypoints = np.random.default_rng(0).uniform(10, 118, (21, 2))
    keypoints = np.trunc(keypoints / 8) * 8  # on the map grid
    maps = codec.encode(keypoints, np.ones(21))['scoremaps']
    grid = codec.on_map_grid(torch.from_numpy(maps)[None])
    assert tuple(grid.shape) == (1, 21, 16, 16)
    np.testing.assert_array_equal(grid[0].numpy(), maps[:, ::8, ::8])
    decoded, scores = codec.decode(grid.numpy())
    np.testing.assert_allclose(decoded[0], keypoints, atol=2.0)
    np.testing.assert_allclose(scores[0], 1.0)


def test_sizes_must_divide():
    with pytest.raises(ValueError, match='whole multiple'):
        GaussianScoreMap(input_size=(100, 100), heatmap_size=(32, 32))
