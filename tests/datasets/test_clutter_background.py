"""The procedural clutter backgrounds of the synthetic generator
(``SyntheticHandDataset(background='clutter')``, docs/synthetic.md)."""
import numpy as np
import pytest

from handkit.datasets.synthetic.mesh_renderer import render_mesh_hand
from handkit.datasets.synthetic.renderer import (_power_law_field,
                                                 background_image,
                                                 render_hand)
from handkit.registry import DATASETS

SIZE = (64, 48)  # (width, height)


@pytest.mark.parametrize('exponent', [1.0, 1.5])
def test_the_field_spectrum_falls_as_a_power_of_frequency(exponent):
    """The radially averaged amplitude spectrum's log-log slope is the
    exponent (the min-max scaling to [0, 1] is affine: it keeps it)."""
    field = _power_law_field(np.random.default_rng(0), 64, exponent, 1)
    assert field.shape == (64, 64, 1)
    assert field.min() == 0 and field.max() == pytest.approx(1.0)
    amplitude = np.abs(np.fft.fft2(field[..., 0] - field.mean()))
    fy, fx = np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64),
                         indexing='ij')
    radius = np.sqrt(fx ** 2 + fy ** 2)
    bands = np.linspace(2 / 64, 0.5, 12)
    centres, means = [], []
    for low, high in zip(bands[:-1], bands[1:]):
        ring = (radius >= low) & (radius < high)
        centres.append(np.log((low + high) / 2))
        means.append(np.log(amplitude[ring].mean()))
    slope = np.polyfit(centres, means, 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.15)


@pytest.mark.parametrize('render', [render_hand, render_mesh_hand])
def test_the_same_seed_draws_the_same_hand_over_either_background(render):
    shapes = render(5, SIZE, 'rgbd', occlusion=0.3)
    clutter = render(5, SIZE, 'rgbd', occlusion=0.3, background='clutter')
    for key, value in shapes.items():
        if key != 'image':
            np.testing.assert_array_equal(value, clutter[key], err_msg=key)
    background = shapes['depth'] == 0  # nothing drawn in front
    assert background.mean() > 0.2
    assert np.abs(shapes['image'][background].astype(int)
                  - clutter['image'][background]).mean() > 10
    again = render(5, SIZE, 'rgbd', occlusion=0.3, background='clutter')
    np.testing.assert_array_equal(clutter['image'], again['image'])


def test_clutter_is_muted_and_busy():
    """Mostly unsaturated, with edges: more mean gradient than the
    'shapes' backgrounds' smooth gradients (measured on 20 images each)."""
    import cv2
    rng = np.random.default_rng(1)
    saturation, edges = {}, {}
    for kind in ('shapes', 'clutter'):
        images = [background_image(rng, 96, 96, kind) for _ in range(20)]
        saturation[kind] = np.mean([cv2.cvtColor(image, cv2.COLOR_BGR2HSV)[
            ..., 1].mean() for image in images])
        edges[kind] = np.mean([np.abs(np.diff(image.astype(float),
                                              axis=1)).mean()
                               for image in images])
    assert saturation['clutter'] < saturation['shapes']
    assert edges['clutter'] > edges['shapes']


def test_the_dataset_caches_clutter_apart_and_refuses_unknown_kinds(
        tmp_path):
    config = dict(type='SyntheticHandDataset', hand='mesh', num_samples=2,
                  image_size=SIZE, cache_dir=str(tmp_path))
    shapes = DATASETS.build(config)
    clutter = DATASETS.build(dict(config, background='clutter'))
    assert 'background' not in shapes.render_args  # keyed as before
    assert clutter.render_args['background'] == 'clutter'
    assert len([entry for entry in tmp_path.iterdir()
                if entry.is_dir()]) == 2
    np.testing.assert_array_equal(shapes.get_data_info(1)['keypoints'],
                                  clutter.get_data_info(1)['keypoints'])
    with pytest.raises(ValueError, match="background must be one of "
                       r"\('shapes', 'clutter'\), got 'sky'"):
        DATASETS.build(dict(config, background='sky'))
