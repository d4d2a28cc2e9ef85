"""handkit as an installed package: the ``handkit`` command and its
subcommands, configs by short name, pyproject.toml as the one place of the
dependencies, and no ``pkg_resources`` on handkit's config path
(tools/check_install.py proves the wheel and sdist in a fresh venv)."""
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from handkit import cli
from handkit.engine.config import (load_config_file, package_configs_dir,
                                   resolve_config_path)

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = ('train', 'test', 'demo', 'export', 'quickstart',
               'convert-mediapipe', 'convert-mano', 'pseudo-label', 'study',
               'check-data')


def test_handkit_help_lists_every_subcommand(capsys):
    assert cli.main(['--help']) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines()
              if line.startswith('  ')]
    assert set(SUBCOMMANDS) <= set(listed)
    for name in listed:  # each names a tool module with a main(argv)
        module = __import__(f'handkit.tools.{cli.COMMANDS[name][0]}',
                            fromlist=['main'])
        assert callable(module.main)


def test_handkit_test_help_is_the_test_tools(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(['test', '--help'])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: handkit test [-h]')
    assert '--format {coco,handkit}' in out
    assert sys.argv[0] != 'handkit test'  # restored


def test_unknown_subcommand_is_one_line(capsys):
    assert cli.main(['trian']) == 2
    assert capsys.readouterr().err == (
        "handkit: error: unknown subcommand 'trian' (choose from "
        f"{', '.join(cli.COMMANDS)})\n")
    assert cli.main([]) == 2


def test_configs_by_path_short_name_and_package_prefix(tmp_path,
                                                       monkeypatch):
    assert Path(package_configs_dir()).resolve() == (ROOT / 'configs')
    monkeypatch.chdir(tmp_path)  # away from the clone
    expected = ROOT / 'configs' / 'nsrm' / 'lpm_g1g6_panoptic.py'
    for name in ('nsrm/lpm_g1g6_panoptic.py',
                 'handkit::nsrm/lpm_g1g6_panoptic.py',
                 'configs/nsrm/lpm_g1g6_panoptic.py', str(expected)):
        assert Path(resolve_config_path(name)).resolve() == expected
        cfg = load_config_file(name)
        assert cfg.model.heads.structure.groups == 'G1G6'
    # a file of the current folder wins over the package's
    (tmp_path / 'nsrm').mkdir()
    (tmp_path / 'nsrm' / 'lpm_g1g6_panoptic.py').write_text('mine = 1\n')
    assert load_config_file('nsrm/lpm_g1g6_panoptic.py').mine == 1
    assert load_config_file(
        'handkit::nsrm/lpm_g1g6_panoptic.py').get('mine') is None
    with pytest.raises(FileNotFoundError) as error:
        load_config_file('nsrm/nope.py')
    assert str(error.value) == (
        'config not found: nsrm/nope.py (nor in the configs of handkit, '
        f'{package_configs_dir()})')


def test_pyproject_is_the_one_place_of_the_dependencies():
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    assert project['project']['dynamic'] == ['version']
    assert project['project']['scripts'] == {'handkit': 'handkit.cli:main'}
    extras = project['project']['optional-dependencies']
    assert {'tests', 'onnx', 'tensorboard', 'mediapipe', 'all'} <= set(extras)
    names = [requirement.split('>')[0].split('<')[0].split('=')[0]
             for requirement in project['project']['dependencies']]
    assert 'opencv-python' in names  # the one mmengine and mmcv-lite pull
    assert 'opencv-python-headless' not in names
    assert 'setuptools' not in names  # no pin (see pyproject.toml)
    assert not (ROOT / 'requirements').exists()
    assert project['tool']['setuptools']['package-data']['handkit'] == [
        'configs/**/*.py']


def test_no_shipped_config_needs_pkg_resources():
    """mmengine imports pkg_resources (gone from setuptools >= 81) only for
    ``_base_ = 'pkg::...'`` and read_base imports: no handkit config uses
    them, so every config loads with pkg_resources unimportable."""
    script = (
        'import sys, glob\n'
        "sys.modules['pkg_resources'] = None  # import raises\n"
        'from handkit.engine.config import load_config_file, '
        'package_configs_dir\n'
        "paths = sorted(glob.glob(package_configs_dir() + '/*/*.py'))\n"
        'for path in paths:\n'
        '    load_config_file(path)\n'
        'print(len(paths))\n')
    result = subprocess.run([sys.executable, '-c', script], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) > 40
