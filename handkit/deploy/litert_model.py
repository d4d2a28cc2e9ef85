"""Run a handkit model's ``.tflite`` with LiteRT, decoded as in PyTorch.

LiteRT (``ai-edge-litert``, formerly TensorFlow Lite) is the runtime that
MediaPipe itself uses; its default CPU delegate, XNNPACK, runs MediaPipe
Hands' depthwise networks about twice as fast as eager PyTorch at batch 1
(docs/mediapipe.md, section Speed). :class:`LiteRTModel` is a
:class:`~handkit.deploy.backend_model.BackendModel`: handkit's data
preprocessor before the network and its heads' ``decode`` after it, so
``init_model(config, 'model.tflite', backend='litert')``,
``HandInferencer(backend='litert')``, ``tools/demo.py`` and
``tools/test.py`` run it unchanged.

The ``.tflite`` files are MediaPipe's own or ``tools/export_tflite.py``'s
(a converted or fine-tuned handkit model written back into MediaPipe's
graph). A head declares which TFLite output holds each of its tensors
(``tflite_outputs``); heads without one have no TFLite form.
"""
import os.path as osp
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.config import Config

from handkit.deploy.backend_model import BackendModel
from handkit.deploy.optional import import_optional
from handkit.errors import HandkitUserError
from handkit.evaluation.complexity import input_shape_from_config

FEATURE = "backend='litert'"


class LiteRTModelMismatchError(HandkitUserError, ValueError):
    """A .tflite file that is unreadable or not the config's model."""


def _output_names(head_names: List[str], heads) -> Dict[str, str]:
    """TFLite output name -> ``'<head>.<tensor>'`` from the heads'
    ``tflite_outputs``."""
    names = {}
    for head_name, head in zip(head_names, heads):
        outputs = getattr(head, 'tflite_outputs', None)
        if not outputs:
            raise LiteRTModelMismatchError(
                f"{FEATURE}: the head '{head_name}' "
                f'({type(head).__name__}) has no TFLite form; LiteRT runs '
                "MediaPipe's architectures (configs/mediapipe/*.py), "
                'exported by tools/export_tflite.py')
        for tensor, tflite_name in outputs.items():
            if tflite_name in names:
                raise LiteRTModelMismatchError(
                    f'{FEATURE}: two heads read the TFLite output '
                    f'{tflite_name!r}; a .tflite holds one head')
            names[tflite_name] = f'{head_name}.{tensor}'
    return names


class LiteRTModel(BackendModel):
    """A ``.tflite`` file run by LiteRT's interpreter, decoded by handkit.

    Args:
        tflite_file: MediaPipe's file or one of ``tools/export_tflite.py``.
        cfg: the config of its architecture (its heads decode, its data
            preprocessor normalises).
        num_threads: the interpreter's threads; None:
            ``torch.get_num_threads()``, so that LiteRT and PyTorch use the
            same cores.

    A batch runs one sample at a time (MediaPipe's files take one).

    Raises:
        MissingDependencyError: ai-edge-litert is not installed (one line).
        FileNotFoundError: no such file.
        LiteRTModelMismatchError: not a model LiteRT can read, or its input
            or outputs are not the config's.
    """

    backend = 'litert'
    # The data preprocessor's small tensor ops on one PyTorch thread: on
    # more, PyTorch's OpenMP threads spin after each op and take the cores
    # from XNNPACK's (measured: 17.7 against 12.6 ms per frame of
    # HandInferencer on 2 cores)
    preprocess_threads = 1

    def __init__(self, tflite_file: str, cfg: Config,
                 num_threads: Optional[int] = None) -> None:
        super().__init__(cfg)
        # the heads first: a config without a TFLite form needs no file
        names = _output_names(self.head_names, self.heads)
        litert = import_optional('ai_edge_litert.interpreter', FEATURE)
        self.tflite_file = str(tflite_file)
        if not osp.isfile(self.tflite_file):
            raise FileNotFoundError(f'TFLite file not found: '
                                    f'{self.tflite_file}')
        self.num_threads = int(num_threads or torch.get_num_threads())
        try:
            self.interpreter = litert.Interpreter(
                model_path=self.tflite_file, num_threads=self.num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise LiteRTModelMismatchError(
                f'LiteRT cannot load {self.tflite_file}: '
                f'{str(error).splitlines()[0]}') from None
        self._input = self.interpreter.get_input_details()[0]
        self._outputs = self._match_config(names)

    def _match_config(self, names: Dict[str, str]) -> Dict[str, int]:
        """``'<head>.<tensor>'`` -> output index, after checking the file's
        input and outputs against the config."""
        shape = tuple(int(side) for side in self._input['shape'])
        channels, height, width = input_shape_from_config(self.cfg)
        if shape[1:] != (height, width, channels):
            raise LiteRTModelMismatchError(
                f'{self.tflite_file} takes (H, W, C) inputs {shape[1:]}, '
                f'the config feeds {(height, width, channels)}: export it '
                'from this config (tools/export_tflite.py)')
        found = {detail['name']: detail['index']
                 for detail in self.interpreter.get_output_details()}
        if sorted(found) != sorted(names):
            raise LiteRTModelMismatchError(
                f'{self.tflite_file} outputs {sorted(found)}, the '
                f"config's heads read {sorted(names)}: not this config's "
                'model')
        return {names[name]: index for name, index in found.items()}

    def run(self, inputs: Union[torch.Tensor, np.ndarray]
            ) -> Dict[str, np.ndarray]:
        """Network outputs ``{'<head>.<tensor>': array}`` for float
        (B, C, H, W) inputs (the data preprocessor's output)."""
        if isinstance(inputs, torch.Tensor):
            inputs = inputs.detach().float().cpu().numpy()
        # NCHW -> NHWC, one sample at a time
        samples = np.ascontiguousarray(np.asarray(
            inputs, np.float32).transpose(0, 2, 3, 1))
        expected = tuple(int(side) for side in self._input['shape'][1:])
        if samples.shape[1:] != expected:
            raise ValueError(f'{self.tflite_file} takes (H, W, C) inputs '
                             f'{expected}, got {samples.shape[1:]}')
        outputs = {name: [] for name in self._outputs}
        for sample in samples:
            self.interpreter.set_tensor(self._input['index'], sample[None])
            self.interpreter.invoke()
            for name, index in self._outputs.items():
                outputs[name].append(self.interpreter.get_tensor(index))
        return {name: np.concatenate(arrays)
                for name, arrays in outputs.items()}

    def describe(self) -> str:
        """One line: the backend, its threads, the file."""
        from importlib.metadata import version
        return (f"backend: litert {version('ai-edge-litert')} (XNNPACK, "
                f'threads {self.num_threads}) on {self.tflite_file}')
