"""tools/check_data.py and train --check-data: undecodable images are named,
one line each, before training (docs/reliability.md)."""
import pytest

from handkit.tools import check_data, train
from tiny_setup import exit_code as run
from tiny_setup import write_nsrm_layout, write_tiny_config


@pytest.fixture()
def broken(tmp_path):
    """The tiny layout with three bad train images: empty, truncated, text."""
    write_nsrm_layout(tmp_path / 'data')
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data')
    images = tmp_path / 'data' / 'imgs'
    (images / '0001.jpg').write_bytes(b'')
    jpeg = (images / '0003.jpg').read_bytes()
    (images / '0003.jpg').write_bytes(jpeg[:len(jpeg) // 2])
    (images / '0005.jpg').write_text('this is text, not a JPEG')
    return config, images


def test_check_data_names_every_bad_file_and_exits_1(broken, capsys):
    config, images = broken
    assert run(check_data.main, [config]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"train: cannot decode image: {images / '0001.jpg'}",
        f"train: cannot decode image: {images / '0003.jpg'}",
        f"train: cannot decode image: {images / '0005.jpg'}",
        'train: 8 samples checked, 3 bad',
        'val: 2 samples checked, 0 bad', 'test: 2 samples checked, 0 bad']


def test_check_data_limit_and_split(broken, capsys):
    config, images = broken
    assert run(check_data.main, [config, '--split', 'train', '--limit',
                                 1]) == 0
    assert capsys.readouterr().out.splitlines() == [
        'train: 1 samples checked, 0 bad']
    assert run(check_data.main, [config, '--split', 'val']) == 0
    assert run(check_data.main, [config, '--split', 'train', '--limit',
                                 2]) == 1


def test_train_check_data_stops_before_anything_is_written(broken, tmp_path,
                                                           capsys):
    config, images = broken
    work_dir = tmp_path / 'work'
    assert run(train.main, [config, '--work-dir', work_dir, '--check-data',
                            4]) == 2
    assert capsys.readouterr().err.strip() == (
        'handkit: error: train_dataloader: cannot decode image: '
        f"{images / '0001.jpg'}")
    assert not work_dir.exists()

