"""The rendered-once synthetic cache (handkit/datasets/synthetic/cache.py)."""
import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from handkit.datasets.synthetic import cache, renderer
from handkit.datasets.synthetic_dataset import SyntheticHandDataset
from handkit.fileio import DiskFullError


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


# Tiny renders for the checks: 3 samples of 20x16 px, image and depth.
_SEEDS = [11, 12, 13]
_RENDER = dict(image_size=(20, 16), modality='rgbd', occlusion=0.5)


def _ensure(cache_dir):
    return cache.ensure_cache(str(cache_dir), _SEEDS, dict(_RENDER))


def _arrays(entry):
    return {name: np.array(array)
            for name, array in cache.read_cache(entry, 'rgbd').items()}


def _load(entry, name):
    return np.load(os.path.join(entry, f'{name}.npy'))


def _save(entry, name, array, **kwargs):
    np.save(os.path.join(entry, f'{name}.npy'), array, **kwargs)


def _nan_keypoints(entry):
    keypoints = _load(entry, 'keypoints')
    keypoints[1, 4, 0] = np.nan
    _save(entry, 'keypoints', keypoints)


def _truncate_depth(entry):
    path = os.path.join(entry, 'depth.npy')
    os.truncate(path, os.path.getsize(path) - 7)


def _rewrite_args(entry, text):
    with open(os.path.join(entry, 'args.json'), 'w') as file:
        file.write(text)


def _other_count(entry):
    with open(os.path.join(entry, 'args.json')) as file:
        args = json.load(file)
    _rewrite_args(entry, json.dumps(dict(args, count=4)))


def _file_for_folder(entry):
    shutil.rmtree(entry)
    with open(entry, 'w') as file:
        file.write('not a cache entry')


# name: (tampering, file it names, what it says is wrong)
_TAMPERINGS = {
    'images of the wrong size': (
        lambda entry: _save(entry, 'image', np.zeros((3, 8, 10, 3),
                                                     np.uint8)),
        'image.npy', 'per-sample shape (8, 10, 3), expected (16, 20, 3)'),
    'float64 keypoints': (
        lambda entry: _save(entry, 'keypoints',
                            _load(entry, 'keypoints').astype(np.float64)),
        'keypoints.npy', 'dtype float64, expected float32'),
    'NaN keypoints': (_nan_keypoints, 'keypoints.npy',
                      '1 of 126 values are NaN or inf'),
    'an object array': (
        lambda entry: _save(entry, 'cam_K', np.array([{}], dtype=object),
                            allow_pickle=True),
        'cam_K.npy', 'dtype object, expected float32'),
    'a missing file': (lambda entry: os.remove(
        os.path.join(entry, 'mask.npy')), 'mask.npy', 'missing'),
    'a wrong count': (
        lambda entry: _save(entry, 'keypoints_visible',
                            _load(entry, 'keypoints_visible')[:2]),
        'keypoints_visible.npy', '2 samples, expected 3'),
    'a float depth map as bytes': (
        lambda entry: _save(entry, 'depth',
                            _load(entry, 'depth').astype(np.uint8)),
        'depth.npy', 'dtype uint8, expected float32'),
    'a truncated file': (_truncate_depth, 'depth.npy', 'bytes, expected'),
    'a broken args.json': (lambda entry: _rewrite_args(entry, '{"count"'),
                           'args.json', 'not valid JSON'),
    'args.json of other arguments': (
        _other_count, 'args.json',
        'made from other arguments (count differ)'),
    'a file for the folder': (_file_for_folder, None, 'not a folder'),
}


@pytest.mark.parametrize('tamper, file, problem', _TAMPERINGS.values(),
                         ids=list(_TAMPERINGS))
def test_a_tampered_entry_is_reported_in_one_line_and_rendered_again(
        tmp_path, capsys, tamper, file, problem):
    expected = _arrays(_ensure(tmp_path / 'fresh'))
    entry = _ensure(tmp_path / 'cache')
    tamper(entry)
    capsys.readouterr()
    assert _ensure(tmp_path / 'cache') == entry
    lines = capsys.readouterr().err.splitlines()
    file = file or os.path.basename(entry)
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f'handkit: cache entry {entry} fails its check ({file}: '), lines
    assert problem in lines[0]
    assert lines[0].endswith('); rendering it again')
    got = _arrays(entry)
    assert sorted(got) == sorted(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(got[name], array)
        assert got[name].dtype == array.dtype, name
    assert cache.check_entry(entry, json.loads(open(os.path.join(
        tmp_path / 'fresh', os.path.basename(entry), 'args.json')).read()
    )) is None
    # Sound again: the next build checks it quietly and renders nothing.
    capsys.readouterr()
    _ensure(tmp_path / 'cache')
    assert capsys.readouterr() == ('', '')
    assert sorted(os.listdir(tmp_path / 'cache')) == sorted(
        [os.path.basename(entry), os.path.basename(entry) + '.lock'])


class _WritesAFile:
    """Unpickling it creates a file: what a hostile array could run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, 'w')


def test_an_object_array_in_an_entry_is_never_unpickled(tmp_path, capsys):
    marker = tmp_path / 'marker'
    entry = _ensure(tmp_path / 'cache')
    payload = np.array([_WritesAFile(str(marker))], dtype=object)
    _save(entry, 'keypoints', payload, allow_pickle=True)
    # The payload is live: a load that unpickles runs it.
    shutil.copy(os.path.join(entry, 'keypoints.npy'), tmp_path / 'copy.npy')
    np.load(tmp_path / 'copy.npy', allow_pickle=True)
    assert marker.exists()
    marker.unlink()
    # A data loader worker's read refuses it without running it...
    with pytest.raises(ValueError):
        cache.read_cache(entry, 'rgbd')
    assert not marker.exists()
    # ...and the dataset build checks it, renders it again, and runs nothing.
    capsys.readouterr()
    _ensure(tmp_path / 'cache')
    assert 'keypoints.npy: dtype object' in capsys.readouterr().err
    assert not marker.exists()
    assert _arrays(entry)['keypoints'].dtype == np.float32


def test_temporaries_of_dead_renders_go_those_of_live_ones_stay(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(dead.pid, 0)
    alive = subprocess.Popen(
        [sys.executable, '-c', 'import time; time.sleep(30)'])
    try:
        cache_dir = tmp_path / 'cache'
        kept = {  # handkit.fileio's naming and the older one
            f'.0123456789abcdef.{dead.pid}.tmp': False,
            f'.0123456789abcdef.{alive.pid}.tmp': True,
            f'0123456789abcdef.{dead.pid}.tmp': False,
            f'0123456789abcdef.{alive.pid}.tmp': True,
        }
        for name in kept:
            (cache_dir / name).mkdir(parents=True)
            (cache_dir / name / 'image.npy').write_bytes(b'\0' * 1000)
        entry = _ensure(cache_dir)
        for name, keep in kept.items():
            assert (cache_dir / name).exists() == keep, name
        assert cache.read_cache(entry, 'rgbd')['image'].shape == (3, 16, 20,
                                                                  3)
    finally:
        alive.kill()
        alive.wait()


def test_a_killed_render_leaves_a_temporary_the_next_build_removes(
        tmp_path):
    cache_dir = tmp_path / 'cache'
    script = textwrap.dedent(f"""
        import os, signal
        from handkit.datasets.synthetic import cache, renderer
        def killed(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        renderer.render_hand = killed
        cache.ensure_cache({str(cache_dir)!r}, {_SEEDS!r}, {_RENDER!r})
        """)
    child = subprocess.run([sys.executable, '-c', script],
                           capture_output=True)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    left = [name for name in os.listdir(cache_dir)
            if not name.endswith('.lock')]
    assert len(left) == 1 and left[0].startswith('.') and left[0].endswith(
        '.tmp'), left  # the killed render's temporary folder
    entry = _ensure(cache_dir)
    assert sorted(os.listdir(cache_dir)) == sorted(
        [os.path.basename(entry), os.path.basename(entry) + '.lock'])


class _FullDisk:
    """``open`` of a disk with ``free`` bytes left: a write past them fails
    with ENOSPC."""

    def __init__(self, free):
        self.free = free

    def __call__(self, path, mode='r', *args, **kwargs):
        file = open(path, mode, *args, **kwargs)
        return _FillingFile(file, self) if 'w' in mode else file


class _FillingFile:

    def __init__(self, file, disk):
        self._file, self._disk = file, disk

    def write(self, data):
        self._disk.free -= len(data)
        if self._disk.free < 0:
            raise OSError(errno.ENOSPC, 'No space left on device')
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._file.close()


@pytest.mark.parametrize('full_at', ['the first header', 'an array',
                                     'args.json'])
def test_a_full_disk_leaves_no_entry_and_no_temporary(tmp_path, monkeypatch,
                                                      full_at):
    fresh = _ensure(tmp_path / 'fresh')
    name = os.path.basename(fresh)
    expected = _arrays(fresh)
    arrays = sum(os.path.getsize(os.path.join(fresh, file))
                 for file in os.listdir(fresh) if file.endswith('.npy'))
    free = {'the first header': 0, 'an array': 3000,
            'args.json': arrays + 5}[full_at]
    monkeypatch.setattr(cache, 'open', _FullDisk(free), raising=False)
    cache_dir = tmp_path / 'cache'
    with pytest.raises(DiskFullError) as error:
        _ensure(cache_dir)
    assert len(str(error.value).splitlines()) == 1
    assert str(cache_dir / name) in str(error.value)
    assert os.listdir(cache_dir) == [name + '.lock']  # nothing else
    # With space again, the next build renders it.
    monkeypatch.undo()
    entry = _ensure(cache_dir)
    np.testing.assert_array_equal(_arrays(entry)['image'], expected['image'])


def test_a_full_disk_while_rendering_again_leaves_the_old_entry(
        tmp_path, monkeypatch, capsys):
    entry = _ensure(tmp_path)
    _save(entry, 'keypoints', _load(entry, 'keypoints').astype(np.float64))
    before = {name: open(os.path.join(entry, name), 'rb').read()
              for name in os.listdir(entry)}
    monkeypatch.setattr(cache, 'open', _FullDisk(3000), raising=False)
    with pytest.raises(DiskFullError):
        _ensure(tmp_path)
    assert 'keypoints.npy: dtype float64' in capsys.readouterr().err
    assert {name: open(os.path.join(entry, name), 'rb').read()
            for name in os.listdir(entry)} == before
    assert sorted(os.listdir(tmp_path)) == sorted(
        [os.path.basename(entry), os.path.basename(entry) + '.lock'])
    monkeypatch.undo()
    _ensure(tmp_path)
    assert _arrays(entry)['keypoints'].dtype == np.float32


def test_a_fresh_render_that_fails_its_check_is_one_valueerror(
        tmp_path, monkeypatch):
    render_hand = renderer.render_hand

    def float64_keypoints(*args, **kwargs):
        sample = render_hand(*args, **kwargs)
        return dict(sample, keypoints=sample['keypoints'].astype(np.float64))

    monkeypatch.setattr(renderer, 'render_hand', float64_keypoints)
    with pytest.raises(ValueError) as error:
        _ensure(tmp_path)
    message = str(error.value)
    assert len(message.splitlines()) == 1
    assert 'keypoints.npy: dtype float64, expected float32' in message
    assert [name for name in os.listdir(tmp_path)
            if not name.endswith('.lock')] == []  # no entry, no temporary


def test_the_arrays_table_matches_the_renderer():
    sample = renderer.render_hand(5, image_size=(20, 16), modality='rgbd')
    for name, (shape, dtype) in cache.ARRAYS.items():
        shape = tuple(dict(H=16, W=20).get(size, size) for size in shape)
        assert sample[name].shape == shape, name
        assert sample[name].dtype == dtype, name
