"""Per-frame time of MediaPipe Hands in handkit against TFLite's own
interpreter, on the same machine and the same photos.

    python benchmarks/bench_hand_inferencer.py [--rounds 20] [--threads 2]
    python benchmarks/bench_hand_inferencer.py --compile   # + torch.compile
    python benchmarks/bench_hand_inferencer.py --engine handkit --frames 100

Default: in one process, A B A B ... over ``--rounds`` rounds of the 6
distinct photos of tests/data, it times

* the two networks alone, one palm input (192 x 192) and one hand
  (224 x 224) per frame: ai-edge-litert's interpreter (XNNPACK, MediaPipe's
  CPU delegate) against handkit's PyTorch modules;
* with ``--compile``, the same two networks through ``torch.compile``
  (inductor, frozen weights), an experiment: handkit's library does not
  compile;
* handkit's whole :class:`~handkit.apis.HandInferencer` per frame (image
  in, hands out): MediaPipe's single-image graph (``refine=0``,
  ``tiles=False``) and handkit's default (``refine=2``, tiles for 16:9
  frames), with the number of network passes each made;

and prints each figure's median with the ratio to the interpreter.
``--engine handkit|litert --frames N`` runs one engine over N frames and
exits (for ``farm-bench``, which times whole processes). MediaPipe's own
pipeline (``mediapipe==0.10.21``) needs numpy < 2 and is not installed next
to handkit; its interpreter is the reference here.
"""
import argparse
import statistics
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from handkit.apis import HandInferencer
from handkit.apis.mediapipe_files import MODEL_FILES, handkit_home
from handkit.datasets.transforms.loading import LoadImage

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = sorted((ROOT / 'tests' / 'data').glob('*_coco/*.jpg'))


def distinct_images() -> list:
    load, images = LoadImage(), []
    for path in PHOTOS:
        image = load.transform(dict(img_path=str(path)))['img']
        if not any(image.shape == other.shape and np.array_equal(image, other)
                   for other in images):
            images.append(image)
    return images


def tflite_bytes(model: str, variant: str) -> bytes:
    """The .tflite of ``(model, variant)`` out of the wheel the converter
    downloaded into HANDKIT_HOME/downloads."""
    wheels = sorted((Path(handkit_home()) / 'downloads').glob(
        'mediapipe*.whl'))
    if not wheels:
        raise SystemExit('no mediapipe wheel in HANDKIT_HOME/downloads: run '
                         'python tools/convert_mediapipe.py first')
    with zipfile.ZipFile(wheels[-1]) as wheel:
        return wheel.read(MODEL_FILES[(model, variant)][0])


def litert_networks(threads: int):
    from ai_edge_litert.interpreter import Interpreter
    nets = []
    for model in ('palm_detection', 'hand_landmark'):
        interpreter = Interpreter(model_content=tflite_bytes(model, 'full'),
                                  num_threads=threads)
        interpreter.allocate_tensors()
        nets.append(interpreter)
    inputs = [np.random.default_rng(0).random((1, s, s, 3), np.float32)
              for s in (192, 224)]

    def run():
        for interpreter, x in zip(nets, inputs):
            interpreter.set_tensor(interpreter.get_input_details()[0]['index'],
                                   x)
            interpreter.invoke()
            for detail in interpreter.get_output_details():
                interpreter.get_tensor(detail['index'])
    return run


def handkit_networks(inferencer: HandInferencer):
    models = [inferencer.detector.model, inferencer.landmarks.model]
    # in the memory format the data preprocessor hands them
    inputs = [torch.rand(1, 3, s, s).contiguous(
        memory_format=torch.channels_last
        if model.data_preprocessor.channels_last else torch.contiguous_format)
        for model, s in zip(models, (192, 224))]

    def run():
        with torch.no_grad():
            for model, x in zip(models, inputs):
                model.predict_tensors(x)
    return run


def compiled_networks(inferencer: HandInferencer):
    """handkit's two networks through ``torch.compile`` (inductor with
    frozen weights, static shapes), compiled before the timing starts."""
    models = [inferencer.detector.model, inferencer.landmarks.model]
    inputs = [torch.rand(1, 3, s, s).contiguous(
        memory_format=torch.channels_last) for s in (192, 224)]
    # dynamic=False: the two networks share layer code at other sizes,
    # which would otherwise turn on dynamic shapes and stall the compiler
    compiled = [torch.compile(model._run_heads, dynamic=False,
                              options={'freezing': True})
                for model in models]

    def run():
        with torch.no_grad():
            for network, x in zip(compiled, inputs):
                network(x)
    start = time.perf_counter()
    run()
    print(f'torch.compile: {time.perf_counter() - start:.1f} s to compile')
    return run


def time_call(function) -> float:
    start = time.perf_counter()
    function()
    return 1000 * (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=20)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--engine', choices=('handkit', 'litert'))
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--compile', action='store_true',
                        help='also time the networks through torch.compile '
                        '(inductor, frozen weights; needs a C++ compiler)')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images = distinct_images()
    if args.engine:  # one engine, N frames: for farm-bench
        run = (litert_networks(args.threads) if args.engine == 'litert'
               else handkit_networks(HandInferencer(refine=0, tiles=False)))
        for _ in range(args.frames):
            run()
        return
    single = HandInferencer(refine=0, tiles=False)
    default = HandInferencer()
    candidates = {
        'networks: TFLite interpreter (XNNPACK)': litert_networks(
            args.threads),
        'networks: handkit PyTorch': handkit_networks(single),
    }
    if args.compile:
        candidates['networks: handkit PyTorch, torch.compile (frozen)'] = \
            compiled_networks(single)
    for label, inferencer in (("whole frame: handkit, MediaPipe's "
                               'single-image graph', single),
                              ('whole frame: handkit default (refine 2, '
                               'tiles)', default)):
        candidates[label] = (lambda inf: lambda: [inf(image)
                                                  for image in images])(
            inferencer)
    for run in candidates.values():  # warm-up
        run()
    times = {label: [] for label in candidates}
    for _ in range(args.rounds):
        for label, run in candidates.items():
            elapsed = time_call(run)
            per_frame = len(images) if label.startswith('whole') else 1
            times[label].append(elapsed / per_frame)
    reference = statistics.median(times['networks: TFLite interpreter '
                                        '(XNNPACK)'])
    print(f'{args.threads} threads, {torch.get_num_threads()} torch threads,'
          f' {len(images)} distinct photos, {args.rounds} rounds, A B A B; '
          'ms per frame (median, min-max):')
    for label, values in times.items():
        median = statistics.median(values)
        print(f'  {label:62s} {median:7.1f}  ({min(values):.1f}-'
              f'{max(values):.1f})  x{median / reference:.2f} of TFLite')


if __name__ == '__main__':
    main()
