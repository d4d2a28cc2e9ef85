"""handkit.fileio: a user's pickle is read as data, and a failed or killed
write never costs the previous file (docs/reliability.md)."""
import errno
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from handkit import fileio
from handkit.fileio import (DiskFullError, UnsafeFileError, atomic_output,
                            atomic_write, load_data_pickle,
                            remove_stale_temporaries, write_json)


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _OpensAFile:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_arrays_dicts_and_scalars_load_as_saved(tmp_path):
    data = {0: dict(a=np.arange(6, dtype=np.float32).reshape(2, 3),
                    b=np.float64(2.5), c=[1, 'x', (2, None)], d=b'raw')}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f'p{protocol}.pickle'
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        loaded = load_data_pickle(str(path))
        np.testing.assert_array_equal(loaded[0]['a'], data[0]['a'])
        assert loaded[0]['a'].dtype == np.float32
        assert loaded[0]['b'] == 2.5 and loaded[0]['c'] == [1, 'x', (2, None)]
        assert loaded[0]['d'] == b'raw'


@pytest.mark.parametrize('payload', [_Payload, _OpensAFile])
def test_a_payload_is_refused_before_it_runs(tmp_path, payload):
    marker = tmp_path / 'marker'
    path = tmp_path / 'anno.pickle'
    path.write_bytes(pickle.dumps({0: dict(K=payload(marker))}, protocol=2))
    with pytest.raises(UnsafeFileError) as error:
        load_data_pickle(str(path))
    global_name = ('posix.system' if payload is _Payload
                   else 'io.open')
    assert str(error.value) == (
        f'refused {path}: it holds the Python object {global_name}, which '
        'this file never contains and whose loading could run code; nothing '
        'in it was executed')
    assert not marker.exists()


def test_an_object_array_cannot_smuggle_a_payload(tmp_path):
    marker = tmp_path / 'marker'
    array = np.array([_Payload(marker)], dtype=object)
    path = tmp_path / 'anno.pickle'
    path.write_bytes(pickle.dumps(array))
    with pytest.raises(UnsafeFileError, match='posix.system'):
        load_data_pickle(str(path))
    assert not marker.exists()


def test_extra_globals_map_a_format_class_to_a_stand_in(tmp_path):
    path = tmp_path / 'model.pickle'
    path.write_bytes(pickle.dumps(dict(weights=np.ones(3), kind=_Payload)))
    with pytest.raises(UnsafeFileError):
        load_data_pickle(str(path))
    loaded = load_data_pickle(
        str(path), extra_globals={(__name__, '_Payload'): dict})
    assert loaded['kind'] is dict


def test_a_truncated_or_empty_pickle_is_a_value_error(tmp_path):
    path = tmp_path / 'anno.pickle'
    path.write_bytes(pickle.dumps({0: np.ones(100)})[:40])
    with pytest.raises(ValueError, match=rf'^{path} is not a readable '
                       r'pickle \('):
        load_data_pickle(str(path))
    path.write_bytes(b'')
    with pytest.raises(ValueError, match='not a readable pickle'):
        load_data_pickle(str(path))


def test_atomic_write_replaces_only_when_complete(tmp_path):
    path = tmp_path / 'results.json'
    path.write_text('previous')
    with pytest.raises(RuntimeError):
        with atomic_write(str(path)) as file:
            file.write('half')
            raise RuntimeError('the writer failed')
    assert path.read_text() == 'previous'
    assert os.listdir(tmp_path) == ['results.json']
    write_json(str(path), dict(a=1))
    assert path.read_text() == '{"a": 1}'
    assert os.listdir(tmp_path) == ['results.json']


def test_a_full_disk_keeps_the_previous_file_and_is_one_line(tmp_path,
                                                             monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(b'previous checkpoint')

    def disk_full(_):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(fileio, '_fsync_path', disk_full)
    with pytest.raises(DiskFullError) as error:
        with atomic_output(str(path)) as temporary:
            with open(temporary, 'wb') as file:
                file.write(b'new, partly written')
    assert str(error.value) == (
        f'no space left on the device while writing {path}; the previous '
        'file (if any) is unchanged and the partial one was removed')
    assert error.value.errno == errno.ENOSPC
    assert path.read_bytes() == b'previous checkpoint'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_a_kill_during_a_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'results.json'
    path.write_text('previous')
    script = (
        'import os, sys\n'
        'from handkit.fileio import atomic_write\n'
        f'with atomic_write({str(path)!r}) as file:\n'
        '    file.write("half")\n'
        '    file.flush()\n'
        '    os._exit(9)\n')
    result = subprocess.run([sys.executable, '-c', script], timeout=60)
    assert result.returncode == 9
    assert path.read_text() == 'previous'
    leftovers = [name for name in os.listdir(tmp_path)
                 if name != 'results.json']
    assert len(leftovers) == 1  # the killed writer's temporary
    remove_stale_temporaries(str(tmp_path))  # its pid is dead
    assert os.listdir(tmp_path) == ['results.json']


def test_temporaries_keep_the_suffix_and_live_writers_keep_theirs(tmp_path):
    assert fileio.temporary_path(str(tmp_path / 'clip.mp4')).endswith(
        f'.clip.mp4.{os.getpid()}.tmp.mp4')
    alive = subprocess.Popen([sys.executable, '-c',
                              'import time; time.sleep(60)'])
    try:
        live = tmp_path / f'.model.onnx.{alive.pid}.tmp.onnx'
        live.write_text('being written')
        remove_stale_temporaries(str(tmp_path))
        assert live.exists()
    finally:
        alive.kill()
        alive.wait()
    remove_stale_temporaries(str(tmp_path))
    assert not live.exists()
