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
from typing import List, Optional

from handkit.apis import HandInferencer, init_model
from handkit.apis.demo_runner import (VIDEO_SUFFIXES, DemoRunner, json_path,
                                      list_inputs, model_files, output_paths)
from handkit.apis.inference import BACKENDS, HAND_SIDES
from handkit.engine.args import add_runtime_args, check_runtime_args
from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import (refuse_existing_outputs,
                                    refuse_overwriting_inputs)
from handkit.visualization.draw3d import model_faces


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


def build_runner(args: argparse.Namespace, pipeline: bool) -> DemoRunner:
    """The command line's models, built once every output is checked."""
    if pipeline:
        hands = HandInferencer(
            pose=(args.config, args.checkpoint) if args.detector else None,
            variant=args.variant, device=args.device, backend=args.backend,
            max_hands=args.max_hands, mirrored=args.mirrored,
            precision=args.precision)
        return DemoRunner(hands=hands, faces=(
            model_faces(hands.pose) if hands.pose is not None else None),
            score_thr=args.score_thr, show_3d=args.show_3d)
    model = init_model(args.config, args.checkpoint, device=args.device,
                       backend=args.backend, precision=args.precision)
    seg_model, iknet_model = (init_model(*files, device=args.device)
                              if files else None
                              for files in (args.hand_seg, args.iknet))
    return DemoRunner(
        model=model, seg_model=seg_model, iknet_model=iknet_model,
        bbox=args.bbox, hand_side=args.hand_side, faces=model_faces(model),
        score_thr=args.score_thr, show_maps=args.show_maps,
        show_3d=args.show_3d,
        warn_whole_image=args.bbox is None and args.hand_seg is None)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with user_errors_exit():
        try:
            check_modes(args)
            pipeline = args.config is None or args.detector
            if args.webcam is not None:
                inputs = {}  # input -> output; a camera is no file
                out_files = [osp.join(args.out, f'webcam_{args.webcam}.mp4')]
            else:
                if not osp.exists(args.input):
                    raise FileNotFoundError(
                        f'input not found: {args.input}')
                inputs = output_paths(list_inputs(args.input), args.out)
                out_files = list(inputs.values())
            # every mode writes OUT/<name>.json beside each drawing
            outputs = out_files + [json_path(out) for out in out_files]
            side_models = [files for files in (args.hand_seg, args.iknet)
                           if files]
            configs = [args.config] + [files[0] for files in side_models]
            checkpoints = [args.checkpoint] + [files[1]
                                               for files in side_models]
            refuse_overwriting_inputs(outputs, list(inputs) + model_files(
                [path for path in configs if path],
                [path for path in checkpoints if path],
                args.variant if pipeline else None))
            refuse_existing_outputs(outputs, args.overwrite)
            runner = build_runner(args, pipeline)
            os.makedirs(args.out, exist_ok=True)
            if args.webcam is not None:
                runner.run_webcam(args.webcam, out_files[0])
            elif osp.isdir(args.input):
                runner.run_folder(args.input, inputs)
            elif args.input.lower().endswith(VIDEO_SUFFIXES):
                runner.run_video(args.input, inputs[args.input])
            else:
                runner.run_image(args.input, inputs[args.input])
        except ValueError as error:
            print(f'handkit: error: {error}', file=sys.stderr)
            sys.exit(2)


if __name__ == '__main__':
    main()
