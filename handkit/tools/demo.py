"""Find hands in images, a video or a webcam and draw their keypoints.

    python tools/demo.py --input photo.jpg --out demo/
    python tools/demo.py --input clip.mp4 --out demo/ --variant lite
    python tools/demo.py --webcam 0 --out demo/
    python tools/demo.py CONFIG CHECKPOINT --input photo.jpg --out demo/ \\
        --detector
    python tools/demo.py CONFIG CHECKPOINT --input hand.jpg --out demo/
    python tools/demo.py CONFIG CHECKPOINT --input photos/ --out demo/ \\
        --show-maps
    python tools/demo.py CONFIG CHECKPOINT --input clip.mp4 --out demo/ \\
        --bbox 120 80 360 330
    python tools/demo.py configs/zimmermann/posenet_poseprior_rhd.py POSE \\
        --hand-seg configs/zimmermann/handsegnet_rhd.py SEG --hand-side left \\
        --input hand.jpg --out demo/
    python tools/demo.py configs/zhou/detnet_synthetic.py DETNET \\
        --iknet configs/zhou/iknet_synthetic.py IKNET --input hand.jpg \\
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
rotations (``inverse_kinematics``), written as the hand's ``quaternions``
(21 x (w, x, y, z)) in ``OUT/<name>.json``.
``--show-3d`` puts the front (x-y) and side (z-y) views of each hand's 3D
joints beside the drawing (a 3D model's, or MediaPipe's world landmarks)
and, for a model that predicts a mesh (Boukhayma et al., Ge et al.),
shades the mesh under the skeleton.
``--hand-side`` goes to models that take the side (the PosePrior) and picks
IKNet's rest pose (default right). The --hand-seg and --iknet models run in
PyTorch whatever ``--backend`` says. An output that would overwrite an input
(an image, a config or one of its ``_base_`` files, a checkpoint) stops the
demo before anything runs; so does an output that exists already, unless
``--overwrite``. Outputs are written atomically (a temporary, then a
rename). A video whose frames are over the pixel limit
(``HANDKIT_MAX_IMAGE_PIXELS``) is refused before a frame is processed.

Without CONFIG and CHECKPOINT the demo runs MediaPipe Hands' palm detector
and landmark model (:class:`handkit.apis.HandInferencer`, ``--variant
full|lite``, converted by ``python tools/convert_mediapipe.py``): every
hand of the image, up to ``--max-hands``, with its skeleton, its box and
'left' / 'right' drawn (``--mirrored`` for selfie images, whose sides
MediaPipe names as seen). ``--detector`` puts the same palm detector and
landmark ROI in front of the CONFIG / CHECKPOINT model, which then gives
each hand's keypoints. In every mode ``OUT/<name>.json`` is written beside
each drawing: ``{"hands": [{"bbox", "keypoints", "scores", "handedness",
"handedness_score", "keypoints_3d"}, ...]}`` (a CONFIG / CHECKPOINT model
without a detector: one hand, its ``bbox`` the crop's box, its
``handedness`` the ``--hand-side`` given or null) (floats rounded to 4
decimals; ``keypoints_3d`` mm or null), ``{"frames": [{"hands": [...]},
...]}`` for a video. ``--webcam N`` reads camera N (``cv2.VideoCapture``)
until q (in the preview window) or Ctrl-C and writes
``OUT/webcam_<N>.mp4`` and its json. A CONFIG / CHECKPOINT model without
``--bbox``, ``--hand-seg`` or ``--detector`` takes the whole image as the
hand crop, and says so once on stderr.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import cv2
import numpy as np
from torch import nn

from handkit.apis import (HandInferencer, detect_hand, inference,
                          init_model, inverse_kinematics)
from handkit.apis.mediapipe_files import config_file, converted_checkpoint
from handkit.apis.inference import BACKENDS, HAND_SIDES
from handkit.datasets.transforms import LoadImage
from handkit.datasets.transforms.loading import check_video_frame_size
from handkit.engine.args import add_runtime_args, check_runtime_args
from handkit.engine.config import config_chain
from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import (refuse_existing_outputs,
                                    refuse_overwriting_inputs)
from handkit.fileio import atomic_output, write_json
from handkit.skeleton import GROUP_NAMES, KEYPOINT_NAMES
from handkit.visualization.draw import (draw_scores, draw_skeleton, map_grid,
                                        side_by_side)
from handkit.visualization.draw3d import (draw_3d_views, draw_mesh,
                                          model_faces)

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')
PROGRESS_EVERY = 25  # frames between progress lines
BOX_COLOUR = (255, 255, 255)  # BGR: the --hand-seg box
# What each hand of HandInferencer holds in OUT/<name>.json.
HAND_KEYS = ('bbox', 'keypoints', 'scores', 'handedness', 'handedness_score',
             'keypoints_3d')
HAND_BOX_COLOUR = (255, 255, 255)  # BGR
WHOLE_IMAGE_WARNING = (
    'handkit: warning: no --bbox, --hand-seg or --detector: the whole image '
    'is taken as the hand crop')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw hand pose predictions on images or a video')
    parser.add_argument('config', nargs='?', default=None,
                        help='config file of a hand pose model (default: '
                        "MediaPipe Hands' palm detector and landmark model)")
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='its checkpoint file (the .onnx file with '
                        '--backend onnxruntime)')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--input',
                        help='an image, a folder of images or a video')
    source.add_argument('--webcam', type=int, metavar='N',
                        help='read camera N until q or Ctrl-C')
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
    box.add_argument('--detector', action='store_true',
                     help="MediaPipe's palm detector finds every hand for "
                     'the CONFIG / CHECKPOINT model')
    parser.add_argument('--variant', choices=('full', 'lite'),
                        default='full', help="MediaPipe models' variant "
                        '(default: full)')
    parser.add_argument('--max-hands', type=int, default=2,
                        help='at most this many hands per image (default 2)')
    parser.add_argument('--mirrored', action='store_true',
                        help='the images are mirrored (selfie) images')
    parser.add_argument('--hand-side', choices=HAND_SIDES,
                        help='the hand side, for models that take it (the '
                        "PosePrior) and IKNet's rest pose (default: right)")
    parser.add_argument('--iknet', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help="IKNet: add the joint rotations of a 3D model's "
                        'joints, written to OUT/<name>.json')
    parser.add_argument('--show-maps', action='store_true',
                        help='put the predicted maps beside each image')
    parser.add_argument('--show-3d', action='store_true',
                        help="put the 3D joints' front and side views beside "
                        'each image, and a predicted mesh over it')
    parser.add_argument('--score-thr', type=float, default=0.2,
                        help='keypoints scoring lower are not drawn')
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    add_runtime_args(parser, BACKENDS)
    return check_runtime_args(parser, parser.parse_args(argv))


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


def draw_hands(image: np.ndarray, hands: List[dict],
               score_thr: float) -> np.ndarray:
    """Every hand's skeleton, box and side on ``image``."""
    drawn = image
    for hand in hands:
        drawn = draw_skeleton(drawn, hand['keypoints'], scores=hand['scores'],
                              score_threshold=score_thr)
    drawn = drawn.copy()
    for hand in hands:
        corners = np.round(hand['bbox']).astype(int).tolist()
        cv2.rectangle(drawn, tuple(corners[:2]), tuple(corners[2:]),
                      HAND_BOX_COLOUR, 1)
        scale = max(0.4, max(image.shape[:2]) / 1500)
        cv2.putText(drawn, hand['handedness'],
                    (corners[0], max(corners[1] - 4, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, HAND_BOX_COLOUR,
                    max(1, round(scale * 2)), cv2.LINE_AA)
    return drawn


def hand_record(hand: dict) -> dict:
    """One hand of ``HandInferencer`` for JSON: lists of rounded floats."""
    record_ = {}
    for key in HAND_KEYS:
        value = hand.get(key)
        if value is None or isinstance(value, str):
            record_[key] = value
        else:
            record_[key] = np.round(np.asarray(value, np.float64),
                                    4).tolist()
    return record_


def process(image: np.ndarray, args: argparse.Namespace) -> tuple:
    """``(drawing, record)`` of one image (frame); the record is what
    OUT/<name>.json holds."""
    if args.hands is not None:
        hands = args.hands(image)
        base = image
        if args.show_3d and args.faces is not None:
            for hand in hands:  # a mesh model's, under the skeletons
                if 'vertices' in hand:
                    base = draw_mesh(base, hand['vertices'], args.faces,
                                     hand['keypoints_3d'], hand['keypoints'])
        drawn = draw_hands(base, hands, args.score_thr)
        if args.show_3d:
            drawn = with_3d_views(drawn, hands)
        return drawn, dict(hands=[hand_record(hand) for hand in hands])
    result = estimate(args.model, image, args)
    if args.warn_whole_image:
        print(WHOLE_IMAGE_WARNING, file=sys.stderr)
        args.warn_whole_image = False
    base = image
    if args.show_3d:
        if result.get('keypoints_3d') is None:
            raise ValueError('--show-3d: the model predicts no 3D joints (a '
                             '2D model)')
        if args.faces is not None and 'vertices' in result:
            base = draw_mesh(image, result['vertices'], args.faces,
                             result['keypoints_3d'], result['keypoints'])
    drawn = draw_result(base, result, args.score_thr, args.show_maps)
    if args.show_3d:
        drawn = side_by_side(drawn, draw_3d_views(result['keypoints_3d'],
                                                  size=image.shape[0]))
    return drawn, dict(hands=[model_hand(result, image, args)])


def with_3d_views(drawn: np.ndarray, hands: List[dict]) -> np.ndarray:
    """``drawn`` with the 3D views of every hand that has 3D joints."""
    views = [draw_3d_views(hand['keypoints_3d'], size=drawn.shape[0])
             for hand in hands if hand.get('keypoints_3d') is not None]
    return side_by_side(drawn, *views) if views else drawn


def model_hand(result: dict, image: np.ndarray,
               args: argparse.Namespace) -> dict:
    """A CONFIG / CHECKPOINT model's hand in the schema of
    :func:`hand_record`: its ``bbox`` the crop's box (``--hand-seg``'s,
    ``--bbox`` or the whole image), ``handedness`` the ``--hand-side``
    given (None without), ``keypoints_3d`` where the model predicts them,
    and IKNet's ``quaternions`` under ``--iknet``."""
    height, width = image.shape[:2]
    box = result.get('bbox', args.bbox if args.bbox is not None else
                     (0, 0, width - 1, height - 1))
    hand = hand_record(dict(result, bbox=box, handedness=args.hand_side,
                            handedness_score=None))
    if 'quaternions' in result:
        hand['quaternions'] = np.round(np.asarray(
            result['quaternions'], np.float64), 4).tolist()
    return hand


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


def run_image(model: Optional[nn.Module], path: str,
              args: argparse.Namespace,
              image: Optional[np.ndarray] = None) -> None:
    if image is None:
        image = load_image(path)
    drawn, record_ = process(image, args)
    out_file = args.outputs[path]
    write_image(out_file, drawn)
    print(f'{path} -> {out_file}')
    if record_ is not None:
        write_json(json_path(out_file), record_)
        print(f'{path} -> {json_path(out_file)}')


def run_folder(model: Optional[nn.Module], folder: str,
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


def run_video(model: Optional[nn.Module], path: str,
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
    stream(capture, frame, path, args.outputs[path], args,
           total=int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))


def run_webcam(index: int, args: argparse.Namespace) -> None:
    """Camera ``index`` until q (in the preview window, where there is a
    display) or Ctrl-C: ``OUT/webcam_<N>.mp4`` and its json."""
    capture = cv2.VideoCapture(index)
    ok, frame = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise ValueError(f'cannot open webcam {index}')
    # a preview window only where there is a display (an OpenCV built with
    # a GUI aborts without one)
    show = bool(os.environ.get('DISPLAY') or os.environ.get(
        'WAYLAND_DISPLAY') or sys.platform in ('win32', 'darwin'))
    print(f'webcam {index}: ' + ('press q in the preview window or '
                                 if show else '') + 'Ctrl-C to stop')
    stream(capture, frame, f'webcam {index}', args.outputs[webcam_key(index)],
           args, preview=f'handkit webcam {index}' if show else None)


def stream(capture: cv2.VideoCapture, frame: np.ndarray, name: str,
           out_file: str, args: argparse.Namespace, total: int = 0,
           preview: Optional[str] = None) -> None:
    """Draw ``frame`` and every later frame of ``capture`` into the video
    ``out_file`` (written atomically) and, where the mode writes one, its
    json; progress every ``PROGRESS_EVERY`` frames (of ``total``, when
    known). With ``preview`` (a window title) each frame is shown and q or
    Ctrl-C stops; the capture is released in any case."""
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    writer, records, count, ok = None, [], 0, True
    try:
        with atomic_output(out_file) as temporary:
            try:
                while ok:
                    drawn, record_ = process(frame, args)
                    if record_ is not None:
                        records.append(record_)
                    if writer is None:
                        writer = cv2.VideoWriter(
                            temporary, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                            (drawn.shape[1], drawn.shape[0]))
                        if not writer.isOpened():
                            raise ValueError(f'cannot write video {out_file}')
                    writer.write(drawn)
                    count += 1
                    if total and count % PROGRESS_EVERY == 0:
                        print(f'{name}: frame {count}/{total}')
                    if preview is not None:
                        try:
                            cv2.imshow(preview, drawn)
                            if cv2.waitKey(1) & 0xFF == ord('q'):
                                break
                        except cv2.error:  # no display: Ctrl-C stops
                            preview = None
                    ok, frame = capture.read()
            except KeyboardInterrupt:
                if preview is None and total:
                    raise  # a file: Ctrl-C stops the demo
            writer.release()
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if preview is not None:
            try:
                cv2.destroyAllWindows()
            except cv2.error:
                pass
    print(f'{name}: {count} frames -> {out_file}')
    if args.writes_json:
        write_json(json_path(out_file), dict(frames=records))
        print(f'{name}: {count} frames -> {json_path(out_file)}')


def webcam_key(index: int) -> str:
    """The key of ``args.outputs`` for camera ``index``."""
    return f'<webcam {index}>'


def check_modes(args: argparse.Namespace) -> None:
    """One-line errors for options that do not go together."""
    if (args.config is None) != (args.checkpoint is None):
        raise ValueError('give CONFIG and CHECKPOINT together, or neither '
                         "(MediaPipe Hands' palm detector and landmark "
                         'model)')
    if args.config is None:
        for option, value in (('--bbox', args.bbox),
                              ('--hand-seg', args.hand_seg),
                              ('--iknet', args.iknet),
                              ('--detector', args.detector),
                              ('--show-maps', args.show_maps)):
            if value:
                raise ValueError(f'{option} needs CONFIG and CHECKPOINT (a '
                                 f'hand pose model)')
    elif args.detector and (args.iknet or args.show_maps):
        raise ValueError('--detector runs the model on every hand; '
                         '--iknet and --show-maps take one hand per image')
    if args.max_hands < 1:
        raise ValueError(f'--max-hands must be >= 1, got {args.max_hands}')


def mediapipe_files(variant: str) -> tuple:
    """The MediaPipe configs (with their ``_base_`` chains) and converted
    checkpoints that the pipeline reads: inputs never replaced."""
    configs, checkpoints = [], []
    for name in ('palm_detection', 'hand_landmark'):
        configs += config_chain(config_file(name, variant))
        checkpoints.append(converted_checkpoint(name, variant,
                                                must_exist=False))
    return configs, checkpoints


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with user_errors_exit():
        try:
            check_modes(args)
            pipeline = args.config is None or args.detector
            if args.webcam is not None:
                args.outputs = {webcam_key(args.webcam): osp.join(
                    args.out, f'webcam_{args.webcam}.mp4')}
            else:
                if not osp.exists(args.input):
                    raise FileNotFoundError(
                        f'input not found: {args.input}')
                args.outputs = output_paths(list_inputs(args.input),
                                            args.out)
            outputs = list(args.outputs.values())
            args.writes_json = True  # every mode: OUT/<name>.json
            if args.writes_json:
                outputs += [json_path(out) for out in outputs]
            configs = [args.config] + [files[0] for files in (
                args.hand_seg, args.iknet) if files]
            checkpoints = [args.checkpoint] + [files[1] for files in (
                args.hand_seg, args.iknet) if files]
            configs, checkpoints = ([path for path in configs if path],
                                    [path for path in checkpoints if path])
            chains = sum((config_chain(config) for config in configs), [])
            if pipeline:
                more_configs, more_checkpoints = mediapipe_files(
                    args.variant)
                chains += more_configs
                checkpoints += more_checkpoints
            inputs = [path for path in args.outputs
                      if args.webcam is None]
            refuse_overwriting_inputs(outputs, inputs + checkpoints + chains)
            refuse_existing_outputs(outputs, args.overwrite)
            args.hands = args.model = None
            args.seg_model = args.iknet_model = None
            args.warn_whole_image = False
            if pipeline:
                args.hands = HandInferencer(
                    pose=((args.config, args.checkpoint) if args.detector
                          else None), variant=args.variant,
                    device=args.device, backend=args.backend,
                    max_hands=args.max_hands, mirrored=args.mirrored,
                    precision=args.precision)
                args.faces = (model_faces(args.hands.pose)
                              if args.hands.pose is not None else None)
            else:
                args.model = init_model(args.config, args.checkpoint,
                                        device=args.device,
                                        backend=args.backend,
                                        precision=args.precision)
                args.seg_model, args.iknet_model = (
                    init_model(*files, device=args.device) if files else None
                    for files in (args.hand_seg, args.iknet))
                args.warn_whole_image = (args.bbox is None
                                         and args.hand_seg is None)
                args.faces = model_faces(args.model)
            model = args.model
            os.makedirs(args.out, exist_ok=True)
            if args.webcam is not None:
                run_webcam(args.webcam, args)
            elif osp.isdir(args.input):
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
