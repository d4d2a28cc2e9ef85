"""The demo's work (``tools/demo.py``): hands found and drawn in an image, a
folder of images, a video or a webcam, each drawing beside a JSON record.

:class:`DemoRunner` runs either :class:`~handkit.apis.HandInferencer`
(every hand of an image) or a CONFIG / CHECKPOINT model (one hand: the
``--bbox``, a HandSegNet's box or the whole image; IKNet's rotations
added) on each image (frame) and writes ``OUT/<name>.png`` (``.mp4`` for a
video) and ``OUT/<name>.json``: ``{"hands": [record, ...]}``, ``{"frames":
[{"hands": [...]}, ...]}`` for a video (:func:`hand_record`). Every output
is written atomically.
"""
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from torch import nn

from handkit.apis.inference import (detect_hand, inference,
                                    inverse_kinematics)
from handkit.apis.mediapipe_files import config_file, converted_checkpoint
from handkit.datasets.transforms import LoadImage
from handkit.datasets.transforms.loading import check_video_frame_size
from handkit.engine.config import config_chain
from handkit.fileio import atomic_output, write_json
from handkit.visualization.draw_results import draw_hands, draw_result

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')
PROGRESS_EVERY = 25  # frames between progress lines
# What each hand holds in OUT/<name>.json.
HAND_KEYS = ('bbox', 'keypoints', 'scores', 'handedness', 'handedness_score',
             'keypoints_3d')
WHOLE_IMAGE_WARNING = (
    'handkit: warning: no --bbox, --hand-seg or --detector: the whole image '
    'is taken as the hand crop')


def hand_record(hand: dict) -> dict:
    """One hand of ``HandInferencer`` for JSON: lists of rounded floats."""
    record = {}
    for key in HAND_KEYS:
        value = hand.get(key)
        if value is None or isinstance(value, str):
            record[key] = value
        else:
            record[key] = np.round(np.asarray(value, np.float64),
                                   4).tolist()
    return record


def json_path(out_file: str) -> str:
    """``OUT/<name>.json`` beside ``OUT/<name>.png`` (``.mp4``)."""
    return osp.splitext(out_file)[0] + '.json'


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


def model_files(configs: Sequence[str], checkpoints: Sequence[str],
                mediapipe_variant: Optional[str] = None) -> List[str]:
    """The files the models are read from, which no output may replace:
    the checkpoints, then every config's ``_base_`` chain; with
    ``mediapipe_variant`` MediaPipe's converted checkpoints and configs
    too (its palm detector and landmark model)."""
    chains = sum((config_chain(config) for config in configs), [])
    checkpoints = list(checkpoints)
    if mediapipe_variant is not None:
        for name in ('palm_detection', 'hand_landmark'):
            chains += config_chain(config_file(name, mediapipe_variant))
            checkpoints.append(converted_checkpoint(
                name, mediapipe_variant, must_exist=False))
    return checkpoints + chains


def write_image(path: str, image: np.ndarray) -> None:
    """Encode ``image`` as PNG and write it atomically (a kill or a full
    disk leaves the previous file)."""
    ok, encoded = cv2.imencode('.png', image)
    if not ok:
        raise ValueError(f'cannot encode the drawing for {path}')
    with atomic_output(path) as temporary:
        with open(temporary, 'wb') as file:
            file.write(encoded.tobytes())


def load_image(path: str) -> np.ndarray:
    """BGR uint8 image of ``path`` (LoadImage: ValueError if not an image)."""
    return LoadImage().transform(dict(img_path=path))['img']


class DemoRunner:
    """Draws and records the hands of images, folders, videos and cameras.

    Args:
        hands: every hand of an image (a :class:`HandInferencer`, maybe
            with a CONFIG / CHECKPOINT pose model behind its detector); or
            None, then ``model`` finds one hand an image.
        model: a CONFIG / CHECKPOINT model (:func:`init_model`).
        seg_model: a HandSegNet that finds the hand box (``detect_hand``)
            instead of ``bbox``.
        iknet_model: IKNet, whose joint rotations (``quaternions``) are
            added to a 3D model's hand.
        bbox: the hand box in pixels (default: the whole image).
        hand_side: given to models that take it and IKNet (default right);
            the record's ``handedness``.
        faces: the mesh model's triangles (drawn under ``show_3d``).
        score_thr: keypoints scoring lower are not drawn.
        show_maps: put the predicted maps beside each drawing.
        show_3d: the 3D joints' views beside, a predicted mesh under.
        warn_whole_image: say once on stderr that the whole image is the
            hand crop.
    """

    def __init__(self, hands: Optional[Callable[[np.ndarray], List[dict]]]
                 = None, model: Optional[nn.Module] = None,
                 seg_model: Optional[nn.Module] = None,
                 iknet_model: Optional[nn.Module] = None,
                 bbox: Optional[Sequence[float]] = None,
                 hand_side: Optional[str] = None,
                 faces: Optional[np.ndarray] = None, score_thr: float = 0.2,
                 show_maps: bool = False, show_3d: bool = False,
                 warn_whole_image: bool = False):
        self.hands, self.model = hands, model
        self.seg_model, self.iknet_model = seg_model, iknet_model
        self.bbox, self.hand_side, self.faces = bbox, hand_side, faces
        self.score_thr, self.show_maps, self.show_3d = (score_thr, show_maps,
                                                        show_3d)
        self.warn_whole_image = warn_whole_image

    def process(self, image: np.ndarray) -> Tuple[np.ndarray, dict]:
        """``(drawing, record)`` of one image (frame); the record is what
        OUT/<name>.json holds."""
        if self.hands is not None:
            hands = self.hands(image)
            drawn = draw_hands(image, hands, self.score_thr, self.faces,
                               self.show_3d)
            return drawn, dict(hands=[hand_record(hand) for hand in hands])
        result = self.estimate(image)
        if self.warn_whole_image:
            print(WHOLE_IMAGE_WARNING, file=sys.stderr)
            self.warn_whole_image = False
        drawn = draw_result(image, result, self.score_thr, self.show_maps,
                            self.faces, self.show_3d)
        return drawn, dict(hands=[self.model_hand(result, image)])

    def estimate(self, image: np.ndarray) -> dict:
        """``inference`` on ``bbox`` or the ``seg_model``'s box (then kept
        as ``bbox``), with IKNet's rotations added by ``iknet_model``."""
        bbox, hand = self.bbox, None
        if self.seg_model is not None:
            hand = detect_hand(self.seg_model, image)
            bbox = hand['bbox']
        result = inference(self.model, image, bbox=bbox,
                           hand_side=self.hand_side)
        if hand is not None:
            result['bbox'] = hand['bbox']
        if self.iknet_model is not None:
            result.update(inverse_kinematics(self.iknet_model, result,
                                             self.hand_side or 'right'))
        return result

    def model_hand(self, result: dict, image: np.ndarray) -> dict:
        """The model's hand in the schema of :func:`hand_record`: its
        ``bbox`` the crop's box (the ``seg_model``'s, ``bbox`` or the whole
        image), ``handedness`` the ``hand_side`` given (None without),
        ``keypoints_3d`` where the model predicts them, and IKNet's
        ``quaternions`` with ``iknet_model``."""
        height, width = image.shape[:2]
        box = result.get('bbox', self.bbox if self.bbox is not None else
                         (0, 0, width - 1, height - 1))
        hand = hand_record(dict(result, bbox=box, handedness=self.hand_side,
                                handedness_score=None))
        if 'quaternions' in result:
            hand['quaternions'] = np.round(np.asarray(
                result['quaternions'], np.float64), 4).tolist()
        return hand

    def run_image(self, path: str, out_file: str,
                  image: Optional[np.ndarray] = None) -> None:
        """The drawing of the image ``path`` to ``out_file``, its record
        beside."""
        if image is None:
            image = load_image(path)
        drawn, record = self.process(image)
        write_image(out_file, drawn)
        print(f'{path} -> {out_file}')
        write_json(json_path(out_file), record)
        print(f'{path} -> {json_path(out_file)}')

    def run_folder(self, folder: str, outputs: Dict[str, str]) -> None:
        """Each image of ``outputs`` (input -> output), skipping (with a
        line) the files that are not images."""
        done = 0
        for path, out_file in outputs.items():
            try:
                image = load_image(path)
            except ValueError as error:  # LoadImage: not a usable image
                print(f'skipped {path}: {error}')
                continue
            self.run_image(path, out_file, image)
            done += 1
        if done == 0:
            raise ValueError(f'no images in {folder}')

    def run_video(self, path: str, out_file: str) -> None:
        """Every frame of the video ``path`` drawn into ``out_file``; its
        frames' size is checked against the pixel limit first."""
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
        self.stream(capture, frame, path, out_file,
                    total=int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))

    def run_webcam(self, index: int, out_file: str) -> None:
        """Camera ``index`` until q (in the preview window, where there is a
        display) or Ctrl-C, into ``out_file`` and its json."""
        capture = cv2.VideoCapture(index)
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok:
            capture.release()
            raise ValueError(f'cannot open webcam {index}')
        # a preview window only where there is a display (an OpenCV built
        # with a GUI aborts without one)
        show = bool(os.environ.get('DISPLAY') or os.environ.get(
            'WAYLAND_DISPLAY') or sys.platform in ('win32', 'darwin'))
        print(f'webcam {index}: ' + ('press q in the preview window or '
                                     if show else '') + 'Ctrl-C to stop')
        self.stream(capture, frame, f'webcam {index}', out_file,
                    preview=f'handkit webcam {index}' if show else None)

    def stream(self, capture: cv2.VideoCapture, frame: np.ndarray,
               name: str, out_file: str, total: int = 0,
               preview: Optional[str] = None) -> None:
        """Draw ``frame`` and every later frame of ``capture`` into the
        video ``out_file`` (written atomically) and its json; progress every
        ``PROGRESS_EVERY`` frames (of ``total``, when known). With
        ``preview`` (a window title) each frame is shown and q or Ctrl-C
        stops; the capture is released in any case."""
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        writer, records, count, ok = None, [], 0, True
        try:
            with atomic_output(out_file) as temporary:
                try:
                    while ok:
                        drawn, record = self.process(frame)
                        records.append(record)
                        if writer is None:
                            writer = cv2.VideoWriter(
                                temporary, cv2.VideoWriter_fourcc(*'mp4v'),
                                fps, (drawn.shape[1], drawn.shape[0]))
                            if not writer.isOpened():
                                raise ValueError(
                                    f'cannot write video {out_file}')
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
        write_json(json_path(out_file), dict(frames=records))
        print(f'{name}: {count} frames -> {json_path(out_file)}')
