"""Write tiny TFLite flatbuffers for the converter's op tests.

``TinyModel`` holds tensors (constants with their data) and ops, and
``build()`` serialises them with ``flatbuffers.Builder`` and the schema
builders of the ``tflite`` package: one subgraph, file identifier TFL3,
buffer 0 empty, as TensorFlow's converter writes them. Used by
tests/tools/test_convert_mediapipe.py.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import flatbuffers
import numpy as np
import tflite
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.Padding import Padding
from tflite.TensorType import TensorType

TYPES = {np.dtype(np.float32): TensorType.FLOAT32,
         np.dtype(np.float16): TensorType.FLOAT16,
         np.dtype(np.int32): TensorType.INT32}

Options = Tuple[int, Callable[[flatbuffers.Builder], int]]


def _aligned_bytes(builder: flatbuffers.Builder, data: bytes) -> int:
    """A byte vector aligned to 16 (as TensorFlow writes weights)."""
    builder.StartVector(1, len(data), 16)
    builder.head -= len(data)
    builder.Bytes[builder.head:builder.head + len(data)] = data
    builder.vectorNumElems = len(data)
    return builder.EndVector()


def _int_vector(builder: flatbuffers.Builder, values: Sequence[int]) -> int:
    return builder.CreateNumpyVector(np.asarray(values, np.int32))


class TinyModel:
    """A one-subgraph TFLite model, built op by op."""

    def __init__(self) -> None:
        self.tensors: List[Tuple[str, tuple, int, Optional[bytes]]] = []
        self.ops: List[Tuple[str, List[int], List[int], Optional[Options]]]
        self.ops = []

    def tensor(self, shape: Sequence[int], dtype=np.float32,
               data: Optional[np.ndarray] = None,
               name: Optional[str] = None) -> int:
        index = len(self.tensors)
        raw = None if data is None else np.ascontiguousarray(
            data, dtype).tobytes()
        self.tensors.append((name or f't{index}', tuple(shape),
                             TYPES[np.dtype(dtype)], raw))
        return index

    def const(self, array: np.ndarray) -> int:
        array = np.asarray(array)
        return self.tensor(array.shape, array.dtype, array)

    def fp16_const(self, array: np.ndarray) -> int:
        """A float16 constant behind a DEQUANTIZE op; returns the float32
        tensor the DEQUANTIZE writes."""
        half = self.const(np.asarray(array, np.float16))
        out = self.tensor(np.shape(array))
        self.op('DEQUANTIZE', [half], [out])
        return out

    def op(self, name: str, inputs: Sequence[int], outputs: Sequence[int],
           options: Optional[Options] = None) -> None:
        self.ops.append((name, list(inputs), list(outputs), options))

    def build(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        builder = flatbuffers.Builder(1024)
        # buffers: 0 is the empty one, then one per constant
        buffer_of, datas = {}, []
        for index, (_, _, _, raw) in enumerate(self.tensors):
            if raw is not None:
                buffer_of[index] = len(datas) + 1
                datas.append(raw)
        data_offsets = [_aligned_bytes(builder, raw) for raw in datas]
        buffers = []
        for offset in [None] + data_offsets:
            tflite.BufferStart(builder)
            if offset is not None:
                tflite.BufferAddData(builder, offset)
            buffers.append(tflite.BufferEnd(builder))
        tensors = []
        for index, (name, shape, dtype, _) in enumerate(self.tensors):
            name_offset = builder.CreateString(name)
            shape_offset = _int_vector(builder, shape)
            tflite.TensorStart(builder)
            tflite.TensorAddShape(builder, shape_offset)
            tflite.TensorAddType(builder, dtype)
            tflite.TensorAddBuffer(builder, buffer_of.get(index, 0))
            tflite.TensorAddName(builder, name_offset)
            tensors.append(tflite.TensorEnd(builder))
        codes = sorted({name for name, _, _, _ in self.ops})
        operators = []
        for name, op_inputs, op_outputs, options in self.ops:
            options_offset = options[1](builder) if options else None
            inputs_offset = _int_vector(builder, op_inputs)
            outputs_offset = _int_vector(builder, op_outputs)
            tflite.OperatorStart(builder)
            tflite.OperatorAddOpcodeIndex(builder, codes.index(name))
            tflite.OperatorAddInputs(builder, inputs_offset)
            tflite.OperatorAddOutputs(builder, outputs_offset)
            if options:
                tflite.OperatorAddBuiltinOptionsType(builder, options[0])
                tflite.OperatorAddBuiltinOptions(builder, options_offset)
            operators.append(tflite.OperatorEnd(builder))
        code_offsets = []
        for name in codes:
            code = getattr(BuiltinOperator, name)
            tflite.OperatorCodeStart(builder)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(builder, min(code,
                                                                     127))
            tflite.OperatorCodeAddBuiltinCode(builder, code)
            tflite.OperatorCodeAddVersion(builder, 1)
            code_offsets.append(tflite.OperatorCodeEnd(builder))

        def vector(offsets):
            builder.StartVector(4, len(offsets), 4)
            for offset in reversed(offsets):
                builder.PrependUOffsetTRelative(offset)
            return builder.EndVector()

        tensors_vector = vector(tensors)
        operators_vector = vector(operators)
        inputs_vector = _int_vector(builder, inputs)
        outputs_vector = _int_vector(builder, outputs)
        name = builder.CreateString('main')
        tflite.SubGraphStart(builder)
        tflite.SubGraphAddTensors(builder, tensors_vector)
        tflite.SubGraphAddInputs(builder, inputs_vector)
        tflite.SubGraphAddOutputs(builder, outputs_vector)
        tflite.SubGraphAddOperators(builder, operators_vector)
        tflite.SubGraphAddName(builder, name)
        subgraph = tflite.SubGraphEnd(builder)
        subgraphs_vector = vector([subgraph])
        codes_vector = vector(code_offsets)
        buffers_vector = vector(buffers)
        description = builder.CreateString('handkit op test')
        tflite.ModelStart(builder)
        tflite.ModelAddVersion(builder, 3)
        tflite.ModelAddOperatorCodes(builder, codes_vector)
        tflite.ModelAddSubgraphs(builder, subgraphs_vector)
        tflite.ModelAddDescription(builder, description)
        tflite.ModelAddBuffers(builder, buffers_vector)
        builder.Finish(tflite.ModelEnd(builder), file_identifier=b'TFL3')
        return bytes(builder.Output())


# --- options ---------------------------------------------------------------

def _activation(name: str) -> int:
    return getattr(ActivationFunctionType, name)


def conv_options(padding: str = 'SAME', stride: int = 1,
                 activation: str = 'NONE') -> Options:
    def build(builder):
        tflite.Conv2DOptionsStart(builder)
        tflite.Conv2DOptionsAddPadding(builder, getattr(Padding, padding))
        tflite.Conv2DOptionsAddStrideW(builder, stride)
        tflite.Conv2DOptionsAddStrideH(builder, stride)
        tflite.Conv2DOptionsAddDilationWFactor(builder, 1)
        tflite.Conv2DOptionsAddDilationHFactor(builder, 1)
        tflite.Conv2DOptionsAddFusedActivationFunction(
            builder, _activation(activation))
        return tflite.Conv2DOptionsEnd(builder)
    return BuiltinOptions.Conv2DOptions, build


def depthwise_options(padding: str = 'SAME', stride: int = 1,
                      activation: str = 'NONE') -> Options:
    def build(builder):
        tflite.DepthwiseConv2DOptionsStart(builder)
        tflite.DepthwiseConv2DOptionsAddPadding(builder,
                                                getattr(Padding, padding))
        tflite.DepthwiseConv2DOptionsAddStrideW(builder, stride)
        tflite.DepthwiseConv2DOptionsAddStrideH(builder, stride)
        tflite.DepthwiseConv2DOptionsAddDepthMultiplier(builder, 1)
        tflite.DepthwiseConv2DOptionsAddDilationWFactor(builder, 1)
        tflite.DepthwiseConv2DOptionsAddDilationHFactor(builder, 1)
        tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(
            builder, _activation(activation))
        return tflite.DepthwiseConv2DOptionsEnd(builder)
    return BuiltinOptions.DepthwiseConv2DOptions, build


def pool_options(padding: str = 'SAME', stride: int = 2,
                 size: int = 2) -> Options:
    def build(builder):
        tflite.Pool2DOptionsStart(builder)
        tflite.Pool2DOptionsAddPadding(builder, getattr(Padding, padding))
        tflite.Pool2DOptionsAddStrideW(builder, stride)
        tflite.Pool2DOptionsAddStrideH(builder, stride)
        tflite.Pool2DOptionsAddFilterWidth(builder, size)
        tflite.Pool2DOptionsAddFilterHeight(builder, size)
        return tflite.Pool2DOptionsEnd(builder)
    return BuiltinOptions.Pool2DOptions, build


def fully_connected_options(activation: str = 'NONE') -> Options:
    def build(builder):
        tflite.FullyConnectedOptionsStart(builder)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(
            builder, _activation(activation))
        return tflite.FullyConnectedOptionsEnd(builder)
    return BuiltinOptions.FullyConnectedOptions, build


def resize_options(align_corners: bool, half_pixel_centers: bool
                   ) -> Options:
    def build(builder):
        tflite.ResizeBilinearOptionsStart(builder)
        tflite.ResizeBilinearOptionsAddAlignCorners(builder, align_corners)
        tflite.ResizeBilinearOptionsAddHalfPixelCenters(builder,
                                                        half_pixel_centers)
        return tflite.ResizeBilinearOptionsEnd(builder)
    return BuiltinOptions.ResizeBilinearOptions, build


def mean_options(keep_dims: bool = False) -> Options:
    def build(builder):
        tflite.ReducerOptionsStart(builder)
        tflite.ReducerOptionsAddKeepDims(builder, keep_dims)
        return tflite.ReducerOptionsEnd(builder)
    return BuiltinOptions.ReducerOptions, build


def reshape_options(shape: Sequence[int]) -> Options:
    def build(builder):
        shape_offset = _int_vector(builder, shape)
        tflite.ReshapeOptionsStart(builder)
        tflite.ReshapeOptionsAddNewShape(builder, shape_offset)
        return tflite.ReshapeOptionsEnd(builder)
    return BuiltinOptions.ReshapeOptions, build


def add_options(activation: str = 'NONE') -> Options:
    def build(builder):
        tflite.AddOptionsStart(builder)
        tflite.AddOptionsAddFusedActivationFunction(builder,
                                                    _activation(activation))
        return tflite.AddOptionsEnd(builder)
    return BuiltinOptions.AddOptions, build
