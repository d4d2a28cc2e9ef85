"""The rendered-once synthetic cache (handkit/datasets/synthetic/cache.py)."""
import os
import pickle

import numpy as np
import pytest

from handkit.datasets.synthetic import renderer
from handkit.datasets.synthetic_dataset import SyntheticHandDataset


def _datasets(tmp_path, **kwargs):
    args = dict(num_samples=70, split='val', seed=3, image_size=(40, 32),
                occlusion=0.5, **kwargs)
    return (SyntheticHandDataset(**args),
            SyntheticHandDataset(cache_dir=str(tmp_path), **args))


@pytest.mark.parametrize('modality, with_depth, pixels', [
    ('rgb', False, ('img', )), ('depth', False, ('depth', )),
    ('rgb', True, ('img', 'depth'))])
def test_cached_samples_equal_rendered_ones(tmp_path, modality, with_depth,
                                            pixels):
    # 70 samples: two rendering chunks of 64, the second in a worker.
    rendered, cached = _datasets(tmp_path, modality=modality,
                                 with_depth=with_depth)
    for index in (0, 63, 64, 69):
        expected, got = rendered[index], cached[index]
        for key in pixels + ('keypoints', 'keypoints_visible',
                             'keypoints_3d', 'cam_K', 'bbox', 'occluded'):
            np.testing.assert_array_equal(got[key], expected[key])
            assert got[key].dtype == expected[key].dtype, key
        assert got['img_shape'] == (32, 40)
        assert got['hand_side'] == expected['hand_side']
        assert all(got[key].flags.writeable for key in pixels)  # copies


def test_a_second_run_reads_the_cache_and_renders_nothing(tmp_path,
                                                          monkeypatch):
    _, first = _datasets(tmp_path)
    entries = sorted(name for name in os.listdir(tmp_path)
                     if not name.endswith('.lock'))
    assert len(entries) == 1
    assert sorted(os.listdir(tmp_path / entries[0])) == [
        'args.json', 'cam_K.npy', 'image.npy', 'is_left.npy',
        'keypoints.npy', 'keypoints_3d.npy', 'keypoints_visible.npy',
        'mask.npy', 'occluded.npy']
    assert np.load(tmp_path / entries[0] / 'image.npy',
                   mmap_mode='r').shape == (70, 32, 40, 3)

    def no_rendering(*args, **kwargs):
        raise AssertionError('rendered again')

    monkeypatch.setattr(renderer, 'render_hand', no_rendering)
    again = SyntheticHandDataset(num_samples=70, split='val', seed=3,
                                 image_size=(40, 32), occlusion=0.5,
                                 cache_dir=str(tmp_path))
    np.testing.assert_array_equal(again[5]['img'], first[5]['img'])
    # Other arguments are another entry.
    monkeypatch.undo()
    SyntheticHandDataset(num_samples=70, split='val', seed=3,
                         image_size=(40, 32), occlusion=0.0,
                         cache_dir=str(tmp_path))
    assert len([name for name in os.listdir(tmp_path)
                if not name.endswith('.lock')]) == 2


def test_the_dataset_pickles_without_its_memory_maps(tmp_path):
    _, cached = _datasets(tmp_path)
    cached[0]  # opens the memory maps in this process
    clone = pickle.loads(pickle.dumps(cached))
    assert len(pickle.dumps(cached)) < 100_000  # no pixels inside
    np.testing.assert_array_equal(clone[7]['img'], cached[7]['img'])


def test_empty_split_caches_empty_arrays(tmp_path):
    dataset = SyntheticHandDataset(num_samples=0, image_size=16,
                                   cache_dir=str(tmp_path))
    assert len(dataset) == 0
