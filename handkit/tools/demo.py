"""Run a trained hand pose model on images or a video and draw the results.

    python tools/demo.py CONFIG CHECKPOINT --input hand.jpg --out demo/
    python tools/demo.py CONFIG CHECKPOINT --input photos/ --out demo/ \\
        --show-maps
    python tools/demo.py CONFIG CHECKPOINT --input clip.mp4 --out demo/ \\
        --bbox 120 80 360 330
    python tools/demo.py configs/zimmermann/posenet_poseprior_rhd.py POSE \\
        --hand-seg configs/zimmermann/handsegnet_rhd.py SEG --hand-side left \\
        --input hand.jpg --out demo/
    python tools/demo.py configs/zhou/detnet_synthetic.py DETNET \\
        --iknet configs/zhou/iknet_synthetic.py iknet.pth --input hand.jpg \\
        --out demo/

For an image ``<name>.<ext>`` it writes ``OUT/<name>.png`` (or
``OUT/<name>_<ext>.png`` when several inputs share ``<name>``, e.g. ``a.jpg``
and ``a.png``): the predicted skeleton (one colour per finger) with each
keypoint's score and, with
``--show-maps``, the predicted maps beside it (NSRM's G1 / G6 structure maps,
or the keypoint confidence maps of a model without a structure head). A
folder is processed image by image (sorted; other files are skipped with a
message). A video (.mp4 .avi .mov .mkv .webm) gives ``OUT/<name>.mp4`` with
the skeleton drawn on every frame. Without ``--bbox`` the whole image (frame)
is the hand crop, as for OneHand10K. ``--backend onnxruntime`` runs the
``.onnx`` file of ``tools/export_onnx.py`` (given as CHECKPOINT) with ONNX
Runtime, through the same pre-processing and decoding (docs/deployment.md).
``--hand-seg CONFIG CHECKPOINT`` finds each image's (frame's) hand box with a
HandSegNet model (``detect_hand``: Zimmermann & Brox's crop; drawn on the
output, the whole image when no pixel is hand) instead of ``--bbox``.
``--iknet CONFIG CHECKPOINT`` turns a 3D model's joints into IKNet's joint
rotations (``inverse_kinematics``) and writes ``OUT/<name>.json``: the 2D
keypoints and scores, the ``--hand-seg`` box, ``keypoints_3d`` and the
``quaternions`` (21 x (w, x, y, z)), a list of them per frame for a video.
``--hand-side`` goes to models that take the side (the PosePrior) and picks
IKNet's rest pose (default right). The --hand-seg and --iknet models run in
PyTorch whatever ``--backend`` says. An output that would overwrite an input
(an image, a config or one of its ``_base_`` files, a checkpoint) stops the
demo before anything runs; so does an output that exists already, unless
``--overwrite``. Outputs are written atomically (a temporary, then a
rename). A video whose frames are over the pixel limit
(``HANDKIT_MAX_IMAGE_PIXELS``) is refused before a frame is processed.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import cv2
import numpy as np
from torch import nn

from handkit.apis import (detect_hand, inference, init_model,
                          inverse_kinematics)
from handkit.apis.inference import BACKENDS, HAND_SIDES
from handkit.datasets.transforms import LoadImage
from handkit.datasets.transforms.loading import check_video_frame_size
from handkit.engine.cli import (refuse_existing_outputs,
                                refuse_overwriting_inputs, user_errors_exit)
from handkit.engine.config import config_chain
from handkit.fileio import atomic_output, write_json
from handkit.skeleton import GROUP_NAMES, KEYPOINT_NAMES
from handkit.visualization.draw import (draw_scores, draw_skeleton, map_grid,
                                        side_by_side)

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')
PROGRESS_EVERY = 25  # frames between progress lines
BOX_COLOUR = (255, 255, 255)  # BGR: the --hand-seg box
# What OUT/<name>.json holds with --iknet, when the result has it.
RECORD_KEYS = ('keypoints', 'scores', 'bbox', 'keypoints_3d', 'quaternions')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw hand pose predictions on images or a video')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file (the .onnx file '
                        'with --backend onnxruntime)')
    parser.add_argument('--input', required=True,
                        help='an image, a folder of images or a video')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace outputs already in the output folder '
                        '(an input is never replaced)')
    box = parser.add_mutually_exclusive_group()
    box.add_argument('--bbox', type=float, nargs=4,
                     metavar=('X1', 'Y1', 'X2', 'Y2'),
                     help='hand box in pixels (default: the whole image)')
    box.add_argument('--hand-seg', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                     help="a HandSegNet model that finds each image's hand "
                     "box (Zimmermann & Brox's crop)")
    parser.add_argument('--hand-side', choices=HAND_SIDES,
                        help='the hand side, for models that take it (the '
                        "PosePrior) and IKNet's rest pose (default: right)")
    parser.add_argument('--iknet', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help="IKNet: add the joint rotations of a 3D model's "
                        'joints, written to OUT/<name>.json')
    parser.add_argument('--show-maps', action='store_true',
                        help='put the predicted maps beside each image')
    parser.add_argument('--score-thr', type=float, default=0.2,
                        help='keypoints scoring lower are not drawn')
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='eager pytorch, or onnxruntime on an exported '
                        'model (default: pytorch)')
    return parser.parse_args(argv)


def map_names(maps: np.ndarray) -> Optional[Sequence[str]]:
    """Captions of the map tiles: limb groups or keypoint names."""
    by_count = {len(names): names for names in GROUP_NAMES.values()}
    by_count[len(KEYPOINT_NAMES)] = KEYPOINT_NAMES
    return by_count.get(len(maps))


def draw_result(image: np.ndarray, result: dict, score_thr: float,
                show_maps: bool) -> np.ndarray:
    """The skeleton and scores on ``image`` [| the predicted maps]; the
    hand box of ``--hand-seg`` when the result has one."""
    drawn = draw_skeleton(image, result['keypoints'], scores=result['scores'],
                          score_threshold=score_thr)
    if 'bbox' in result:
        corners = np.round(result['bbox']).astype(int).tolist()
        cv2.rectangle(drawn, tuple(corners[:2]), tuple(corners[2:]),
                      BOX_COLOUR, 1)
    drawn = draw_scores(drawn, result['keypoints'], result['scores'],
                        score_threshold=score_thr)
    if not show_maps:
        return drawn
    maps = result.get('structure_maps', result.get('heatmaps'))
    if maps is None:
        raise ValueError('--show-maps: the model predicts no maps')
    return side_by_side(drawn, map_grid(maps, names=map_names(maps)))


def estimate(model: nn.Module, image: np.ndarray,
             args: argparse.Namespace) -> dict:
    """``inference`` on ``--bbox`` or the ``--hand-seg`` box (then kept as
    ``bbox``), with IKNet's rotations added under ``--iknet``."""
    bbox, hand = args.bbox, None
    if args.seg_model is not None:
        hand = detect_hand(args.seg_model, image)
        bbox = hand['bbox']
    result = inference(model, image, bbox=bbox, hand_side=args.hand_side)
    if hand is not None:
        result['bbox'] = hand['bbox']
    if args.iknet_model is not None:
        result.update(inverse_kinematics(args.iknet_model, result,
                                         args.hand_side or 'right'))
    return result


def record(result: dict) -> dict:
    """The ``RECORD_KEYS`` of ``result`` as lists of rounded floats."""
    return {key: np.round(np.asarray(result[key], np.float64), 4).tolist()
            for key in RECORD_KEYS if key in result}


def write_image(path: str, image: np.ndarray) -> None:
    """Encode ``image`` as PNG and write it atomically (a kill or a full
    disk leaves the previous file)."""
    ok, encoded = cv2.imencode('.png', image)
    if not ok:
        raise ValueError(f'cannot encode the drawing for {path}')
    with atomic_output(path) as temporary:
        with open(temporary, 'wb') as file:
            file.write(encoded.tobytes())


def json_path(out_file: str) -> str:
    """``OUT/<name>.json`` beside ``OUT/<name>.png`` (``.mp4``)."""
    return osp.splitext(out_file)[0] + '.json'


def load_image(path: str) -> np.ndarray:
    """BGR uint8 image of ``path`` (LoadImage: ValueError if not an image)."""
    return LoadImage().transform(dict(img_path=path))['img']


def list_inputs(source: str) -> list:
    """The files the demo reads: ``source`` itself, or a folder's files
    (sorted; sub-folders are not entered)."""
    if not osp.isdir(source):
        return [source]
    return [osp.join(source, name) for name in sorted(os.listdir(source))
            if osp.isfile(osp.join(source, name))]


def output_paths(inputs: list, out_dir: str) -> dict:
    """Input path -> output path in ``out_dir``.

    ``<name>.<ext>`` gives ``<name>.png`` (``<name>.mp4`` for a video), or
    ``<name>_<ext>.png`` when several inputs share ``<name>``, so that the
    outputs of ``a.jpg`` and ``a.png`` stay apart.
    """
    stems = [osp.splitext(osp.basename(path)) for path in inputs]
    counts = {}
    for stem, _ in stems:
        counts[stem] = counts.get(stem, 0) + 1
    outputs = {}
    for path, (stem, ext) in zip(inputs, stems):
        name = stem if counts[stem] == 1 else f'{stem}_{ext.lstrip(".")}'
        suffix = '.mp4' if ext.lower() in VIDEO_SUFFIXES else '.png'
        outputs[path] = osp.join(out_dir, name + suffix)
    return outputs


def run_image(model: nn.Module, path: str, args: argparse.Namespace,
              image: Optional[np.ndarray] = None) -> None:
    if image is None:
        image = load_image(path)
    result = estimate(model, image, args)
    out_file = args.outputs[path]
    write_image(out_file, draw_result(image, result, args.score_thr,
                                      args.show_maps))
    print(f'{path} -> {out_file}')
    if args.iknet_model is not None:
        write_json(json_path(out_file), record(result))
        print(f'{path} -> {json_path(out_file)}')


def run_folder(model: nn.Module, folder: str,
               args: argparse.Namespace) -> None:
    done = 0
    for path in args.outputs:
        try:
            image = load_image(path)
        except ValueError as error:  # LoadImage: not a usable image
            print(f'skipped {path}: {error}')
            continue
        run_image(model, path, args, image)
        done += 1
    if done == 0:
        raise ValueError(f'no images in {folder}')


def run_video(model: nn.Module, path: str,
              args: argparse.Namespace) -> None:
    capture = cv2.VideoCapture(path)
    if capture.isOpened():  # the size from the container, before decoding
        try:
            check_video_frame_size(
                path, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        except ValueError:
            capture.release()
            raise
    ok, frame = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise ValueError(f'cannot open video {path}')
    out_file = args.outputs[path]
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    writer = None
    index = 0
    records = []
    try:
        with atomic_output(out_file) as temporary:
            while ok:
                result = estimate(model, frame, args)
                if args.iknet_model is not None:
                    records.append(record(result))
                drawn = draw_result(frame, result, args.score_thr,
                                    args.show_maps)
                if writer is None:
                    writer = cv2.VideoWriter(
                        temporary, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                        (drawn.shape[1], drawn.shape[0]))
                    if not writer.isOpened():
                        raise ValueError(f'cannot write video {out_file}')
                writer.write(drawn)
                index += 1
                if index % PROGRESS_EVERY == 0:
                    print(f'{path}: frame {index}/{total}')
                ok, frame = capture.read()
            writer.release()
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    print(f'{path}: {index} frames -> {out_file}')
    if args.iknet_model is not None:
        write_json(json_path(out_file), dict(frames=records))
        print(f'{path}: {index} frames -> {json_path(out_file)}')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with user_errors_exit():
        try:
            if not osp.exists(args.input):
                raise FileNotFoundError(f'input not found: {args.input}')
            args.outputs = output_paths(list_inputs(args.input), args.out)
            outputs = list(args.outputs.values())
            if args.iknet:
                outputs += [json_path(out) for out in outputs]
            configs = [args.config] + [files[0] for files in (
                args.hand_seg, args.iknet) if files]
            checkpoints = [args.checkpoint] + [files[1] for files in (
                args.hand_seg, args.iknet) if files]
            refuse_overwriting_inputs(
                outputs, list(args.outputs) + checkpoints + sum(
                    (config_chain(config) for config in configs), []))
            refuse_existing_outputs(outputs, args.overwrite)
            model = init_model(args.config, args.checkpoint,
                               device=args.device, backend=args.backend)
            args.seg_model, args.iknet_model = (
                init_model(*files, device=args.device) if files else None
                for files in (args.hand_seg, args.iknet))
            os.makedirs(args.out, exist_ok=True)
            if osp.isdir(args.input):
                run_folder(model, args.input, args)
            elif args.input.lower().endswith(VIDEO_SUFFIXES):
                run_video(model, args.input, args)
            else:
                run_image(model, args.input, args)
        except ValueError as error:
            print(f'handkit: error: {error}', file=sys.stderr)
            sys.exit(2)


if __name__ == '__main__':
    main()
