"""bfloat16 autocast + channels-last against float32, eager PyTorch: time and
accuracy side by side, in one process.

    python benchmarks/bench_bf16.py [--rounds 15] [--threads 1 2]
        [--quickstart CHECKPOINT] [--nsrm CHECKPOINT]

``precision='bf16'`` (``handkit.models.precision``: what
``init_model(..., precision='bf16')`` and ``--precision bf16`` run) against
the float32 model, alternating A B A B over ``--rounds`` rounds, median and
min-max ms per call with the machine's load, at each thread count:

* NSRM LPM G1&6 at 368 x 368, batch 1, with ``--nsrm``'s checkpoint of
  ``configs/quickstart/nsrm_lpm_g1g6_synthetic_368.py`` (the paper-size
  network trained on synthetic hands, a GPU job: no better weights exist
  here): PCK_ave on that config's test split and the keypoint shift on the 8 real crops, as
  for the quickstart. Without the checkpoint, the paper's
  ``configs/nsrm/lpm_g1g6_panoptic.py`` with random weights: its time is
  real, its accuracy is not measured (the keypoints of an untrained model
  say nothing);
* the quickstart NSRM (96 px), with ``--quickstart``'s checkpoint: PCK_ave on
  its synthetic test split (400 hands) and the keypoint shift in input
  pixels on the 8 real crops (the annotated keypoint boxes of tests/data);
* MediaPipe's full palm detector (192) + landmark model (224), converted
  (``python tools/convert_mediapipe.py``): the networks' time, and
  ``HandInferencer(precision=...)``'s PCK@0.2 / PCK_ave on the 8 annotated
  hands of tests/data and its mean landmark shift in image pixels.

The time is the network alone (``predict_tensors``, which runs in the
model's precision, on a pre-processed batch), as ``benchmarks/bench_int8.py``
times its variants; on a CPU without native bfloat16 'bf16' runs float32
and the script says so.
"""
import argparse
import copy
import os
import sys
from pathlib import Path

import torch

from handkit.apis import HandInferencer, init_model
from handkit.deploy.quantize import headline
from handkit.evaluation.complexity import input_shape_from_config
from handkit.models.precision import cpu_has_native_bfloat16, set_precision
from handkit.tools.export_inputs import calibration_inputs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_int8 import (DEFAULT_QUICKSTART, QUICKSTART,  # noqa: E402
                        alternate, load, pipeline_accuracy, print_times,
                        quickstart_accuracy)
from mediapipe_real_photos import annotated_hands  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NSRM_368 = ROOT / 'configs' / 'nsrm' / 'lpm_g1g6_panoptic.py'
NSRM_368_SYNTHETIC = (ROOT / 'configs' / 'quickstart' /
                      'nsrm_lpm_g1g6_synthetic_368.py')
DEFAULT_NSRM = ROOT / 'work_dirs' / 'nsrm_368_synthetic' / 'epoch_5.pth'


class EagerRuntime:
    """``run(inputs)`` -> the numpy ``predict_tensors`` of a model (in its
    precision): the interface ``int8_accuracy`` compares runtimes through."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def run(self, inputs) -> dict:
        inputs = torch.as_tensor(inputs)
        if getattr(self.model.data_preprocessor, 'channels_last', False):
            # as the data preprocessor hands them over
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            tensors = self.model.predict_tensors(inputs)
        return {key: value.numpy() for key, value in tensors.items()}


def runs(models: list, inputs: list) -> list:
    """One call per network, each in its model's precision."""
    calls = []
    for model, x in zip(models, inputs):
        runtime = EagerRuntime(model)
        calls.append(lambda runtime=runtime, x=x: runtime.run(x))
    return calls


def in_bf16(model: torch.nn.Module) -> torch.nn.Module:
    copied = copy.deepcopy(model)
    set_precision(copied, 'bf16')
    return copied


def accuracy_rows(model: torch.nn.Module, model_bf16: torch.nn.Module,
                  hands: list, images: dict) -> dict:
    """The printed accuracy of a keypoint model in float32 and bfloat16:
    its config's test metric and the keypoint shift on the real crops."""
    result = quickstart_accuracy(model, {'bf16': EagerRuntime(model_bf16)},
                                 hands, images)
    scores = result['metric']['scores']
    key = headline(scores['eager'])
    mean, worst = result['shift']['bf16']
    return {'eager fp32': f"test {key} {100 * scores['eager'][key]:.2f}",
            'eager bf16': f"test {key} {100 * scores['bf16'][key]:.2f}  "
                          f'real-crop shift {mean:.2f} px (max {worst:.2f})'}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--quickstart', default=str(DEFAULT_QUICKSTART),
                        help='quickstart checkpoint (else untrained)')
    parser.add_argument('--nsrm', default=str(DEFAULT_NSRM),
                        help='checkpoint of configs/quickstart/'
                             'nsrm_lpm_g1g6_synthetic_368.py (else the '
                             'paper config, untrained)')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f'start: {load()}, {os.cpu_count()} CPUs, native bfloat16: '
          f'{cpu_has_native_bfloat16()}')
    hands, _ = annotated_hands()
    from handkit.datasets.transforms.loading import LoadImage
    images = {path: LoadImage().transform(dict(img_path=path))['img']
              for path, _, _ in hands}

    # NSRM at 368: trained on synthetic hands, else random weights
    trained = Path(args.nsrm).is_file()
    if trained:
        nsrm = init_model(str(NSRM_368_SYNTHETIC), args.nsrm)
        nsrm_bf16 = in_bf16(nsrm)
        nsrm_accuracy = accuracy_rows(nsrm, nsrm_bf16, hands, images)
        nsrm_input = [calibration_inputs(nsrm, 'test', 1)[0][0]]
    else:
        nsrm = init_model(str(NSRM_368))
        nsrm_bf16 = in_bf16(nsrm)
        nsrm_accuracy = {}
        nsrm_input = [torch.randn(1, *input_shape_from_config(nsrm.cfg))]
    print('NSRM 368: ' + (f'checkpoint {args.nsrm}' if trained else
                          'UNTRAINED (the accuracy needs a checkpoint)'))
    nsrm_title = 'NSRM LPM G1&6 368 px, batch 1' + (
        '' if trained else ' (random weights)')

    # the quickstart, trained
    trained = Path(args.quickstart).is_file()
    quick = init_model(str(QUICKSTART), args.quickstart if trained else None)
    quick_bf16 = in_bf16(quick)
    quick_accuracy = accuracy_rows(quick, quick_bf16, hands, images)
    print('quickstart: ' + (f'checkpoint {args.quickstart}' if trained else
                            'UNTRAINED (the accuracy needs a checkpoint)'))
    quick_input = [calibration_inputs(quick, 'test', 1)[0][0]]

    # MediaPipe full: the whole pipeline's accuracy, the networks' time
    inferencers = {'eager fp32': HandInferencer(),
                   'eager bf16': HandInferencer(precision='bf16')}
    accuracy = pipeline_accuracy(inferencers, hands, images)
    mp_accuracy = {
        name: f'PCK@0.2 {a:.2f}  PCK_ave {b:.2f}  found {c}/{len(hands)}  '
              f'shift {d:.2f} px' for name, (a, b, c, d) in accuracy.items()}
    from handkit.deploy.quantize import recorded_inputs
    fp32 = inferencers['eager fp32']
    networks = {name: [inferencer.detector.model, inferencer.landmarks.model]
                for name, inferencer in inferencers.items()}
    first = next(iter(images.values()))
    with recorded_inputs(fp32.detector.model) as palm_inputs, \
            recorded_inputs(fp32.landmarks.model) as hand_inputs:
        fp32(first)
    mp_inputs = [palm_inputs[0], hand_inputs[0]]

    for threads in args.threads:
        torch.set_num_threads(threads)
        print_times(nsrm_title,
                    alternate({'eager fp32': runs([nsrm], nsrm_input),
                               'eager bf16': runs([nsrm_bf16], nsrm_input)},
                              args.rounds), nsrm_accuracy, threads)
        print_times('quickstart NSRM 96 px, batch 1',
                    alternate({'eager fp32': runs([quick], quick_input),
                               'eager bf16': runs([quick_bf16],
                                                  quick_input)},
                              args.rounds), quick_accuracy, threads)
        print_times('MediaPipe full, palm 192 + landmark 224, batch 1',
                    alternate({name: runs(models, mp_inputs)
                               for name, models in networks.items()},
                              args.rounds), mp_accuracy, threads,
                    ('palm', 'landmark'))
    print(f'end: {load()}')


if __name__ == '__main__':
    main()
