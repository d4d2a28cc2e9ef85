"""Nothing a user made is overwritten, and a failed write keeps the previous
file: reruns, --out, a full disk (docs/reliability.md)."""
import errno
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from handkit import fileio
from handkit.tools import demo, export_onnx
from handkit.tools import test as test_tool
from handkit.tools import train
from tiny_setup import exit_code

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / 'tests' / 'data' / 'onehand10k_coco' / '9.jpg'


def snapshot(folder):
    """{relative path: (md5, mtime)} of every file under ``folder``."""
    return {str(path.relative_to(folder)): (
        hashlib.md5(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(Path(folder).rglob('*')) if path.is_file()}


@pytest.fixture()
def earlier_run(tiny_trained, tmp_path):
    """A copy of the tiny training's work dir, and the config."""
    _, config, checkpoint = tiny_trained
    work = tmp_path / 'work'
    shutil.copytree(checkpoint.parent, work)
    return config, work


def test_a_second_training_without_resume_keeps_the_first_run(
        earlier_run, capsys):
    config, work = earlier_run
    before = snapshot(work)
    for extra in ([], ['--auto-resume', '--cfg-options',
                       'train_cfg.max_epochs=1']):
        if extra:
            (work / 'last_checkpoint').unlink()  # nothing to auto-resume
            before = snapshot(work)
        assert exit_code(train.main,
                         [config, '--work-dir', work, *extra]) == 2
        found = sorted(name for name in os.listdir(work)
                       if name.endswith('.pth') or name == 'last_checkpoint')
        assert capsys.readouterr().err.strip() == (
            f'handkit: error: work dir {work} holds the checkpoints of an '
            f"earlier training ({', '.join(found[:3])}"
            f"{', ...' if len(found) > 3 else ''}); pass --resume to "
            'continue it, --auto-resume, or another --work-dir')
        assert snapshot(work) == before


def test_test_out_never_replaces_a_base_config_or_a_data_file(
        tiny_trained, tmp_path, capsys):
    root, config, checkpoint = tiny_trained
    # a config whose _base_ is the tiny config: the whole chain is an input
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{config}']\n")
    data = root / 'data'
    inputs = [config, data / 'labels.json', data / 'partitions.json',
              data / 'imgs' / '0010.jpg']
    before = snapshot(root)
    for target in inputs:
        assert exit_code(test_tool.main, [
            child, checkpoint, '--work-dir', tmp_path / 'work', '--out',
            target, '--overwrite']) == 2
        assert capsys.readouterr().err.strip() == (
            f'handkit: error: the output {target} would overwrite the input '
            f'{target}; choose another --out')
    assert snapshot(root) == before


def test_test_out_replaces_an_existing_file_only_with_overwrite(
        tiny_trained, tmp_path, capsys):
    _, config, checkpoint = tiny_trained
    out = tmp_path / 'results.json'
    out.write_text('my notes')
    argv = [config, checkpoint, '--work-dir', tmp_path / 'work', '--out',
            out]
    assert exit_code(test_tool.main, argv) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: --out {out} exists; pass --overwrite to replace '
        'it, or choose another --out')
    assert out.read_text() == 'my notes'
    assert not (tmp_path / 'work').exists()
    assert exit_code(test_tool.main, argv + ['--overwrite']) == 0
    assert '"image_id"' in out.read_text()  # COCO keypoint results
    capsys.readouterr()
    # the metrics sidecar follows the same rule
    sidecar = tmp_path / 'results.metrics.json'
    sidecar.write_text('my metrics')
    assert exit_code(test_tool.main, argv + ['--format', 'coco']) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: --out {out} exists; pass --overwrite to replace '
        'it, or choose another --out')
    out.unlink()
    assert exit_code(test_tool.main, argv) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: --out {sidecar} exists; pass --overwrite to '
        'replace it, or choose another --out')
    assert sidecar.read_text() == 'my metrics' and not out.exists()
    assert exit_code(test_tool.main, argv + ['--overwrite']) == 0
    assert '"PCK_ave"' in sidecar.read_text()


def test_demo_out_replaces_an_existing_drawing_only_with_overwrite(
        tiny_trained, tmp_path, capsys):
    _, config, checkpoint = tiny_trained
    out = tmp_path / 'demo'
    out.mkdir()
    (out / '9.png').write_bytes(b'my picture')
    argv = [config, checkpoint, '--input', IMAGE, '--out', out]
    assert exit_code(demo.main, argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"handkit: error: --out: {out / '9.png'} exists; pass --overwrite "
        'to replace it, or choose another --out')
    assert (out / '9.png').read_bytes() == b'my picture'
    assert exit_code(demo.main, argv + ['--overwrite']) == 0
    assert (out / '9.png').read_bytes()[:4] == b'\x89PNG'
    assert sorted(os.listdir(out)) == ['9.json', '9.png']  # no temporary


def test_demo_out_never_replaces_a_base_config(tiny_trained, tmp_path,
                                               capsys):
    """An input folder holding the config chain and the image: the output
    of an input named like a config's _base_ file is refused."""
    _, config, checkpoint = tiny_trained
    folder = tmp_path / 'inputs'
    folder.mkdir()
    base = folder / 'base.png'
    shutil.copy(IMAGE, folder / 'base.jpg')
    base.write_bytes(b'not a picture: the _base_ of the config below')
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{config}']\n")
    before = snapshot(folder)
    assert exit_code(demo.main, [
        child, checkpoint, '--input', folder / 'base.jpg', '--out', folder,
        '--overwrite']) == 0  # base.jpg -> base.png replaces a plain file
    # the same, now with base.png a _base_ file of the config
    base.write_bytes(b'_base_ = []\n')
    child.write_text(f"_base_ = ['{config}', '{base}']\n")
    before = snapshot(folder)
    assert exit_code(demo.main, [
        child, checkpoint, '--input', folder / 'base.jpg', '--out', folder,
        '--overwrite']) == 2
    assert capsys.readouterr().err.strip().endswith(
        f'the output {base} would overwrite the input {base}; choose '
        'another --out')
    assert snapshot(folder) == before


def test_export_out_replaces_only_with_overwrite_and_never_a_config(
        tiny_trained, tmp_path, capsys):
    _, config, checkpoint = tiny_trained
    out = tmp_path / 'model.onnx'
    out.write_bytes(b'my earlier export')
    assert exit_code(export_onnx.main,
                     [config, checkpoint, '--out', out]) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: --out {out} exists; pass --overwrite to replace '
        'it, or choose another --out')
    assert out.read_bytes() == b'my earlier export'
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{config}']\n")
    before = config.read_bytes()
    assert exit_code(export_onnx.main, [child, checkpoint, '--out', config,
                                        '--overwrite']) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: the output {config} would overwrite the input '
        f'{config}; choose another --out')
    assert config.read_bytes() == before


def _disk_full(monkeypatch, name):
    """ENOSPC when the shared atomic writer flushes a file called
    ``name`` (a partial file was written): what a full disk does."""
    real = fileio._fsync_path

    def flush(path):
        if Path(path).name.startswith(f'.{name}.'):
            raise OSError(errno.ENOSPC, 'No space left on device')
        real(path)
    monkeypatch.setattr(fileio, '_fsync_path', flush)


def test_a_full_disk_while_saving_a_checkpoint_keeps_the_previous_one(
        earlier_run, monkeypatch, capsys):
    config, work = earlier_run
    previous = snapshot(work)
    _disk_full(monkeypatch, 'epoch_2.pth')
    assert exit_code(train.main, [
        config, '--work-dir', work, '--resume', '--cfg-options',
        'train_cfg.max_epochs=2']) == 2
    assert capsys.readouterr().err.strip() == (
        f"handkit: error: no space left on the device while writing "
        f"{work / 'epoch_2.pth'}; the previous file (if any) is unchanged "
        'and the partial one was removed')
    after = snapshot(work)
    for name in ('epoch_1.pth', 'last_checkpoint'):
        assert after[name] == previous[name]
    assert not (work / 'epoch_2.pth').exists()
    assert not [name for name in os.listdir(work) if '.tmp' in name]


def test_a_full_disk_while_writing_results_or_onnx_keeps_the_previous(
        tiny_trained, tmp_path, monkeypatch, capsys):
    _, config, checkpoint = tiny_trained
    out = tmp_path / 'results.json'
    out.write_text('earlier results')
    _disk_full(monkeypatch, 'results.json')
    assert exit_code(test_tool.main, [
        config, checkpoint, '--work-dir', tmp_path / 'work', '--out', out,
        '--overwrite']) == 2
    assert capsys.readouterr().err.strip().startswith(
        f'handkit: error: no space left on the device while writing {out}')
    assert out.read_text() == 'earlier results'
    onnx = tmp_path / 'model.onnx'
    onnx.write_bytes(b'earlier export')
    _disk_full(monkeypatch, 'model.onnx')
    assert exit_code(export_onnx.main, [config, checkpoint, '--out', onnx,
                                        '--overwrite']) == 2
    assert capsys.readouterr().err.strip().startswith(
        f'handkit: error: no space left on the device while writing {onnx}')
    assert onnx.read_bytes() == b'earlier export'
    assert sorted(os.listdir(tmp_path)) == ['model.onnx', 'results.json',
                                            'work']
