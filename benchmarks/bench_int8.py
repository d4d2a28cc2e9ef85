"""Static int8 (ONNX Runtime, QDQ) against float32 and TFLite: time and
accuracy side by side, in one process.

    python benchmarks/bench_int8.py [--rounds 15] [--threads 1 2]
        [--quickstart CHECKPOINT] [--nsrm-368] [--out-dir work_dirs/bench_int8]

It writes, under ``--out-dir``, the float32 ONNX exports of MediaPipe's
full palm detector and landmark model (converted checkpoints:
``python tools/convert_mediapipe.py``) and of the quickstart NSRM, and
their static int8 files (:mod:`handkit.deploy.quantize`, MinMax):

* MediaPipe, calibrated on ``synthetic`` (the default, which leaves out the
  photos the accuracy is measured on): 20 rendered hands, the palm model on
  their letterboxed images, the landmark model on the ROI crops
  ``HandInferencer`` takes from their keypoints; and on ``photos``: the
  letterboxed images (and tiles) and every landmark ROI crop that
  ``HandInferencer()`` makes on the 6 distinct photos of tests/data;
* the quickstart: the first 20 samples of its val split (the tool's
  default).

Then, alternating the variants A B A B over ``--rounds`` rounds, it prints
ms per call (median and min-max) at each thread count with the machine's
load (``os.getloadavg``): palm 192 + landmark 224 at batch 1 in PyTorch
eager, ONNX Runtime fp32 and int8, and the TFLite interpreter
(ai-edge-litert, XNNPACK) on the ``.tflite`` files of the mediapipe wheel;
the quickstart NSRM (96 px) eager, ONNX Runtime fp32 and int8. Beside each:
for MediaPipe, PCK@0.2 / PCK_ave of the whole ``HandInferencer`` on the 8
annotated hands of tests/data (``benchmarks/mediapipe_real_photos.py``'s
matching and scoring) and the mean landmark shift in image pixels against
the PyTorch pipeline; for the quickstart, PCK_ave on its synthetic test
split (400 hands) and the keypoint shift in input pixels on the 8 real
crops (the annotated keypoint boxes of tests/data). With ``--nsrm-368``,
NSRM LPM G1&6 at 368 x 368 too, random weights (speed only; a third of
the rounds): eager, ONNX Runtime fp32 and int8.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from handkit.apis import HandInferencer, init_model
from handkit.apis.export_checks import runtime_accuracy
from handkit.apis.inference import prepare_inputs
from handkit.apis.hand_inferencer import landmarks_to_roi
from handkit.apis.mediapipe_files import config_file
from handkit.deploy import OnnxRuntimeModel, export_onnx
from handkit.deploy.quantize import (headline, quantize_static_int8,
                                     recorded_inputs)
from handkit.evaluation.complexity import input_shape_from_config
from handkit.evaluation.functional import pck_metrics
from handkit.tools.export_inputs import calibration_inputs, synthetic_hands

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mediapipe_real_photos import (THRESHOLDS, annotated_hands,  # noqa: E402
                                   keypoint_box, match)

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / 'configs' / 'quickstart' / 'nsrm_lpm_g1g6_synthetic.py'
# what the README's main command (tools/quickstart.py) trains
DEFAULT_QUICKSTART = (ROOT / 'work_dirs' / 'quickstart' /
                      'nsrm_lpm_g1g6_synthetic' / 'epoch_5.pth')
NSRM_368 = ROOT / 'configs' / 'nsrm' / 'lpm_g1g6_panoptic.py'
CALIBRATION_SIZE = 20
NETWORKS = ('palm_detection', 'hand_landmark')


def load() -> str:
    return 'load %.2f %.2f %.2f' % os.getloadavg()


# ------------------------------------------------------------------ files
def export(model, path: Path, dynamic_batch: bool) -> str:
    export_onnx(model, str(path), input_shape_from_config(model.cfg),
                dynamic_batch=dynamic_batch)
    return str(path)


def mediapipe_calibration(inferencer: HandInferencer, images: list,
                          source: str) -> dict:
    """{network: (1, C, H, W) inputs} as HandInferencer feeds them."""
    palm, hand = inferencer.detector.model, inferencer.landmarks.model
    with recorded_inputs(palm) as palms, recorded_inputs(hand) as hands:
        if source == 'photos':
            for image in images:
                inferencer(image)
        else:  # rendered hands: letterboxed; ROI of their true keypoints
            for rendered in synthetic_hands(CALIBRATION_SIZE):
                inferencer.detect_palms(rendered['image'])
                inferencer.estimate_landmarks(
                    rendered['image'],
                    *landmarks_to_roi(rendered['keypoints'][None]))
    return {'palm_detection': palms, 'hand_landmark': hands}


def mediapipe_files(out_dir: Path, inferencer: HandInferencer,
                    images: list) -> dict:
    """{variant: (palm file, landmark file)}: fp32 and int8 per source.
    Batch-1 exports (HandInferencer runs a batch in pieces): the dynamic
    batch's shape arithmetic (MediaPipe's channel padding) cost the int8
    landmark model 6.5 ms against 5.5 ms here."""
    files = {'fp32': tuple(
        export(model, out_dir / f'{name}_fp32.onnx', False)
        for name, model in zip(NETWORKS, (inferencer.detector.model,
                                          inferencer.landmarks.model)))}
    for source in ('synthetic', 'photos'):
        inputs = mediapipe_calibration(inferencer, images, source)
        pair = []
        for name, fp32 in zip(NETWORKS, files['fp32']):
            int8 = str(out_dir / f'{name}_int8_{source}.onnx')
            quantize_static_int8(fp32, int8, inputs[name],
                                 description=f'{source} ({len(inputs[name])}'
                                 ' inputs)')
            pair.append(int8)
            print(f'  {name} int8, calibrated on {source}: '
                  f'{len(inputs[name])} inputs')
        files[f'int8 ({source})'] = tuple(pair)
    return files


# --------------------------------------------------------------- accuracy
def pipeline_accuracy(inferencers: dict, hands: list, images: dict) -> dict:
    """{variant: (PCK@0.2, PCK_ave, detected, mean shift px)}; the shift
    against the first variant (PyTorch), over hands both found."""
    gts = np.stack([truth for _, truth, _ in hands])
    visibles = np.stack([visible for _, _, visible in hands])
    found, results = {}, {}
    for name, inferencer in inferencers.items():
        found[name] = [match(inferencer(images[path]), truth, visible)
                       for path, truth, visible in hands]
    reference = found[next(iter(found))]
    for name, matched in found.items():
        pred = np.stack([m[0] if m[0] is not None else np.full((21, 2), -1e6)
                         for m in matched])
        pck = pck_metrics(pred, gts, visibles, THRESHOLDS)
        shifts = [np.linalg.norm(m[0] - r[0], axis=-1).mean()
                  for m, r in zip(matched, reference)
                  if m[0] is not None and r[0] is not None]
        results[name] = (100 * pck['PCK@0.2'], 100 * pck['PCK_ave'],
                         sum(m[1] >= 0.5 for m in matched),
                         float(np.mean(shifts)) if shifts else float('nan'))
    return results


def quickstart_accuracy(model, runtimes: dict, hands: list,
                        images: dict) -> dict:
    """runtime_accuracy on the 8 real crops (true keypoint boxes) and the
    synthetic test split."""
    crops = {f'real crop {index}': prepare_inputs(
        model, images[path], bbox=keypoint_box(truth[visible > 0]))
        for index, (path, truth, visible) in enumerate(hands)}
    return runtime_accuracy(model, runtimes, crops, metric_split='test')


# ----------------------------------------------------------------- timing
def tflite_bytes(model: str) -> bytes:
    """The full .tflite of ``model``, found and checked (sha256) as
    tools/convert_mediapipe.py finds it: the installed mediapipe package or
    the mediapipe*.whl it downloaded into HANDKIT_HOME/downloads."""
    from handkit.convert.mediapipe_source import (find_source,
                                                  read_model_file)
    return read_model_file(find_source(download=False), model, 'full')[0]


def tflite_runs(threads: int, inputs: list) -> list:
    """One call per network (palm, landmark) of TFLite's interpreter."""
    from ai_edge_litert.interpreter import Interpreter
    runs = []
    for model, x in zip(NETWORKS, inputs):
        interpreter = Interpreter(model_content=tflite_bytes(model),
                                  num_threads=threads)
        interpreter.allocate_tensors()
        nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # TFLite: NHWC

        def run(interpreter=interpreter, nhwc=nhwc):
            interpreter.set_tensor(
                interpreter.get_input_details()[0]['index'], nhwc)
            interpreter.invoke()
            for detail in interpreter.get_output_details():
                interpreter.get_tensor(detail['index'])
        runs.append(run)
    return runs


def eager_runs(models: list, inputs: list) -> list:
    def call(model, x):
        def run():
            with torch.no_grad():
                model.predict_tensors(x)
        return run
    return [call(model, torch.from_numpy(x))
            for model, x in zip(models, inputs)]


def ort_runs(files: list, cfgs: list, inputs: list, threads: int) -> list:
    def call(model, x):
        return lambda: model.run(x)
    # no spinning: the runtimes alternate in one process, and ORT's threads
    # spinning after a run would take the cores from the next runtime
    return [call(OnnxRuntimeModel(path, cfg, num_threads=threads,
                                  allow_spinning=False), x)
            for path, cfg, x in zip(files, cfgs, inputs)]


def alternate(candidates: dict, rounds: int) -> dict:
    """{name: [ms per round of each part]}: every candidate is a list of
    calls (the networks), all timed in turn, A B A B over the rounds."""
    for runs in candidates.values():  # warm-up
        for run in runs * 2:
            run()
    times = {name: [[] for _ in runs] for name, runs in candidates.items()}
    for _ in range(rounds):
        for name, runs in candidates.items():
            for part, run in enumerate(runs):
                start = time.perf_counter()
                run()
                times[name][part].append(1000 * (time.perf_counter() -
                                                 start))
    return times


def print_times(title: str, times: dict, accuracy: dict, threads: int,
                parts: tuple = ()) -> None:
    """A row per variant: the median (min-max) of the parts' sum per
    round, the speed-up over the first row, each part's median, the
    accuracy."""
    totals = {name: [sum(values) for values in zip(*per_part)]
              for name, per_part in times.items()}
    reference = statistics.median(next(iter(totals.values())))
    print(f'{title}, {threads} thread(s), {load()}; ms per call (median, '
          'min-max), speed-up over the first row'
          + (f" ({' + '.join(parts)})" if parts else '') + ', accuracy:')
    for name, values in totals.items():
        median = statistics.median(values)
        split = ('  (' + ' + '.join(
            f'{statistics.median(part):.1f}' for part in times[name]) + ')'
            if parts else '')
        print(f'  {name:30s} {median:7.2f}  ({min(values):.2f}-'
              f'{max(values):.2f})  x{reference / median:5.2f}{split}  '
              f"{accuracy.get(name, '')}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--quickstart', default=str(DEFAULT_QUICKSTART),
                        help='quickstart checkpoint (else untrained)')
    parser.add_argument('--nsrm-368', action='store_true',
                        help='also time NSRM LPM G1&6 at 368 x 368 (random '
                        'weights: speed only), calibrated on 20 rendered '
                        'hands')
    parser.add_argument('--out-dir', default='work_dirs/bench_int8')
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    print(f'start: {load()}, {os.cpu_count()} CPUs')
    hands, _ = annotated_hands()
    from handkit.datasets.transforms.loading import LoadImage
    images = {path: LoadImage().transform(dict(img_path=path))['img']
              for path, _, _ in hands}
    distinct = []
    for image in images.values():
        if not any(image.shape == other.shape and np.array_equal(image, other)
                   for other in distinct):
            distinct.append(image)

    # MediaPipe: files, accuracy of the whole pipeline
    pytorch = HandInferencer()
    print('MediaPipe full: exporting and quantising')
    files = mediapipe_files(out_dir, pytorch, distinct)
    cfgs = [config_file(name, 'full') for name in NETWORKS]
    inferencers = {'PyTorch eager fp32': pytorch}
    for variant, pair in files.items():
        inferencers[f'ORT {variant}'] = HandInferencer(
            detector=(cfgs[0], pair[0]), landmarks=(cfgs[1], pair[1]),
            backend='onnxruntime')
    accuracy = pipeline_accuracy(inferencers, hands, images)
    mp_accuracy = {
        name: f'PCK@0.2 {a:.2f}  PCK_ave {b:.2f}  found {c}/{len(hands)}  '
              f'shift {d:.2f} px' for name, (a, b, c, d) in accuracy.items()}
    mp_accuracy['TFLite interpreter (XNNPACK)'] = '(networks only)'
    with recorded_inputs(pytorch.detector.model) as palm_inputs, \
            recorded_inputs(pytorch.landmarks.model) as hand_inputs:
        pytorch(distinct[0])
    net_inputs = [palm_inputs[0], hand_inputs[0]]

    # quickstart
    quick = init_model(str(QUICKSTART), args.quickstart
                       if Path(args.quickstart).is_file() else None)
    trained = Path(args.quickstart).is_file()
    quick_fp32 = export(quick, out_dir / 'quickstart_fp32.onnx', False)
    quick_int8 = str(out_dir / 'quickstart_int8.onnx')
    inputs, description = calibration_inputs(quick, None, CALIBRATION_SIZE)
    quantize_static_int8(quick_fp32, quick_int8, inputs,
                         description=description)
    quick_files = {'fp32': quick_fp32, 'int8': quick_int8}
    runtimes = {name: OnnxRuntimeModel(path, quick.cfg)
                for name, path in quick_files.items()}
    result = quickstart_accuracy(quick, runtimes, hands, images)
    scores = result['metric']['scores']
    key = headline(scores['eager'])
    quick_accuracy = {'PyTorch eager fp32': f"test {key} "
                      f"{100 * scores['eager'][key]:.2f}"}
    for name in runtimes:
        mean, worst = result['shift'][name]
        quick_accuracy[f'ORT {name}'] = (
            f"test {key} {100 * scores[name][key]:.2f}  real-crop shift "
            f'{mean:.2f} px (max {worst:.2f})')
    weights = (f'checkpoint {args.quickstart}' if trained else
               'UNTRAINED (the accuracy figures need a trained checkpoint)')
    print(f'quickstart: {weights}; int8 calibrated on {description}')
    quick_input = calibration_inputs(quick, 'test', 1)[0]

    for threads in args.threads:
        torch.set_num_threads(threads)
        mp = {'PyTorch eager fp32': eager_runs(
            [pytorch.detector.model, pytorch.landmarks.model], net_inputs)}
        for variant, pair in files.items():
            mp[f'ORT {variant}'] = ort_runs(list(pair), [
                inferencers[f'ORT {variant}'].detector.model.cfg,
                inferencers[f'ORT {variant}'].landmarks.model.cfg],
                net_inputs, threads)
        mp['TFLite interpreter (XNNPACK)'] = tflite_runs(threads, net_inputs)
        print_times('MediaPipe full, palm 192 + landmark 224, batch 1',
                    alternate(mp, args.rounds), mp_accuracy, threads,
                    ('palm', 'landmark'))
        qs = {'PyTorch eager fp32': eager_runs([quick], quick_input)}
        for name, path in quick_files.items():
            qs[f'ORT {name}'] = ort_runs([path], [quick.cfg], quick_input,
                                         threads)
        print_times('quickstart NSRM 96 px, batch 1',
                    alternate(qs, args.rounds), quick_accuracy, threads)
    if args.nsrm_368:
        nsrm_368(out_dir, args)
    print(f'end: {load()}')


def nsrm_368(out_dir: Path, args: argparse.Namespace) -> None:
    """NSRM at the paper's 368 x 368, random weights (the speed does not
    depend on them): eager, ORT fp32 and int8."""
    model = init_model(str(NSRM_368), None)
    fp32 = export(model, out_dir / 'nsrm368_fp32.onnx', False)
    inputs, description = calibration_inputs(model, ['synthetic'],
                                             CALIBRATION_SIZE)
    files = {'fp32': fp32, 'int8': str(out_dir / 'nsrm368_int8.onnx')}
    quantize_static_int8(fp32, files['int8'], inputs, description=description)
    print(f'NSRM 368: random weights (speed only); int8 calibrated on '
          f'{description}')
    x = inputs[:1]
    for threads in args.threads:
        torch.set_num_threads(threads)
        runs = {'PyTorch eager fp32': eager_runs([model], x)}
        for name, path in files.items():
            runs[f'ORT {name}'] = ort_runs([path], [model.cfg], x, threads)
        print_times('NSRM LPM G1&6 368 px, batch 1',
                    alternate(runs, max(3, args.rounds // 3)), {}, threads)


if __name__ == '__main__':
    main()
