"""Run an exported handkit model with ONNX Runtime, decoded as in PyTorch.

:class:`OnnxRuntimeModel` is a :class:`~handkit.deploy.backend_model.
BackendModel`: the same data preprocessor before the network and the same
numpy ``decode`` of each head after it, so :func:`handkit.apis.inference`,
``tools/demo.py`` and ``tools/test.py`` run it unchanged
(``backend='onnxruntime'``). Only the network between them is ONNX
Runtime's.

onnx and onnxruntime are optional (the ``onnx`` extra); a missing
one is a :class:`MissingDependencyError` of one line.
"""
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config

from handkit.deploy.backend_model import BackendModel
from handkit.deploy.onnx_export import (INPUT_NAME, META_INPUT_SHAPE,
                                        META_VERSION)
from handkit.deploy.optional import import_optional
from handkit.errors import HandkitUserError
from handkit.evaluation.complexity import input_shape_from_config

# SessionOptions.graph_optimization_level by name.
GRAPH_OPTIMIZATIONS = {'disable': 'ORT_DISABLE_ALL',
                       'basic': 'ORT_ENABLE_BASIC',
                       'extended': 'ORT_ENABLE_EXTENDED',
                       'all': 'ORT_ENABLE_ALL'}


class UnreadableOnnxError(HandkitUserError, ValueError):
    """A file given as an ONNX model is not one ONNX Runtime can load."""


class OnnxModelMismatchError(HandkitUserError, ValueError):
    """An ONNX file was not exported from the given config."""


def create_session(onnx_file: str, num_threads: Optional[int] = None,
                   graph_optimization: str = 'all',
                   providers: Optional[Sequence[str]] = None,
                   allow_spinning: bool = True) -> Any:
    """An ``onnxruntime.InferenceSession`` on ``onnx_file``.

    Args:
        onnx_file: an exported model.
        num_threads: intra-op threads; None: ``torch.get_num_threads()``, so
            that ONNX Runtime and PyTorch use the same cores.
        graph_optimization: 'disable', 'basic', 'extended' or 'all'
            (``GraphOptimizationLevel``; 'all' adds layout optimisations).
        providers: execution providers; None: ``CPUExecutionProvider``.
        allow_spinning: False: the intra-op threads sleep as soon as a run
            ends (``session.intra_op.allow_spinning=0``) instead of
            spinning for the next one, which takes the cores from whatever
            runs between (PyTorch, another runtime) in the same process.
    """
    ort = import_optional('onnxruntime', "backend='onnxruntime'")
    if graph_optimization not in GRAPH_OPTIMIZATIONS:
        raise ValueError(f'graph_optimization must be one of '
                         f'{sorted(GRAPH_OPTIMIZATIONS)}, got '
                         f'{graph_optimization!r}')
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(
        ort.GraphOptimizationLevel, GRAPH_OPTIMIZATIONS[graph_optimization])
    options.intra_op_num_threads = int(num_threads or
                                       torch.get_num_threads())
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    if not allow_spinning:
        options.add_session_config_entry('session.intra_op.allow_spinning',
                                         '0')
    try:
        return ort.InferenceSession(
            str(onnx_file), sess_options=options,
            providers=list(providers or ['CPUExecutionProvider']))
    except Exception as error:  # onnxruntime's own exception types
        if 'NO_SUCHFILE' in str(error) or 'No such file' in str(error):
            raise FileNotFoundError(f'ONNX file not found: {onnx_file}'
                                    ) from None
        raise UnreadableOnnxError(
            f'ONNX Runtime cannot load {onnx_file}: '
            f'{str(error).splitlines()[0]}') from None


def run_in_pieces(runtime: Any, inputs: Union[torch.Tensor, np.ndarray]
                  ) -> Dict[str, np.ndarray]:
    """``runtime.run(inputs)`` for a batch of any size: a file exported
    without ``--dynamic-batch`` takes a fixed batch (1), so the batch (a
    split's batches, the detector's tiles, the ROIs of several hands) runs
    in pieces of that size, their outputs concatenated. ``runtime``: an
    :class:`OnnxRuntimeModel`, or anything with ``run(inputs)`` (run
    whole)."""
    session = getattr(runtime, 'session', None)
    fixed = session.get_inputs()[0].shape[0] if session is not None else None
    if not isinstance(fixed, int) or fixed < 1 or fixed == len(inputs):
        return runtime.run(inputs)
    if len(inputs) % fixed:
        raise ValueError(f'{runtime.onnx_file} takes batches of {fixed}, '
                         f'got {len(inputs)} inputs; export it with '
                         '--dynamic-batch')
    parts = [runtime.run(inputs[start:start + fixed])
             for start in range(0, len(inputs), fixed)]
    return {name: np.concatenate([part[name] for part in parts])
            for name in parts[0]}


class OnnxRuntimeModel(BackendModel):
    """An exported estimator run by ONNX Runtime, decoded by handkit.

    Args:
        onnx_file: the file of ``tools/export_onnx.py``.
        cfg: the config it was exported from (its heads decode, its data
            preprocessor normalises).
        num_threads, graph_optimization, providers, allow_spinning: see
            :func:`create_session`.

    ``model(inputs, data_samples, mode)``, as the PyTorch estimator:
    'predict' -> the list of prediction dicts of
    :meth:`CascadeEstimator.decode`; 'tensor' -> ``{'<head>.<tensor>':
    tensor}``, the network outputs. There is no 'loss': train in PyTorch.

    Raises:
        MissingDependencyError: onnxruntime is not installed.
        FileNotFoundError: no such file.
        OnnxModelMismatchError: the file's outputs are not those of the
            config's heads, or its input shape is not the config's.
    """

    backend = 'onnxruntime'

    def __init__(self, onnx_file: str, cfg: Config,
                 num_threads: Optional[int] = None,
                 graph_optimization: str = 'all',
                 providers: Optional[Sequence[str]] = None,
                 allow_spinning: bool = True) -> None:
        super().__init__(cfg)
        self.session = create_session(onnx_file, num_threads,
                                      graph_optimization, providers,
                                      allow_spinning)
        self.onnx_file = str(onnx_file)
        self.output_names = [out.name for out in self.session.get_outputs()]
        self.metadata = dict(
            self.session.get_modelmeta().custom_metadata_map)
        self._check_against_config()

    @property
    def device_type(self) -> str:
        """'cuda' when the session runs on the CUDA provider, else 'cpu'
        (where the network runs, whatever device the inputs come from)."""
        return ('cuda' if 'CUDAExecutionProvider' in
                self.session.get_providers() else 'cpu')

    def _check_against_config(self) -> None:
        exported = sorted({name.rpartition('.')[0]
                           for name in self.output_names})
        if exported != sorted(self.head_names):
            raise OnnxModelMismatchError(
                f'{self.onnx_file} outputs {self.output_names}, but the '
                f'config\'s heads are {self.head_names}: export it from '
                f'this config (tools/export_onnx.py)')
        shape = self.metadata.get(META_INPUT_SHAPE)
        expected = tuple(input_shape_from_config(self.cfg))
        if shape is None:
            raise OnnxModelMismatchError(
                f'{self.onnx_file} has no {META_INPUT_SHAPE} metadata: '
                'export it with tools/export_onnx.py')
        shape = tuple(int(side) for side in shape.split(','))
        if shape != expected:
            raise OnnxModelMismatchError(
                f'{self.onnx_file} takes (C, H, W) inputs {shape}, the '
                f'config feeds {expected}: export it from this config')

    def run(self, inputs: Union[torch.Tensor, np.ndarray]
            ) -> Dict[str, np.ndarray]:
        """Network outputs ``{'<head>.<tensor>': array}`` for float
        (B, C, H, W) inputs (the data preprocessor's output)."""
        if isinstance(inputs, torch.Tensor):
            inputs = inputs.detach().cpu().contiguous().numpy()
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        expected = self.session.get_inputs()[0].shape  # ['batch', C, H, W]
        if inputs.ndim != len(expected) or any(
                isinstance(side, int) and side != got
                for side, got in zip(expected, inputs.shape)):
            fixed = isinstance(expected[0], int)
            shown = tuple(side if isinstance(side, int) else 'B'
                          for side in expected)
            raise ValueError(
                f"{self.onnx_file} takes inputs {shown}"
                f"{' (exported without --dynamic-batch)' if fixed else ''}, "
                f'got {tuple(inputs.shape)}')
        outputs = self.session.run(self.output_names, {INPUT_NAME: inputs})
        return dict(zip(self.output_names, outputs))

    def describe(self) -> str:
        """One line: the backend, its provider and threads, the file."""
        ort = import_optional('onnxruntime', "backend='onnxruntime'")
        options = self.session.get_session_options()
        return (f'backend: onnxruntime {ort.__version__} '
                f"({', '.join(self.session.get_providers())}, "
                f'threads {options.intra_op_num_threads}) on '
                f'{self.onnx_file} (exported by handkit '
                f"{self.metadata.get(META_VERSION, '?')})")
