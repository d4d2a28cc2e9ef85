"""Per-frame time of MediaPipe Hands in handkit against TFLite's own
interpreter and MediaPipe's own pipeline, on the same machine and photos.

    python benchmarks/bench_hand_inferencer.py [--rounds 20] [--threads 2]
    python benchmarks/bench_hand_inferencer.py --compile   # + torch.compile
    python benchmarks/bench_hand_inferencer.py --engine litert --rounds 20

Default: in one process, A B A B ... over ``--rounds`` rounds of the 6
distinct photos of tests/data, it times

* the two networks alone, one palm input (192 x 192) and one hand
  (224 x 224) per frame: ai-edge-litert's interpreter (XNNPACK, MediaPipe's
  CPU delegate) against handkit's PyTorch modules;
* with ``--compile``, the same two networks through ``torch.compile``
  (inductor, frozen weights), an experiment: handkit's library does not
  compile;
* handkit's whole :class:`~handkit.apis.HandInferencer` per frame (image
  in, hands out), with the PyTorch models and with LiteRT running the
  converter's ``.tflite`` files (``backend='litert'``): MediaPipe's
  single-image graph (``refine=0``, ``tiles=False``) and handkit's default
  (``refine=2``, tiles for 16:9 frames);

and prints each figure's median with the ratio to the interpreter.

``--engine NAME`` times one engine alone and prints ms per frame in the
format of ``benchmarks/mediapipe_own_pipeline.py``, which times MediaPipe's
own pipeline (``mediapipe==0.10.21`` pins numpy < 2, so it runs in a
virtual environment of its own): run the two in turn, A B A B, to compare
handkit with MediaPipe itself.
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


#: the whole-frame rows: label -> HandInferencer's arguments
PIPELINES = {
    "whole frame: handkit PyTorch, MediaPipe's single-image graph": dict(
        refine=0, tiles=False),
    "whole frame: handkit LiteRT, MediaPipe's single-image graph": dict(
        refine=0, tiles=False, backend='litert'),
    'whole frame: handkit PyTorch default (refine 2, tiles)': dict(),
    'whole frame: handkit LiteRT default (refine 2, tiles)': dict(
        backend='litert'),
}
#: --engine NAME -> what it times alone
ENGINES = {'networks-litert': None, 'networks-pytorch': None,
           'pytorch': "whole frame: handkit PyTorch, MediaPipe's "
           'single-image graph',
           'litert': "whole frame: handkit LiteRT, MediaPipe's single-image "
           'graph'}


NETWORKS_ONLY = 'one palm input and one hand'


def pipeline(label: str) -> HandInferencer:
    return HandInferencer(**PIPELINES[label])


def whole_frames(inferencer: HandInferencer, images: list):
    return lambda: [inferencer(image) for image in images]


def engine_alone(engine: str, images: list, rounds: int,
                 threads: int) -> None:
    """One engine alone: ms per frame over ``rounds`` rounds of the
    photos, printed as benchmarks/mediapipe_own_pipeline.py prints its
    own."""
    if engine == 'networks-litert':
        run, frames, what = litert_networks(threads), 1, NETWORKS_ONLY
    elif engine == 'networks-pytorch':
        run, frames, what = handkit_networks(HandInferencer(
            refine=0, tiles=False)), 1, NETWORKS_ONLY
    else:
        inferencer = pipeline(ENGINES[engine])
        hands = sum(len(inferencer(image)) for image in images)  # warm-up
        run, frames = whole_frames(inferencer, images), len(images)
        what = f'{len(images)} photos, {hands} hands'
    run()
    times = [time_call(run) / frames for _ in range(rounds)]
    print(f'handkit {engine} ({threads} threads): '
          f'{statistics.median(times):.1f} ms per frame ({min(times):.1f}-'
          f'{max(times):.1f}), {what}')


def time_call(function) -> float:
    start = time.perf_counter()
    function()
    return 1000 * (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=20)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--engine', choices=tuple(ENGINES),
                        help='time one engine alone over --rounds rounds of '
                        'the photos and print ms per frame (to compare with '
                        'benchmarks/mediapipe_own_pipeline.py, process by '
                        'process)')
    parser.add_argument('--compile', action='store_true',
                        help='also time the networks through torch.compile '
                        '(inductor, frozen weights; needs a C++ compiler)')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images = distinct_images()
    if args.engine:
        engine_alone(args.engine, images, args.rounds, args.threads)
        return
    candidates = {
        'networks: TFLite interpreter (XNNPACK)': litert_networks(
            args.threads),
        'networks: handkit PyTorch': handkit_networks(
            HandInferencer(refine=0, tiles=False)),
    }
    if args.compile:
        candidates['networks: handkit PyTorch, torch.compile (frozen)'] = \
            compiled_networks(HandInferencer(refine=0, tiles=False))
    for label in PIPELINES:
        candidates[label] = whole_frames(pipeline(label), images)
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
