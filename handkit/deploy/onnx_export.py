"""Export a handkit estimator to ONNX, up to what its heads decode.

The graph is ``inputs`` (B, C, H, W), the data preprocessor's output
(normalised image or depth crop), -> backbone -> heads ->
:meth:`CascadeEstimator.predict_tensors`: the maps, coordinates or joints
each head's numpy ``decode`` reads, one graph output per tensor, named
``'<head>.<tensor>'`` (``keypoints.heatmaps``, ``structure.structure_maps``,
``joints.joints_cube``, ...). Decoding (the KCM peak search, the inverse
warp, the cube to millimetres) stays out of the graph: ONNX Runtime's outputs
go through the same ``decode`` functions as eager PyTorch
(:class:`handkit.deploy.OnnxRuntimeModel`).

The exporter is PyTorch's TorchScript-based one (``torch.onnx.export(...,
dynamo=False)``): it needs no package beyond torch, traces every handkit
model, and names an operator it cannot convert. The file also records, as
ONNX metadata, the input shape and the handkit version.
"""
import contextlib
import os
import re
import sys
import tempfile
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from handkit.deploy.optional import import_optional
from handkit.errors import HandkitUserError
from handkit.fileio import atomic_output
from handkit.version import __version__

DEFAULT_OPSET = 17
INPUT_NAME = 'inputs'
# ONNX metadata keys written by export_onnx and read by OnnxRuntimeModel.
META_INPUT_SHAPE = 'handkit.input_shape'
META_VERSION = 'handkit.version'
META_DYNAMIC_BATCH = 'handkit.dynamic_batch'

# The exporter's two ways of naming an operator it cannot convert:
# "Exporting the operator 'aten::erfinv' to ONNX opset version 17 is not
# supported" and "Unsupported: ONNX export of operator adaptive_max_pool2d,
# output size that are not factor of input size".
_UNSUPPORTED = (re.compile(r"operator '([\w:.]+)'"),
                re.compile(r'ONNX export of operator ([^,.]+)'))


class UnsupportedOpError(HandkitUserError, RuntimeError):
    """The ONNX exporter cannot convert an operator; the message names the
    operator and the module whose forward calls it."""


class NotExportableError(HandkitUserError, TypeError):
    """A head overrides ``predict`` instead of ``predict_tensors`` +
    ``decode``, so its decoding cannot run on exported outputs."""


class ExportGraph(nn.Module):
    """``inputs -> tuple(model.predict_tensors(inputs).values())``: the
    module that is traced (ONNX graphs output tuples, not dicts)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> tuple:
        return tuple(self.model.predict_tensors(inputs).values())


def check_exportable(model: nn.Module) -> None:
    """:class:`NotExportableError` naming each head whose ``predict`` is
    not ``decode(predict_tensors(...))``."""
    refused = [f"'{name}' ({type(head).__name__})"
               for name, head in zip(model.head_names, model.heads)
               if not head.exportable()]
    if refused:
        raise NotExportableError(
            f"head {', '.join(refused)} overrides predict instead of "
            'splitting it into predict_tensors + decode '
            '(handkit/models/heads/base_head.py), so its decoding cannot run '
            'on the exported outputs')


def output_names(model: nn.Module, input_shape: Sequence[int]) -> List[str]:
    """The graph outputs of ``model``'s export, in order."""
    with torch.no_grad():
        return list(model.predict_tensors(torch.zeros(1, *input_shape)))


class _FindCaller(TorchFunctionMode):
    """Records the innermost module whose forward calls a torch function
    named ``op`` (``erfinv`` for ``torch.erfinv`` and ``Tensor.erfinv``,
    ``linalg_svd`` for ``torch.linalg.svd``: the ATen names the exporter
    reports)."""

    def __init__(self, op: str, stack: List[str]) -> None:
        super().__init__()
        self.names = {op, op + '_'}
        self.stack = stack
        self.found: Optional[str] = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if self.found is None and getattr(func, '__name__', '') in self.names:
            self.found = self.stack[-1]
        return func(*args, **(kwargs or {}))


def find_op_caller(model: nn.Module, inputs: torch.Tensor,
                   op: str) -> Optional[str]:
    """Qualified name of the module (``''`` for ``model`` itself) that
    first calls the torch function ``op`` in its own forward (or, for a
    head, its ``predict_tensors``), found by running
    ``model.predict_tensors(inputs)``; None when no call is seen."""
    stack: List[str] = ['']

    def leave(_module, _args, _output) -> None:
        stack.pop()  # a hook's non-None return would replace the output

    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(
            lambda _module, _args, name=name: stack.append(name)))
        handles.append(module.register_forward_hook(leave))
    heads = [(f'heads.{index}', head)
             for index, head in enumerate(getattr(model, 'heads', ()))]
    for name, head in heads:
        head.predict_tensors = _entered(head.predict_tensors, name, stack)
    finder = _FindCaller(op, stack)
    try:
        with torch.no_grad(), finder:
            model.predict_tensors(inputs)
    finally:
        for handle in handles:
            handle.remove()
        for _, head in heads:
            del head.predict_tensors  # the class's method again
    return finder.found


def _entered(method, name, stack):
    """``method`` with ``name`` on ``stack`` while it runs."""
    def wrapped(*args, **kwargs):
        stack.append(name)
        try:
            return method(*args, **kwargs)
        finally:
            stack.pop()
    return wrapped


def _unsupported_op(error: Exception) -> Optional[str]:
    """The operator an exporter error says it cannot convert, or None."""
    for pattern in _UNSUPPORTED:
        match = pattern.search(str(error))
        if match:
            return match.group(1)
    return None


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's own chatter: the TorchScript exporter's
    deprecation notice and the tracer's warnings about shape checks
    (``check_prior``) turned into constants. A trace that does not
    generalise shows in the parity check, run at batch 1 and, with a
    dynamic batch, at batch 2 (:mod:`handkit.deploy.parity`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=DeprecationWarning,
                                module=r'torch\.onnx')
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', message='.*legacy TorchScript')
        yield


class _Captured:
    """What the exporter's C++ side wrote to the standard streams."""

    def __init__(self) -> None:
        self.kept = False

    def keep(self) -> None:
        """Write it out after all (an error it may explain)."""
        self.kept = True


@contextlib.contextmanager
def _captured_output() -> Iterator[_Captured]:
    """Hold back file descriptors 1 and 2 while the exporter runs: on an
    unsupported operator its C++ side prints the whole TorchScript graph,
    which the one-line :class:`UnsupportedOpError` replaces. Written back
    when ``keep()`` is called."""
    captured = _Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            if captured.kept:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors='replace'))


def export_onnx(model: nn.Module, out_file: str,
                input_shape: Sequence[int], opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = False) -> List[str]:
    """Write ``model``'s network as an ONNX file.

    Args:
        model: a ``CascadeEstimator``; it is left in eval mode, its weights
            as they are.
        out_file: the ``.onnx`` file; written to a temporary file in the
            same folder, then renamed, so a failed export leaves nothing.
        input_shape: (C, H, W) of one input
            (:func:`handkit.evaluation.complexity.input_shape_from_config`).
        opset: ONNX opset version.
        dynamic_batch: a symbolic batch axis on the input and every
            output; else the graph is fixed to batch 1.

    Returns:
        The output names, ``'<head>.<tensor>'``, in graph order.

    Raises:
        MissingDependencyError: the onnx package is not installed.
        ValueError: torch's exporter does not know this opset.
        NotExportableError: a head cannot decode exported outputs.
        UnsupportedOpError: an operator has no ONNX conversion at this
            opset (one line: the operator, the module, its class).
    """
    onnx = import_optional('onnx', 'the ONNX export')
    check_exportable(model)
    model.eval()
    inputs = torch.zeros(1, *input_shape)
    names = output_names(model, input_shape)
    dynamic_axes = ({name: {0: 'batch'} for name in [INPUT_NAME] + names}
                    if dynamic_batch else None)
    # written through a temporary: a failed export, a kill or a full disk
    # leaves the previous file
    with atomic_output(out_file) as tmp_file:
        with _captured_output() as captured:
            try:
                # eval() on the wrapper too: the exporter restores the
                # wrapper's mode afterwards, and a wrapper in training mode
                # would put the model back into training mode
                with _quiet_exporter(), torch.no_grad():
                    torch.onnx.export(
                        ExportGraph(model).eval(), (inputs, ), tmp_file,
                        dynamo=False, opset_version=opset,
                        input_names=[INPUT_NAME], output_names=names,
                        dynamic_axes=dynamic_axes, do_constant_folding=True)
            except (torch.onnx.errors.OnnxExporterError,
                    RuntimeError) as error:
                op = _unsupported_op(error)
                if 'onnx_opset_version' in str(error):
                    raise ValueError(f'--opset {opset}: {error}') from None
                if op is None:
                    captured.keep()
                    raise
                raise _unsupported_error(model, inputs, op, opset,
                                         error) from None
        _write_metadata(onnx, tmp_file, input_shape, dynamic_batch)
    return names


def _unsupported_error(model, inputs, op, opset, error):
    name = find_op_caller(model, inputs,
                          op.rpartition('::')[2].rpartition('.')[2])
    if name is None:
        where = 'in a call handkit could not trace to a module'
    else:
        module = model.get_submodule(name)
        where = (f"in module '{name}' ({type(module).__name__})" if name
                 else f'in the forward of {type(module).__name__} itself')
    reason = re.split(r'\.? (?:Please feel free|\[Caused by)',
                      str(error).splitlines()[0])[0]
    return UnsupportedOpError(
        f"ONNX opset {opset} cannot export the operator '{op}' {where}: "
        f'{reason}')


def _write_metadata(onnx: Any, onnx_file: str, input_shape: Sequence[int],
                    dynamic_batch: bool) -> None:
    """Record the input shape and the handkit version in the file, then
    check it (``onnx.checker``)."""
    graph = onnx.load(onnx_file)
    entries: Dict[str, str] = {
        META_INPUT_SHAPE: ','.join(str(int(side)) for side in input_shape),
        META_VERSION: __version__,
        META_DYNAMIC_BATCH: str(bool(dynamic_batch)).lower()}
    for key, value in entries.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(graph)
    onnx.save(graph, onnx_file)
