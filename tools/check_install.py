"""Prove that handkit installs from nothing, non-editable, as a user gets it.

    python tools/check_install.py [--keep] [--no-sdist] [--tmp DIR]

From a copy of this clone's sources (what the build reads: pyproject.toml,
setup.py, MANIFEST.in, README.md, handkit/, configs/, tools/; so the clone
gets no build/ or egg-info and nothing stale is packed) it

1. builds the wheel (``pip wheel --no-deps``, in pip's isolated build);
2. makes a fresh virtualenv, installs ``torch==2.13.0`` first (an unpinned
   torch would pull a multi-GB CUDA build; ``--torch`` changes it) and then
   the wheel, and checks: ``pip check`` clean, exactly one OpenCV
   distribution, ``import cv2, handkit.apis``, the setuptools version (the
   latest has no ``pkg_resources``; handkit does not need it);
3. in an empty folder outside the clone (nothing of the clone on the path):
   ``handkit --help``, ``handkit quickstart --help``, a packaged config by
   short name (``nsrm/lpm_g1g6_panoptic.py``, ``handkit::...``), and
   ``handkit train`` (1 epoch), ``handkit test --out results.json`` (COCO
   results + ``results.metrics.json``) and ``handkit demo`` on a tiny drawn
   dataset and a tiny config over the installed package's ``_base_`` files;
4. builds the sdist (setuptools' build_meta in the fresh venv), installs it
   over the wheel and runs ``pip check``, ``handkit --help`` and
   ``handkit test`` again.

Each step prints its time; any failure prints the step's output and exits 1.
Needs PyPI (or a local index) for the dependencies. Takes about 3 minutes
here (docs/get_started.md); ``.ci/run`` runs it after the tests.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tests', 'tools'))
import tiny_setup  # noqa: E402  (the tests' tiny dataset and config)
SOURCES = ('pyproject.toml', 'setup.py', 'MANIFEST.in', 'README.md',
           'handkit', 'configs', 'tools')


def copy_sources(folder: str) -> str:
    """The files the build reads, copied to ``folder`` (links kept)."""
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info')
    os.makedirs(folder, exist_ok=True)
    for name in SOURCES:
        source, target = osp.join(REPO, name), osp.join(folder, name)
        if osp.isdir(source):
            shutil.copytree(source, target, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, target)
    return folder

CHECK_CONFIGS = r'''
import os.path as osp, sys
import handkit
from handkit.engine.config import load_config_file, package_configs_dir
root = package_configs_dir()
assert not root.startswith(sys.argv[1]), f'configs from the clone: {root}'
for name in ('nsrm/lpm_g1g6_panoptic.py', 'handkit::nsrm/lpm_g1g6_panoptic.py',
             'configs/quickstart/nsrm_lpm_g1g6_synthetic.py'):
    load_config_file(name)
print(root)
'''


class StepFailed(RuntimeError):
    pass


def run(argv: List[str], label: str, cwd: Optional[str] = None,
        env: Optional[dict] = None) -> str:
    """Run a step; print its time; its output (raise with it on failure)."""
    start = time.time()
    result = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    print(f'[{time.time() - start:6.1f} s] {label}', flush=True)
    if result.returncode != 0:
        raise StepFailed(f'{label}: exit code {result.returncode}\n'
                         f'$ {" ".join(argv)}\n{result.stdout[-4000:]}')
    return result.stdout


def check_venv(venv: str, work: str, env: dict, label: str) -> None:
    """pip check, one OpenCV, the imports, the packaged configs."""
    python, pip = (osp.join(venv, 'bin', name) for name in ('python', 'pip'))
    run([pip, 'check'], f'{label}: pip check', env=env)
    listed = run([pip, 'list', '--format=json'], f'{label}: pip list',
                 env=env)
    versions = {item['name'].lower(): item['version']
                for item in json.loads(listed)}
    opencv = sorted(name for name in versions if name.startswith('opencv'))
    if len(opencv) != 1:
        raise StepFailed(f'{label}: {len(opencv)} OpenCV distributions: '
                         f'{opencv} (one expected)')
    print(f'    OpenCV: {opencv[0]} {versions[opencv[0]]}; setuptools '
          f"{versions.get('setuptools', 'none')}")
    run([python, '-c', 'import cv2, handkit.apis'],
        f'{label}: import cv2, handkit.apis', cwd=work, env=env)
    root = run([python, '-c', CHECK_CONFIGS, REPO],
               f'{label}: packaged configs by short name', cwd=work,
               env=env).strip().splitlines()[-1]
    print(f'    configs: {root}')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tmp', help='work here (default: a new temporary '
                        'folder)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temporary folder (venv, wheel, runs)')
    parser.add_argument('--no-sdist', action='store_true',
                        help='skip the sdist build and install')
    parser.add_argument('--torch', default='torch==2.13.0',
                        help='installed first (default torch==2.13.0)')
    args = parser.parse_args(argv)
    tmp = args.tmp or tempfile.mkdtemp(prefix='handkit_install_')
    os.makedirs(tmp, exist_ok=True)
    dist, venv, work = (osp.join(tmp, name) for name in
                        ('dist', 'venv', 'work'))
    os.makedirs(work, exist_ok=True)
    # Nothing of the clone or of the calling venv on the path.
    env = {key: value for key, value in os.environ.items()
           if key not in ('PYTHONPATH', 'VIRTUAL_ENV', 'PYTHONHOME')}
    env['HANDKIT_HOME'] = osp.join(tmp, 'handkit_home')
    env.setdefault('OMP_NUM_THREADS', '2')
    python, pip, handkit = (osp.join(venv, 'bin', name)
                            for name in ('python', 'pip', 'handkit'))
    start = time.time()
    try:
        source = copy_sources(osp.join(tmp, 'source'))
        run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', '-w',
             dist, source], 'build the wheel')
        wheel = glob.glob(osp.join(dist, 'handkit-*.whl'))[0]
        configs = run([sys.executable, '-m', 'zipfile', '-l', wheel],
                      'list the wheel').count('handkit/configs/')
        print(f'    {osp.basename(wheel)}: {configs} config files')
        if configs == 0:
            raise StepFailed('the wheel holds no handkit/configs/')
        base = getattr(sys, '_base_executable', sys.executable)
        run([base, '-m', 'venv', venv], 'fresh venv')
        run([pip, 'install', '-q', args.torch], f'install {args.torch} first',
            env=env)
        run([pip, 'install', '-q', wheel], 'install the wheel', env=env)
        check_venv(venv, work, env, 'wheel')
        run([handkit, '--help'], 'handkit --help', cwd=work, env=env)
        run([handkit, 'quickstart', '--help'], 'handkit quickstart --help',
            cwd=work, env=env)
        root = run([python, '-c', 'from handkit.engine.config import '
                    'package_configs_dir as d; print(d())'],
                   'find the installed configs', cwd=work,
                   env=env).strip().splitlines()[-1]
        # the tests' tiny dataset and config (tests/tools/tiny_setup.py),
        # the config over the installed package's _base_ files
        data = Path(work) / 'data'
        tiny_setup.write_nsrm_layout(data)
        config = str(tiny_setup.write_tiny_config(
            Path(work) / 'tiny.py', data, epochs=1, configs=root))
        run([handkit, 'train', config, '--work-dir', 'train'],
            'handkit train (tiny config, 1 epoch)', cwd=work, env=env)
        checkpoint = osp.join(work, 'train', 'epoch_1.pth')
        run([handkit, 'test', config, checkpoint, '--work-dir', 'test',
             '--out', 'results.json'], 'handkit test --out results.json',
            cwd=work, env=env)
        try:
            with open(osp.join(work, 'results.json')) as file:
                results = json.load(file)
            with open(osp.join(work, 'results.metrics.json')) as file:
                metrics = json.load(file)['metrics']
        except (OSError, ValueError, KeyError) as error:
            raise StepFailed(f'handkit test --out: {error!r}') from None
        print(f'    {len(results)} COCO results, PCK_ave '
              f"{metrics['PCK_ave']:.3f}")
        run([handkit, 'demo', config, checkpoint, '--input',
             osp.join(data, 'imgs', '0000.jpg'), '--out', 'demo'],
            'handkit demo', cwd=work, env=env)
        if not args.no_sdist:
            out = run([python, '-c', 'import sys; from setuptools import '
                       'build_meta as b; print(b.build_sdist(sys.argv[1]))',
                       dist], 'build the sdist', cwd=source, env=env)
            sdist = osp.join(dist, out.strip().splitlines()[-1])
            import tarfile
            with tarfile.open(sdist) as archive:
                names = archive.getnames()
            counts = {folder: sum(f'/{folder}/' in name for name in names)
                      for folder in ('handkit/configs', 'configs', 'tools')}
            print(f'    {osp.basename(sdist)}: {counts}')
            if not all(counts.values()):
                raise StepFailed(f'the sdist leaves out a folder: {counts}')
            run([pip, 'install', '-q', '--force-reinstall', '--no-deps',
                 sdist], 'install the sdist over the wheel', env=env)
            check_venv(venv, work, env, 'sdist')
            run([handkit, 'test', config, checkpoint, '--work-dir', 'test2',
                 '--out', 'results2.json'], 'sdist: handkit test', cwd=work,
                env=env)
    except StepFailed as error:
        print(f'check_install: FAILED: {error}', file=sys.stderr)
        print(f'(kept {tmp})', file=sys.stderr)
        return 1
    print(f'check_install: all passed in {time.time() - start:.0f} s')
    if args.keep or args.tmp:
        print(f'kept {tmp}')
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
