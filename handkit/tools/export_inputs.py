"""The rendered hands and photos ``tools/export_onnx.py`` checks and
calibrates an export on, each through the config's own test-time path.

``handkit.deploy`` compares and quantises on whatever inputs it is given;
the config's splits and its metric come from
:mod:`handkit.apis.export_checks`; rendering hands needs the synthetic
generator, which only the tools and the dataset adapters import, so these
live here, with the tool (as timm keeps ``onnx_validate.py`` apart from
``timm/utils/onnx.py``):

* parity (:func:`parity_inputs`): seeded noise, a hand of handkit's
  renderer (seed 0) through :func:`handkit.apis.prepare_inputs` (an RGB
  model's on the hand box padded 1.25 x, a depth model's on the cube of
  the config's ``DepthCubeCrop`` around the mean of the hand's joints), and
  each photo given, the whole image as the crop;
* calibration (:func:`calibration_inputs`): the first N samples of a split
  through the test pipeline
  (:func:`~handkit.apis.export_checks.split_inputs`), rendered hands or
  image files.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from handkit.apis.export_checks import SPLITS, as_float32, split_inputs
from handkit.apis.inference import prepare_inputs
from handkit.datasets.base import pipeline_steps
from handkit.datasets.synthetic.renderer import render_hand
from handkit.deploy.quantize import CalibrationError
from handkit.evaluation.complexity import input_shape_from_config

SEED = 0
DEFAULT_CALIBRATION_SIZE = 20
SYNTHETIC = 'synthetic'
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


# ------------------------------------------------------------------ parity
def _depth_inputs(model: nn.Module, input_shape: Sequence[int]) -> dict:
    """A rendered depth hand through :func:`handkit.apis.prepare_inputs`:
    the config's ``DepthCubeCrop`` around the mean of its labelled joints."""
    height, width = input_shape[1:]
    hand = render_hand(SEED, image_size=(2 * width, 2 * height),
                       modality='depth')
    labelled = np.asarray(hand['keypoints_visible']) > 0
    joints = np.asarray(hand['keypoints_3d'], np.float64)
    return prepare_inputs(model, hand['depth'], cam_K=hand['cam_K'],
                          cube_center=joints[labelled].mean(axis=0))


def _rgb_inputs(model: nn.Module, input_shape: Sequence[int]) -> dict:
    """A rendered RGB hand through :func:`handkit.apis.prepare_inputs`."""
    height, width = input_shape[1:]
    hand = render_hand(SEED, image_size=(2 * width, 2 * height),
                       modality='rgb')
    keypoints = hand['keypoints']
    box = np.concatenate([keypoints.min(axis=0), keypoints.max(axis=0)])
    return prepare_inputs(model, hand['image'], bbox=box)


def parity_inputs(model: nn.Module, input_shape: Sequence[int],
                  images: Sequence[str] = (),
                  dynamic_batch: bool = False) -> Dict[str, dict]:
    """Named batches ``{'inputs': (B, C, H, W), 'data_samples': ...}``.

    Args:
        model: the estimator, with ``model.cfg`` (``init_model``).
        input_shape: (C, H, W).
        images: real image files (RGB models only).
        dynamic_batch: add a batch of 2 random inputs.
    """
    channels = int(input_shape[0])
    if images and channels != 3:
        raise ValueError(f'parity images are RGB photos, the model takes '
                         f'{channels}-channel inputs (depth crops)')
    generator = torch.Generator().manual_seed(SEED)
    batches = {'random': dict(inputs=torch.randn(
        1, *input_shape, generator=generator), data_samples=None)}
    if dynamic_batch:
        batches['random, batch 2'] = dict(inputs=torch.randn(
            2, *input_shape, generator=generator), data_samples=None)
    batches['synthetic hand'] = (_rgb_inputs if channels == 3 else
                                 _depth_inputs)(model, input_shape)
    for path in images:
        batches[f'image {path}'] = prepare_inputs(model, str(path))
    return batches


# ------------------------------------------------------------- calibration
def image_files(paths: Sequence[str]) -> List[str]:
    """Image files of ``paths`` (files, or folders: their images, sorted);
    :class:`CalibrationError` naming a path that is neither."""
    files = []
    for path in paths:
        if osp.isdir(path):
            found = sorted(osp.join(path, name) for name in os.listdir(path)
                           if name.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise CalibrationError(
                    f'--calibration {path}: the folder holds no image '
                    f"({', '.join(IMAGE_SUFFIXES)})")
            files += found
        elif osp.isfile(path):
            files.append(path)
        else:
            raise CalibrationError(
                f'--calibration {path}: neither a split of the config '
                f"({', '.join(SPLITS)}), {SYNTHETIC!r} nor an image file "
                'or folder')
    return files


def calibration_inputs(model: nn.Module,
                       spec: Optional[Sequence[str]] = None,
                       size: int = DEFAULT_CALIBRATION_SIZE
                       ) -> Tuple[List[np.ndarray], str]:
    """Calibration inputs of a model, through its config's test-time path.

    Args:
        model: the eager estimator of :func:`handkit.apis.init_model`
            (``model.cfg``, ``model.data_preprocessor``).
        spec: None: the config's ``val`` split, else its ``test`` split;
            ``['val']`` (or ``'train'``, ``'test'``): that split's first
            ``size`` samples through the test pipeline; ``'synthetic'``:
            ``size`` hands of handkit's renderer (:func:`synthetic_inputs`);
            otherwise image files or folders, each image through
            :func:`~handkit.apis.inference.prepare_inputs` (the whole image
            as the crop), the first ``size`` of them.
        size: how many inputs at most.

    Returns:
        ``(inputs, description)``: float32 (1, C, H, W) arrays, the data
        preprocessor's output, and a few words saying what they are.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise CalibrationError(f'--calibration-size must be an integer >= 1,'
                               f' got {size!r}')
    if spec is None:
        split = 'val' if model.cfg.get('val_dataloader') else 'test'
        spec = [split]
    spec = [spec] if isinstance(spec, str) else list(spec)
    if not spec:
        raise CalibrationError('--calibration: give a split or images')
    if len(spec) == 1 and spec[0] in SPLITS and not osp.exists(spec[0]):
        inputs = split_inputs(model, spec[0], size)
        return inputs, (f'the first {len(inputs)} samples of the '
                        f'{spec[0]} split')
    rgb = input_shape_from_config(model.cfg)[0] == 3
    if len(spec) == 1 and spec[0] == SYNTHETIC and not osp.exists(spec[0]):
        if not rgb:
            raise CalibrationError(f'--calibration {SYNTHETIC}: the model '
                                   'takes depth crops; calibrate on a split')
        inputs = [as_float32(x) for x in synthetic_inputs(model, size)]
        return inputs, f'{len(inputs)} rendered hands (handkit renderer)'
    files = image_files(spec)[:size]
    if files and not rgb:
        raise CalibrationError('--calibration images: the model takes depth '
                               'crops; calibrate on a split')
    inputs = [as_float32(prepare_inputs(model, path)['inputs'])
              for path in files]
    return inputs, f'{len(inputs)} images (whole-image crops)'


def whole_image_model(cfg) -> bool:
    """The config's test pipeline crops the whole image (a detector, e.g.
    MediaPipe's palm model), not a hand."""
    loader = cfg.get('test_dataloader') or {}
    steps = pipeline_steps((loader.get('dataset') or {}).get('pipeline')
                           or ())
    return any(step.get('type') == 'HandCrop' and step.get('mode') == 'image'
               for step in steps)


def synthetic_hands(size: int, image_size: Tuple[int, int] = (320, 240),
                    seed: int = 1000) -> List[dict]:
    """``size`` hands of handkit's renderer (seeds ``seed``...), palm or
    back within 60 degrees of the camera, the keypoint box 25-70 % of the
    image's shorter side: BGR ``image``, ``keypoints`` (21, 2) px."""
    return [render_hand(seed + index, image_size=image_size,
                        fill_range=(0.25, 0.7), max_view_angle=60.0)
            for index in range(size)]


def synthetic_inputs(model: nn.Module, size: int) -> List[torch.Tensor]:
    """Rendered hands through :func:`~handkit.apis.inference.
    prepare_inputs`: the whole image for a whole-image model (a detector),
    else the hand's keypoint box (padded 1.25 x, as a detector's box)."""
    whole = whole_image_model(model.cfg)
    inputs = []
    for hand in synthetic_hands(size):
        points = hand['keypoints']
        box = None if whole else np.concatenate([points.min(0),
                                                 points.max(0)])
        inputs.append(prepare_inputs(model, hand['image'],
                                     bbox=box)['inputs'])
    return inputs
