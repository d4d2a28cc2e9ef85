"""Reading a ``.tflite`` flatbuffer with the ``tflite`` package.

:class:`TFLiteGraph` holds the first subgraph of a TFLite model: its
tensors' names, shapes and types, its constants (float16 weights behind a
``DEQUANTIZE`` op become float32 constants) and its compute ops in
execution order with their builtin options (:class:`TFLiteOp`). It knows
nothing of handkit's models; :mod:`handkit.convert.mediapipe` maps the ops
onto layers. A file that is not a readable TFLite model is a
:class:`TFLiteError`, one line.
"""
import struct
from dataclasses import dataclass
from typing import Any, Dict, List

import numpy as np

from handkit.deploy.optional import install_hint
from handkit.errors import HandkitUserError

#: TFLite's ActivationFunctionType and Padding enums, by value
ACTIVATIONS = {0: 'NONE', 1: 'RELU', 2: 'RELU_N1_TO_1', 3: 'RELU6',
               4: 'TANH', 5: 'SIGN_BIT'}
PADDINGS = {0: 'SAME', 1: 'VALID'}


class TFLiteError(HandkitUserError, ValueError):
    """A .tflite file that is unreadable or not the expected model."""


def _import_tflite():
    try:
        import tflite
    except ImportError:
        from handkit.deploy import MissingDependencyError
        raise MissingDependencyError(
            'reading .tflite files needs the tflite and flatbuffers '
            f'packages: {install_hint("tflite")}') from None
    return tflite


@dataclass
class TFLiteOp:
    """One operator: its index in the graph, builtin name, input and output
    tensor indices (-1: an absent optional input) and parsed options."""
    index: int
    type: str
    inputs: List[int]
    outputs: List[int]
    options: Dict[str, Any]


def _options(tflite, op_type: str, table) -> Dict[str, Any]:
    """The builtin options of an op as a dict (defaults when absent)."""
    def read(cls, fields):
        if table is None:
            return {}
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return {name: getattr(obj, method)() for name, method in fields}

    conv = [('padding', 'Padding'), ('stride_h', 'StrideH'),
            ('stride_w', 'StrideW'), ('dilation_h', 'DilationHFactor'),
            ('dilation_w', 'DilationWFactor'),
            ('activation', 'FusedActivationFunction')]
    readers = {
        'CONV_2D': (tflite.Conv2DOptions, conv),
        'DEPTHWISE_CONV_2D': (tflite.DepthwiseConv2DOptions, conv + [
            ('depth_multiplier', 'DepthMultiplier')]),
        'MAX_POOL_2D': (tflite.Pool2DOptions, [
            ('padding', 'Padding'), ('stride_h', 'StrideH'),
            ('stride_w', 'StrideW'), ('filter_h', 'FilterHeight'),
            ('filter_w', 'FilterWidth'),
            ('activation', 'FusedActivationFunction')]),
        'ADD': (tflite.AddOptions, [
            ('activation', 'FusedActivationFunction')]),
        'FULLY_CONNECTED': (tflite.FullyConnectedOptions, [
            ('activation', 'FusedActivationFunction'),
            ('weights_format', 'WeightsFormat'),
            ('keep_num_dims', 'KeepNumDims')]),
        'CONCATENATION': (tflite.ConcatenationOptions, [
            ('axis', 'Axis'), ('activation', 'FusedActivationFunction')]),
        'MEAN': (tflite.ReducerOptions, [('keep_dims', 'KeepDims')]),
        'RESIZE_BILINEAR': (tflite.ResizeBilinearOptions, [
            ('align_corners', 'AlignCorners'),
            ('half_pixel_centers', 'HalfPixelCenters')]),
    }
    options = read(*readers[op_type]) if op_type in readers else {}
    if 'activation' in options:
        options['activation'] = ACTIVATIONS.get(options['activation'],
                                                str(options['activation']))
    else:
        options['activation'] = 'NONE'
    if 'padding' in options:
        options['padding'] = PADDINGS.get(options['padding'],
                                          str(options['padding']))
    return options


class TFLiteGraph:
    """The first subgraph of a .tflite flatbuffer, read with ``tflite``.

    ``ops`` are the compute ops in execution order; ``DEQUANTIZE`` ops of
    constant float16 weights are folded away: their outputs are constants
    (float32). :meth:`take` hands out a constant and counts its uses, so
    the converter can check every weight was used exactly once.
    ``stored[index]`` is where a constant's values lie in the file: (byte
    offset, numpy type; float16 for a folded ``DEQUANTIZE``), for writing
    new weights in place (:func:`handkit.convert.mediapipe.export_tflite`).

    Raises:
        TFLiteError: the bytes are not a readable TFLite model.
    """

    def __init__(self, data: bytes, source: str = '<bytes>') -> None:
        tflite = _import_tflite()
        self.source = source
        if len(data) < 8 or data[4:8] != b'TFL3':
            raise TFLiteError(f'{source} is not a TFLite model (no TFL3 '
                              'identifier)')
        try:
            self._read(tflite, data)
        except TFLiteError:
            raise
        except (struct.error, IndexError, ValueError, TypeError,
                UnicodeDecodeError, KeyError, AttributeError) as error:
            raise TFLiteError(f'{source} is not a readable TFLite model '
                              f'(truncated or corrupt: '
                              f'{type(error).__name__})') from None

    def _read(self, tflite, data: bytes) -> None:
        from tflite.BuiltinOperator import BuiltinOperator
        from tflite.TensorType import TensorType
        op_names = {value: name for name, value in vars(
            BuiltinOperator).items() if not name.startswith('_')}
        dtypes = {TensorType.FLOAT32: np.float32,
                  TensorType.FLOAT16: np.float16,
                  TensorType.INT32: np.int32, TensorType.INT64: np.int64}
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() < 1:
            raise TFLiteError(f'{self.source} holds no subgraph')
        graph = model.Subgraphs(0)
        self.names, self.shapes, self.types = [], [], []
        constants, storage = {}, {}
        base = np.frombuffer(data, np.uint8).ctypes.data
        for index in range(graph.TensorsLength()):
            tensor = graph.Tensors(index)
            self.names.append((tensor.Name() or b'').decode())
            self.shapes.append(tuple(int(v) for v in tensor.ShapeAsNumpy())
                               if tensor.ShapeLength() else ())
            self.types.append(tensor.Type())
            buffer = model.Buffers(tensor.Buffer())
            raw = None
            if buffer.DataLength() > 0:
                view = buffer.DataAsNumpy()  # a view into ``data``
                storage[index] = view.ctypes.data - base
                raw = view.tobytes()
            elif buffer.Offset() > 1:  # a buffer stored after the flatbuffer
                storage[index] = buffer.Offset()
                raw = data[buffer.Offset():buffer.Offset() + buffer.Size()]
            if raw is not None:
                if tensor.Type() not in dtypes:
                    raise TFLiteError(f'{self.source}: tensor '
                                      f'{self.names[-1]!r} has an '
                                      f'unsupported type {tensor.Type()}')
                array = np.frombuffer(raw, dtypes[tensor.Type()])
                constants[index] = array.reshape(self.shapes[-1])
        self.inputs = [int(i) for i in graph.InputsAsNumpy()]
        self.outputs = [int(i) for i in graph.OutputsAsNumpy()]
        # constant -> (byte offset of its values in ``data``, their type)
        self.stored = {index: (offset, constants[index].dtype.type)
                       for index, offset in storage.items()}
        self.ops: List[TFLiteOp] = []
        for index in range(graph.OperatorsLength()):
            op = graph.Operators(index)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = op_names.get(builtin, f'BUILTIN_{builtin}')
            inputs = ([int(i) for i in op.InputsAsNumpy()]
                      if op.InputsLength() else [])
            outputs = ([int(i) for i in op.OutputsAsNumpy()]
                       if op.OutputsLength() else [])
            if name == 'DEQUANTIZE' and inputs[0] in constants:
                constants[outputs[0]] = constants.pop(inputs[0]).astype(
                    np.float32)
                self.stored[outputs[0]] = self.stored.pop(inputs[0])
                continue
            self.ops.append(TFLiteOp(index, name, inputs, outputs,
                                     _options(tflite, name,
                                              op.BuiltinOptions())))
        self.constants = constants
        self.uses = {index: 0 for index in constants}

    def is_constant(self, index: int) -> bool:
        return index in self.constants

    def take(self, index: int) -> np.ndarray:
        """A constant tensor (float32 if it was float16), counted as used."""
        if index not in self.constants:
            raise TFLiteError(f'{self.source}: tensor {index} '
                              f'({self.names[index]!r}) is not a constant')
        self.uses[index] += 1
        return self.constants[index]

    def float_weights(self) -> List[int]:
        """Indices of the float constants (the weights)."""
        return [index for index, array in self.constants.items()
                if array.dtype == np.float32]

    def op_sequence(self) -> List[str]:
        return [op.type for op in self.ops]

