"""Install handkit: ``pip install -e .`` (see README.md)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent


def requirements(name):
    lines = (ROOT / 'requirements' / name).read_text().splitlines()
    return [line.strip() for line in lines
            if line.strip() and not line.startswith('#')]


version = re.search(r"__version__ = '([^']+)'",
                    (ROOT / 'handkit' / 'version.py').read_text()).group(1)

setup(
    name='handkit',
    version=version,
    description='Pluggable hand pose estimation: NSRM, CPM and 3D hand pose '
    'models on PyTorch and mmengine',
    long_description=(ROOT / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['handkit', 'handkit.*']),
    install_requires=requirements('runtime.txt'),
    extras_require={
        'tests': requirements('tests.txt'),
        'optional': requirements('optional.txt'),
        'mediapipe': requirements('mediapipe.txt'),
    },
)
