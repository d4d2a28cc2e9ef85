"""User errors: one base class, subclassed where each error is defined; the
tools' boundary prints any of them in one line and exits 2."""
import errno

import pytest

from handkit.engine.errors import is_user_error, user_errors_exit
from handkit.errors import HandkitUserError


def user_error_classes():
    """Every user-facing error of handkit, from the engine to the tools."""
    from handkit.datasets.base import (AnnotationError,
                                       DataRootNotFoundError, EmptySplitError)
    from handkit.datasets.transforms.loading import ImageFileError
    from handkit.deploy.onnx_export import (NotExportableError,
                                            UnsupportedOpError)
    from handkit.deploy.onnxruntime_model import (OnnxModelMismatchError,
                                                  UnreadableOnnxError)
    from handkit.deploy.optional import MissingDependencyError
    from handkit.deploy.quantize import (CalibrationError,
                                         QuantizationRefusedError)
    from handkit.engine.args import NothingToResumeError
    from handkit.engine.checkpoint import (CheckpointMismatchError,
                                           CorruptCheckpointError,
                                           UnsafeCheckpointError)
    from handkit.engine.config import ConfigError
    from handkit.engine.download import CheckpointDownloadError
    from handkit.engine.outputs import OutputError, WorkDirInUseError
    from handkit.engine.preflight import CodecMismatchError
    from handkit.fileio import DiskFullError, UnsafeFileError
    from handkit.models.hand_model.mesh_hierarchy import MeshHierarchyError
    from handkit.models.hand_model.model_file import (HandModelFileError,
                                                      HandModelNotFoundError)
    from handkit.models.hand_model.open_hand_builder import \
        OpenHandSourceError
    from handkit.registry import UnknownTypeError
    from handkit.convert.tflite import TFLiteError
    return [AnnotationError, DataRootNotFoundError, EmptySplitError,
            ImageFileError, NotExportableError, UnsupportedOpError,
            OnnxModelMismatchError, UnreadableOnnxError,
            MissingDependencyError, CalibrationError,
            QuantizationRefusedError, NothingToResumeError,
            CheckpointMismatchError, CorruptCheckpointError,
            UnsafeCheckpointError, ConfigError, CheckpointDownloadError,
            OutputError, WorkDirInUseError, CodecMismatchError,
            DiskFullError, UnsafeFileError, MeshHierarchyError,
            HandModelFileError, HandModelNotFoundError, UnknownTypeError,
            OpenHandSourceError, TFLiteError]


@pytest.mark.parametrize('error', user_error_classes(),
                         ids=lambda error: error.__name__)
def test_every_user_error_subclasses_the_base(error):
    assert issubclass(error, HandkitUserError)


def test_user_errors_keep_their_builtin_kind():
    """Code that catches the built-in error still catches them."""
    from handkit.datasets.base import DataRootNotFoundError
    from handkit.engine.config import ConfigError
    from handkit.registry import UnknownTypeError
    assert issubclass(DataRootNotFoundError, FileNotFoundError)
    assert issubclass(ConfigError, ValueError)
    assert str(UnknownTypeError('no type X')) == 'no type X'


class MyError(HandkitUserError, ValueError):
    """A new user error: no list to add it to."""


@pytest.mark.parametrize('error', [
    MyError('config a.py: bad key'),
    FileNotFoundError('file not found: a.pth'),
    PermissionError('a.pth: permission denied'),
    OSError(errno.EROFS, 'read-only file system'),
])
def test_the_boundary_prints_a_user_error_and_exits_2(error, capsys):
    with pytest.raises(SystemExit) as exit_info:
        with user_errors_exit():
            raise error
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f'handkit: error: {error}\n'


@pytest.mark.parametrize('error', [ValueError('a bug'),
                                   OSError(errno.EIO, 'I/O error'),
                                   KeyError('a bug')])
def test_other_errors_propagate(error):
    assert not is_user_error(error)
    with pytest.raises(type(error)):
        with user_errors_exit():
            raise error


def test_a_worker_traceback_is_cut_to_its_last_line(capsys):
    message = ('Caught MyError in DataLoader worker process 0.\nOriginal '
               'Traceback (most recent call last):\n  File "x.py", line 1\n'
               f'{MyError.__module__}.MyError: sample 3: bad box')
    with pytest.raises(SystemExit):
        with user_errors_exit():
            raise MyError(message)
    assert capsys.readouterr().err == 'handkit: error: sample 3: bad box\n'
