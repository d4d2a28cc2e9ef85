"""Common base of handkit's dataset adapters.

An adapter parses one on-disk format into plain ``data_info`` dicts (see
docs/architecture.md, section 1). It never resizes or augments. This base adds
what every adapter needs: a clear, traceback-free paragraph when the data is
not where the config says, and validation of keypoint arrays that names the
file and the sample at fault.
"""
import json
import os.path as osp
from typing import Any, Iterable, Mapping, Optional, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from handkit.errors import HandkitUserError
from handkit.skeleton import KEYPOINT_NAMES, NUM_KEYPOINTS


class DataRootNotFoundError(HandkitUserError, FileNotFoundError):
    """The dataset's files are not where the config points.

    ``str(error)`` is a short paragraph for a person: which layout is
    expected, where the data comes from, and which ``--cfg-options`` key to
    change. ``tools/train.py`` and ``tools/test.py`` print it and exit with 2.
    """

    def __str__(self):
        return str(self.args[0])


class AnnotationError(HandkitUserError, ValueError):
    """An annotation file holds a value handkit cannot use."""


class EmptySplitError(AnnotationError):
    """An adapter found no sample for the requested split."""


def pipeline_steps(pipeline: Union[Iterable[Optional[dict]],
                                   Mapping[str, Optional[dict]]]
                   ) -> list:
    """The transform configs of a pipeline given as a list or an ordered dict.

    handkit's configs name their pipeline steps (``dict(load=..., crop=...)``)
    so that an experiment overrides one step by name through ``_base_``
    merging; ``None`` removes a step.
    """
    steps = pipeline.values() if isinstance(pipeline, dict) else pipeline
    return [step for step in steps if step is not None]


# Where a config states the pipeline that test-time inputs go through.
TEST_PIPELINE_KEY = 'test_dataloader.dataset.pipeline'


def input_size_step(pipeline: Union[Iterable[Any], Mapping[str, Any]]
                    ) -> Optional[Tuple[str, Tuple[int, int]]]:
    """``(step type, (W, H))`` of the step that makes the network input.

    That is the last step with an ``input_size`` (``TopdownAffine``,
    ``DepthCubeCrop``): later steps only pack what it made.

    Args:
        pipeline: step configs (a list or a dict of named steps, as
            :func:`pipeline_steps` takes; a config must state the size) or
            built transforms (their ``input_size`` attribute).

    Returns:
        The step's type name and its (W, H) as ints; None when no step has
        an ``input_size``.
    """
    found = None
    for step in pipeline_steps(pipeline):
        if isinstance(step, Mapping):
            name, size = step.get('type'), step.get('input_size')
        else:
            name, size = type(step).__name__, getattr(step, 'input_size',
                                                      None)
        if size is not None:
            found = (str(name), (int(size[0]), int(size[1])))
    return found


def config_input_size(cfg: Mapping) -> Tuple[int, int]:
    """(W, H) of the network input of a config's model.

    The ``input_size`` of the step of the config's test pipeline
    (``cfg.test_dataloader.dataset.pipeline``) that makes the network input
    (:func:`input_size_step`): the one size that inference, the complexity
    report, preflight and the ONNX export all use.

    Raises:
        ValueError: the config has no test pipeline, or no step of it
            states an ``input_size`` (one line naming the key).
    """
    loader = cfg.get('test_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline')
    if not pipeline:
        raise ValueError(f'cannot tell the network input size: the config '
                         f'has no {TEST_PIPELINE_KEY}')
    found = input_size_step(pipeline)
    if found is None:
        raise ValueError(f'cannot tell the network input size: no step of '
                         f'{TEST_PIPELINE_KEY} states input_size (W, H) '
                         f'(TopdownAffine, DepthCubeCrop)')
    return found[1]


def load_json(path: str) -> Any:
    """Parsed JSON of ``path``; an :class:`AnnotationError` naming it if
    malformed."""
    with open(path, encoding='utf-8') as file:
        try:
            return json.load(file)
        except json.JSONDecodeError as error:
            raise AnnotationError(
                f'{path}: not valid JSON ({error})') from error


class BaseHandDataset(BaseDataset):
    """Base of the hand pose adapters.

    Subclasses set ``LAYOUT`` (the expected files, as a short text block),
    ``SOURCE`` (where the data comes from), ``label_hints`` where they give
    an optional label (``handkit.labels``) and implement ``load_data_list``.
    They call :meth:`check_exists` for every file or folder they read first,
    and :meth:`check_keypoints` on every keypoint array they parse.

    Args:
        split: 'train', 'val' or 'test' (adapters define what each means).
        pipeline: transform configs, a list or an ordered dict of named
            steps (see :func:`pipeline_steps`).
        **kwargs: passed to ``mmengine.dataset.BaseDataset`` (``data_root``,
            ``ann_file``, ``data_prefix``, ``pipeline``, ``test_mode``,
            ``indices``, ...).
    """

    METAINFO = dict(
        dataset_name='hand',
        num_keypoints=NUM_KEYPOINTS,
        keypoint_names=list(KEYPOINT_NAMES),
        pck_thresholds=[0.04, 0.06, 0.08, 0.10, 0.12],
    )
    LAYOUT = ''
    SOURCE = ''
    SPLITS = ('train', 'val', 'test')
    # {label: how to ask this adapter for it} of the optional labels it
    # gives (handkit.labels): what preflight names when a dataset lacks one
    label_hints: dict = {}

    def __init__(self, split: str = 'train',
                 pipeline: Union[Iterable[Optional[dict]],
                                 Mapping[str, Optional[dict]]] = (),
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of '
                             f'{self.SPLITS}, got {split!r}')
        self.split = split
        # What the split was cut from, for the empty-split error; adapters
        # that divide a release themselves set it in load_data_list.
        self.split_origin = ''
        # Every file check_exists saw: what an output must never replace.
        self.source_files: list = []
        super().__init__(pipeline=pipeline_steps(pipeline), **kwargs)

    def _serialize_data(self):
        """mmengine's serialisation, after refusing an empty split.

        mmengine would fail here with "need at least one array to
        concatenate"; the split, the count and the files are named instead.
        """
        if not self.data_list:
            source = self.ann_file or self.data_root or '(no data_root)'
            origin = f' {self.split_origin}' if self.split_origin else ''
            raise EmptySplitError(
                f'{type(self).__name__}: the {self.split!r} split{origin} '
                f'has 0 samples ({source}); check the files, the split or '
                'its indices')
        return super()._serialize_data()

    # -- helpers for subclasses -------------------------------------------
    def check_exists(self, path: str, what: str = 'file') -> str:
        """Raise :class:`DataRootNotFoundError` if ``path`` does not exist;
        a file is recorded in ``source_files``."""
        if osp.exists(path):
            if osp.isfile(path):
                self.source_files.append(path)
            return path
        name = type(self).__name__
        root = self.data_root or '(not set)'
        message = (
            f'{name}: {what} not found: {path}\n'
            f'  data_root is {root}. {name} expects this layout under '
            f'data_root:\n'
            + ''.join(f'    {line}\n' for line in self.LAYOUT.strip().splitlines())
            + (f'  Where it comes from: {self.SOURCE}\n' if self.SOURCE else '')
            + '  Point to your copy with --cfg-options, e.g. '
            f'train_dataloader.dataset.data_root=/path/to/data '
            f'(and val_dataloader / test_dataloader likewise).')
        raise DataRootNotFoundError(message)

    @staticmethod
    def check_keypoints(keypoints: Any, source: str,
                        num_coords: int = 2) -> np.ndarray:
        """Validate one hand's keypoints; return them as float32.

        Args:
            keypoints: array-like, (21, num_coords) or (21, num_coords + 1)
                (the extra column is dropped by the caller, not here).
            source: text naming the file and sample, used in the error.
            num_coords: 2 for image keypoints, 3 for 3D joints.
        """
        try:
            array = np.asarray(keypoints, dtype=np.float32)
        except (TypeError, ValueError) as error:  # ragged rows, None, text
            raise AnnotationError(
                f'{source}: keypoints are not a ({NUM_KEYPOINTS}, '
                f'{num_coords}) array of numbers ({error})') from error
        if array.shape != (NUM_KEYPOINTS, num_coords):
            raise AnnotationError(
                f'{source}: expected keypoints of shape '
                f'({NUM_KEYPOINTS}, {num_coords}), got {array.shape}')
        if not np.isfinite(array).all():
            bad = np.flatnonzero(~np.isfinite(array).all(axis=1)).tolist()
            raise AnnotationError(
                f'{source}: keypoints hold NaN or inf at indices {bad}')
        return array

    @staticmethod
    def keypoint_box(keypoints: np.ndarray,
                     visible: np.ndarray) -> np.ndarray:
        """Tightest box (x1, y1, x2, y2) of the labelled keypoints.

        The box of all keypoints when none is labelled (a degenerate case
        that metrics skip because no keypoint counts).
        """
        labelled = keypoints[visible > 0] if (visible > 0).any() else keypoints
        return np.concatenate([labelled.min(0), labelled.max(0)]).astype(
            np.float32)
