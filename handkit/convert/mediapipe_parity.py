"""handkit's converted MediaPipe models against the TFLite interpreter.

:func:`parity` runs a converted module (``predict_tensors``) and the TFLite
interpreter (``ai-edge-litert``) on the same float32 inputs, the
repository's test photos letterboxed (palm detector) or centre-cropped
(landmark model) (:func:`parity_inputs`), and measures the largest absolute
difference of every output, with TFLite's own spread between its XNNPACK
and reference kernels beside it; :func:`parity_tolerance` is the accepted
difference, :func:`format_parity` the table the converter prints. The
fixture script (``benchmarks/make_mediapipe_fixtures.py``) and the parity
test use the same inputs.
"""
import glob
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from handkit.convert.mediapipe import INPUT_SIZES, OUTPUT_NAMES

#: the accepted |TFLite - handkit| (:func:`parity_tolerance`)
ATOL = 1e-4
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the real photos the parity is measured on (the repository's test data)
PARITY_IMAGES = ('tests/data/onehand10k_coco/*.jpg',
                 'tests/data/panoptic_coco/*.jpg')


def parity_images(root: str = REPO_ROOT) -> List[str]:
    """The repository's test photos (8), or [] outside a checkout."""
    return sorted(path for pattern in PARITY_IMAGES
                  for path in glob.glob(osp.join(root, pattern)))


def letterbox(image_bgr: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) float32 RGB in [0, 1]: the image scaled (cv2
    INTER_LINEAR) so its longer side is ``size``, centred on black."""
    import cv2
    height, width = image_bgr.shape[:2]
    scale = size / max(height, width)
    new_w = max(1, int(round(width * scale)))
    new_h = max(1, int(round(height * scale)))
    resized = cv2.resize(image_bgr, (new_w, new_h),
                         interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((size, size, 3), np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    return canvas[..., ::-1].astype(np.float32) / 255


def centre_crop(image_bgr: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) float32 RGB in [0, 1]: the centred square of the
    image's shorter side, resized (cv2 INTER_LINEAR)."""
    import cv2
    height, width = image_bgr.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image_bgr[top:top + side, left:left + side]
    resized = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
    return resized[..., ::-1].astype(np.float32) / 255


def parity_inputs(model_name: str, paths: Sequence[str]
                  ) -> List[Tuple[str, np.ndarray]]:
    """(name, (1, H, W, 3) float32 RGB in [0, 1]) per image: letterboxed
    to 192 for the palm detector, centre-cropped to 224 for the landmark
    model. The fixture script and the parity test use the same."""
    import cv2
    size = INPUT_SIZES[model_name]
    prepare = letterbox if model_name == 'palm_detection' else centre_crop
    inputs = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'cannot read image {path}')
        name = f'{osp.basename(osp.dirname(path))}/{osp.basename(path)}'
        inputs.append((name, prepare(image, size)[None]))
    return inputs


def run_torch(model: nn.Module, nhwc: np.ndarray) -> Dict[str, np.ndarray]:
    """handkit's ``predict_tensors`` of a (1, H, W, 3) input, named as the
    TFLite outputs ('Identity', ...)."""
    names = OUTPUT_NAMES['palm_detection' if hasattr(
        model.backbone, 'up8') else 'hand_landmark']
    with torch.no_grad():
        tensors = model.predict_tensors(
            torch.from_numpy(np.ascontiguousarray(nhwc.transpose(0, 3, 1,
                                                                 2))))
    return {names[key.rpartition('.')[2]]: value.numpy()
            for key, value in tensors.items()}


def run_tflite(data: bytes, inputs: Sequence[np.ndarray],
               reference_kernels: bool = False
               ) -> List[Dict[str, np.ndarray]]:
    """Outputs by name of the TFLite interpreter (ai-edge-litert) for each
    (1, H, W, 3) float32 input: its default CPU path (XNNPACK, what
    MediaPipe runs), or TFLite's reference kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = (OpResolverType.BUILTIN_REF if reference_kernels
                else OpResolverType.AUTO)
    interpreter = Interpreter(model_content=data, num_threads=1,
                              experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]['index']
    outputs = []
    for array in inputs:
        interpreter.set_tensor(input_index, array.astype(np.float32))
        interpreter.invoke()
        outputs.append({detail['name']: interpreter.get_tensor(
            detail['index']).copy()
            for detail in interpreter.get_output_details()})
    return outputs


def parity_tolerance(magnitude: float, atol: float = ATOL) -> float:
    """The largest accepted |TFLite - handkit| of an output whose largest
    |value| is ``magnitude``: ``atol`` relative to it, at least ``atol``.

    float32 cannot do better on the pixel-valued outputs: TFLite's own
    kernels (XNNPACK and the reference ones) disagree on the same input by
    up to 6e-4 on the palm boxes (|value| up to 144 px) and 2.4e-4 on the
    landmarks (194 px), rounding differently in a different summation
    order (the 1152-input fully connected layer alone); 1e-4 of a 144 px
    range is 1.4e-2. Outputs within [-1, 1] (presence, handedness, world
    landmarks) keep 1e-4 absolute.
    """
    return atol * max(1.0, magnitude)


@dataclass
class Parity:
    """The comparison of one model with the TFLite interpreter.

    ``differences``: image -> output -> max |TFLite - handkit|;
    ``magnitudes``: output -> max |TFLite| over the images;
    ``spread``: output -> max |XNNPACK - reference kernels| of TFLite
    itself over the images (float32's noise floor), or None if not run.
    """
    differences: Dict[str, Dict[str, float]]
    magnitudes: Dict[str, float]
    spread: Optional[Dict[str, float]] = None

    def worst(self) -> Dict[str, float]:
        return {key: max(row[key] for row in self.differences.values())
                for key in self.magnitudes}

    def failures(self, atol: float = ATOL) -> Dict[str, float]:
        return {key: value for key, value in self.worst().items()
                if value > parity_tolerance(self.magnitudes[key], atol)}


def parity(model: nn.Module, data: bytes, model_name: str,
           paths: Sequence[str], spread: bool = True) -> Parity:
    """handkit's ``predict_tensors`` against the TFLite interpreter on the
    same float32 inputs (:func:`parity_inputs` of ``paths``)."""
    inputs = parity_inputs(model_name, paths)
    arrays = [array for _, array in inputs]
    references = run_tflite(data, arrays)
    names = OUTPUT_NAMES[model_name]
    differences = {}
    for (name, array), reference in zip(inputs, references):
        ours = run_torch(model, array)
        differences[name] = {
            key: float(np.abs(ours[tflite_name].astype(np.float64)
                              - reference[tflite_name]).max())
            for key, tflite_name in names.items()}
    magnitudes = {key: max(float(np.abs(reference[tflite_name]).max())
                           for reference in references)
                  for key, tflite_name in names.items()}
    noise = None
    if spread:
        others = run_tflite(data, arrays, reference_kernels=True)
        noise = {key: max(float(np.abs(a[tflite_name].astype(np.float64)
                                       - b[tflite_name]).max())
                          for a, b in zip(references, others))
                 for key, tflite_name in names.items()}
    return Parity(differences, magnitudes, noise)


def format_parity(result: Parity, atol: float = ATOL) -> str:
    """The table the converter prints: per image and output the max
    |TFLite - handkit|, then the worst, the tolerance and TFLite's own
    spread."""
    names = list(result.magnitudes)
    width = max(17, max(len(name) for name in names) + 2)
    lines = [f"    {'image':<36}" + ''.join(f'{name:>{width}}'
                                            for name in names)]
    for image, row in result.differences.items():
        lines.append(f'    {image[:36]:<36}' + ''.join(
            f'{row[name]:>{width}.2e}' for name in names))
    worst = result.worst()
    lines.append(f"    {'worst':<36}" + ''.join(
        f'{worst[name]:>{width}.2e}' for name in names))
    lines.append(f"    {'tolerance (1e-4 x max(1, |out|))':<36}" + ''.join(
        f'{parity_tolerance(result.magnitudes[name], atol):>{width}.2e}'
        for name in names))
    if result.spread is not None:
        lines.append(f"    {'TFLite XNNPACK vs reference kernels':<36}"
                     + ''.join(f'{result.spread[name]:>{width}.2e}'
                               for name in names))
    return '\n'.join(lines)
