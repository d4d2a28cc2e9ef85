"""Inference API: build a trained model from its config and run it on images.

    model = init_model('configs/nsrm/lpm_g1_onehand10k.py', 'best.pth')
    result = inference(model, 'hand.jpg')               # whole image
    result = inference(model, frame, bbox=(x1, y1, x2, y2))  # a hand box

The image goes through the config's own test pipeline
(``cfg.test_dataloader.dataset.pipeline``), as MMPose's
``inference_topdown`` runs it, then the model's data preprocessor and the
estimator's 'predict' mode, exactly as ``tools/test.py`` runs a sample, so
keypoints come back in the pixels of the given image. Only the steps that
read labels a user cannot give are replaced: the crop (see
:data:`CROP_STEPS`). A depth model takes a depth image and the cube to crop:

    model = init_model('configs/hourglass/local_regression_nyu.py', 'best.pth')
    result = inference(model, 'depth.png', cam_K=K, cube_center=(x, y, z))

    model = init_model(config, 'model.onnx', backend='onnxruntime')

runs the export of ``tools/export_onnx.py`` with ONNX Runtime instead, with
the same pre-processing and decoding (docs/deployment.md).

Two systems chain stages that handkit trains apart:

    hand = detect_hand(seg_model, frame)           # HandSegNet's hand box
    result = inference(model, frame, bbox=hand['bbox'], hand_side='left')
    rotations = inverse_kinematics(iknet, result)  # IKNet's quaternions

Zimmermann & Brox (ICCV 2017) crop PoseNet's input around HandSegNet's
mask; Zhou et al. (CVPR 2020) turn DetNet's 3D joints into joint rotations
with IKNet.
"""
import copy
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope, init_default_scope
from torch import nn

from handkit.codecs.location_map import LocationMap
from handkit.codecs.utils import check_cube_center, check_normalizable_3d
from handkit.datasets.base import (TEST_PIPELINE_KEY, config_input_size,
                                   pipeline_steps)
from handkit.datasets.collate import hand_collate
from handkit.engine.checkpoint import load_weights_into
from handkit.engine.config import check_cfg_options, load_config_file
from handkit.geometry import apply_affine, invert_affine
from handkit.hand import reference_rest_pose, rotate_rest_pose
from handkit.models.estimators.cascade import head_predictions
from handkit.models.ik import IKNet, mirror_quaternions, quaternion_to_matrix
from handkit.models.precision import check_precision, set_precision
from handkit.registry import MODELS

# Side of the square crop around a user-given box, as a multiple of the
# box's longer side: a little context around a detector-tight box (the
# 2.2 of NSRM Section 4.1 is for the tightest *keypoint* box, which is
# smaller than a hand detector's box).
BBOX_PADDING = 1.25

# inference() runs the config's test pipeline but for the steps that read
# labels a user cannot give. In the shipped test pipelines (configs/**)
# those are the crop steps, and they are replaced, keeping their place:
# * the 2D crop, the square around the labelled keypoints
#   (HandCrop(mode='keypoints'), MediaPipeHandROI), becomes the square
#   around the user's box or the whole image, HandCrop(mode='bbox' |
#   'image', padding=BBOX_PADDING);
# * the depth cube around the 3D joints (DepthCubeCrop(center=
#   'keypoints_mean')) is centred on the user's cube_center instead
#   (center='center_3d'), its cube_size and input_size as configured.
# Their other steps (LoadImage, LoadDepth, TopdownAffine with its
# mirror_side, PackHandInputs) read a label only when the sample has it;
# the depth cube keeps its mirror_side too.
CROP_STEPS = ('HandCrop', 'MediaPipeHandROI')
CUBE_CROP_STEPS = ('DepthCubeCrop', )
# Steps that encode labels into training targets: left out. No shipped test
# pipeline has one, but a config may (to score its losses on the test split).
TARGET_STEPS = ('GenerateTargets', )
# The loading steps of the shipped test pipelines, each with the results key
# of what it loads (its file comes in '<key>_path'). A test pipeline without
# one (a dataset that renders its images) reads RGB files with LoadImage.
LOAD_STEPS = dict(LoadImage='img', LoadDepth='depth')

BACKENDS = ('pytorch', 'onnxruntime', 'litert')
HAND_SIDES = ('left', 'right')


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None,
               backend: str = 'pytorch',
               precision: str = 'fp32') -> nn.Module:
    """Build the estimator of a config, load its weights, set eval mode.

    Args:
        config: path of a config file, or an ``mmengine.Config``.
        checkpoint: checkpoint file (handkit's, or a plain state dict saved
            with ``torch.save``); None keeps the initial weights. With
            ``backend='onnxruntime'``: the ``.onnx`` file of
            ``tools/export_onnx.py`` (required); with ``backend='litert'``:
            the ``.tflite`` file of ``tools/export_tflite.py`` or
            MediaPipe's own (required).
        device: 'cpu', 'cuda', 'cuda:1', ... (onnxruntime: 'cpu', or
            'cuda' where onnxruntime-gpu provides CUDA).
        cfg_options: dict of config overrides, as ``--cfg-options`` takes.
        backend: 'pytorch' (eager), 'onnxruntime' (an
            :class:`handkit.deploy.OnnxRuntimeModel`) or 'litert' (a
            :class:`handkit.deploy.LiteRTModel`, MediaPipe's architectures
            on the CPU): the same pre-processing and decoding around the
            runtime's network (docs/deployment.md).
        precision: 'fp32', or 'bf16': predict under bfloat16 autocast with
            channels-last where the device computes bfloat16 natively,
            float32 elsewhere (one line says what runs;
            ``handkit.models.precision``). PyTorch backend only.

    Returns:
        The estimator (e.g. ``CascadeEstimator``) in eval mode, on
        ``device``, with the config as ``model.cfg``.

    Raises:
        FileNotFoundError: the config or the checkpoint does not exist.
        ConfigError: the config has a syntax error, or ``cfg_options``
            names a key it cannot take (one line each).
        UnsafeCheckpointError: the checkpoint holds objects beyond tensors
            and builtins (nothing in it is executed).
        CorruptCheckpointError: it is empty, truncated or not a checkpoint.
        CheckpointMismatchError: its weights do not fit this config's model.
        MissingDependencyError: onnxruntime (ai-edge-litert) is not
            installed (one line).
        OnnxModelMismatchError: the ONNX file is not this config's export.
        LiteRTModelMismatchError: the .tflite is not this config's model.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got '
                         f'{backend!r}')
    check_precision(precision)
    if precision != 'fp32' and backend != 'pytorch':
        raise ValueError(f'precision={precision!r} is for the PyTorch '
                         f"backend; backend={backend!r} runs its file's own "
                         f'precision')
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        cfg = load_config_file(str(config))
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'handkit'))
    if backend == 'onnxruntime':
        model = _onnxruntime_model(cfg, checkpoint, device)
    elif backend == 'litert':
        model = _litert_model(cfg, checkpoint, device)
    else:
        model = MODELS.build(cfg.model)
        if checkpoint is not None:
            load_weights_into(model, checkpoint)
        if precision != 'fp32':
            set_precision(model, precision)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def _onnxruntime_model(cfg: Config, onnx_file: Optional[str],
                       device: Union[str, torch.device]) -> nn.Module:
    """``OnnxRuntimeModel`` of ``onnx_file`` on ``device``'s provider."""
    from handkit.deploy import OnnxRuntimeModel, import_optional
    ort = import_optional('onnxruntime', "backend='onnxruntime'")
    if onnx_file is None:
        raise ValueError("backend='onnxruntime' needs the .onnx file of "
                         'tools/export_onnx.py as the checkpoint')
    providers = ['CPUExecutionProvider']
    if torch.device(device).type == 'cuda':
        if 'CUDAExecutionProvider' not in ort.get_available_providers():
            raise ValueError(
                f"device {device!r}: this onnxruntime has no "
                f'CUDAExecutionProvider (it has '
                f'{ort.get_available_providers()}); install onnxruntime-gpu '
                "or use device='cpu'")
        providers.insert(0, 'CUDAExecutionProvider')
    return OnnxRuntimeModel(onnx_file, cfg, providers=providers)


def _litert_model(cfg: Config, tflite_file: Optional[str],
                  device: Union[str, torch.device]) -> nn.Module:
    """``LiteRTModel`` of ``tflite_file`` (LiteRT runs on the CPU)."""
    from handkit.deploy import LiteRTModel
    if tflite_file is None:
        raise ValueError("backend='litert' needs a .tflite file (of "
                         'tools/export_tflite.py) as the checkpoint')
    if torch.device(device).type != 'cpu':
        raise ValueError(f"backend='litert' runs on the CPU, got device "
                         f'{device!r}')
    return LiteRTModel(tflite_file, cfg)


def _test_steps(cfg: Config) -> List[dict]:
    """The step configs of ``cfg``'s test pipeline; one line if none."""
    loader = cfg.get('test_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline')
    if not pipeline:
        raise ValueError(f'inference runs the test pipeline of the model\'s '
                         f'config, and the config has no {TEST_PIPELINE_KEY}')
    return pipeline_steps(pipeline)


def _model_cfg(model: nn.Module) -> Config:
    """``model.cfg``; one line when the model was not built by init_model."""
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ValueError(f'the {type(model).__name__} has no cfg (its config, '
                         f'whose test pipeline inference runs); build it '
                         f'with handkit.apis.init_model')
    return cfg


def _compose(cfg: Config, steps: Sequence[dict]) -> Compose:
    """``steps`` built as the Runner builds the config's pipelines: in the
    config's default scope (without changing the caller's)."""
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'handkit')):
        return Compose([copy.deepcopy(step) for step in steps])


def _loading_step(cfg: Config) -> dict:
    """The loading step of ``cfg``'s test pipeline (its first of
    :data:`LOAD_STEPS`), else ``LoadImage``'s defaults."""
    return next((step for step in _test_steps(cfg)
                 if step.get('type') in LOAD_STEPS), dict(type='LoadImage'))


def _is_depth_model(cfg: Config) -> bool:
    """Whether ``cfg``'s test pipeline crops a depth cube."""
    return any(step.get('type') in CUBE_CROP_STEPS
               for step in _test_steps(cfg))


def inference_steps(cfg: Config, crop: Optional[str] = 'image') -> Compose:
    """The steps of a config's test pipeline that follow loading, as
    :func:`inference` runs them.

    The test pipeline (``cfg.test_dataloader.dataset.pipeline``) in its
    order, built in the config's scope, its crop steps replaced
    (:data:`CROP_STEPS`, :data:`CUBE_CROP_STEPS`), its loading and target
    steps left out (:data:`LOAD_STEPS`, :data:`TARGET_STEPS`).

    Args:
        cfg: the model's config (``model.cfg``).
        crop: the 2D crop: 'image' (the whole image, padded to a square),
            'bbox' (``BBOX_PADDING`` x the longer side of ``results['bbox']``)
            or None: left out, the results hold the crop square already
            (``bbox_center``, ``bbox_size``, ``bbox_rotation``: the ROIs of
            :class:`~handkit.apis.HandInferencer`).

    Returns:
        ``Compose``: a loaded ``results`` dict -> the packed sample
        (``PackHandInputs``'s ``{'inputs', 'data_samples'}``).

    Raises:
        ValueError: the config has no test pipeline (one line).
    """
    if crop not in ('image', 'bbox', None):
        raise ValueError(f"inference_steps: crop must be 'image', 'bbox' or "
                         f'None, got {crop!r}')
    steps = []
    for step in _test_steps(cfg):
        kind = step.get('type')
        if kind in LOAD_STEPS or kind in TARGET_STEPS:
            continue
        if kind in CROP_STEPS:
            if crop is None:
                continue
            step = dict(type='HandCrop', mode=crop, padding=BBOX_PADDING)
        elif kind in CUBE_CROP_STEPS:
            step = dict(step, center='center_3d')
        steps.append(step)
    return _compose(cfg, steps)


def _check_bbox(bbox, image_shape):
    """The box as float32 (4,); ValueError when invalid or off the image."""
    height, width = image_shape[:2]
    try:
        box = np.asarray(bbox, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError) as error:
        raise ValueError(f'bbox must be 4 numbers (x1, y1, x2, y2), got '
                         f'{bbox!r}') from error
    if box.shape != (4, ) or not np.isfinite(box).all():
        raise ValueError(f'bbox must be 4 finite numbers (x1, y1, x2, y2), '
                         f'got {bbox!r}')
    if box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f'bbox (x1, y1, x2, y2) needs x2 >= x1 and y2 >= y1, '
                         f'got {bbox!r}')
    if box[2] < 0 or box[3] < 0 or box[0] > width - 1 or box[1] > height - 1:
        raise ValueError(f'bbox {box.tolist()} lies outside the image of size '
                         f'{width} x {height} (width x height)')
    return box


def _check_array(image: np.ndarray, key: str) -> np.ndarray:
    """An input array as its loading step would give it: ``img`` BGR uint8
    (H, W, 3), or ``depth`` (H, W) mm as float32 (0: no depth)."""
    if key == 'img':
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'image must be a BGR uint8 (H, W, 3) array or a '
                             f'file path, got an array of {image.dtype} '
                             f'{image.shape}')
        return image
    if image.ndim != 2 or image.dtype == bool or not (
            np.issubdtype(image.dtype, np.integer)
            or np.issubdtype(image.dtype, np.floating)):
        raise ValueError(f'a depth model takes an (H, W) depth array in mm or '
                         f'a depth file path, got an array of {image.dtype} '
                         f'{image.shape}')
    depth = image.astype(np.float32)
    if not np.isfinite(depth).all() or (depth < 0).any():
        raise ValueError('the depth array must be finite and >= 0 mm (0 where '
                         'there is no depth)')
    return depth


def _load(image: Union[str, np.ndarray], cfg: Optional[Config] = None
          ) -> dict:
    """The pipeline's first ``results``: a file read by the loading step of
    ``cfg``'s test pipeline (None: ``LoadImage``), or an array taken as what
    that step would give (see :func:`_check_array`)."""
    loader = dict(type='LoadImage') if cfg is None else _loading_step(cfg)
    key = LOAD_STEPS[loader['type']]
    if isinstance(image, np.ndarray):
        array = _check_array(image, key)
        return {key: array, 'img_shape': array.shape[:2],
                'ori_shape': array.shape[:2]}
    return _compose(Config() if cfg is None else cfg,
                    [loader])({f'{key}_path': str(image)})


def _check_cam_k(cam_K) -> np.ndarray:
    """The intrinsics as float64 (3, 3); ValueError unless finite with
    positive focal lengths."""
    try:
        matrix = np.asarray(cam_K, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f'cam_K must be the (3, 3) intrinsics of the depth '
                         f'camera, got {cam_K!r}') from error
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all() or not (
            matrix[0, 0] > 0 and matrix[1, 1] > 0):
        raise ValueError(f'cam_K must be the finite (3, 3) intrinsics of the '
                         f'depth camera, fx and fy > 0, got '
                         f'{np.asarray(cam_K).tolist()}')
    return matrix


def prepare_inputs(model: nn.Module, image: Union[str, np.ndarray],
                   bbox: Optional[Sequence[float]] = None,
                   hand_side: Optional[str] = None,
                   cam_K: Optional[np.ndarray] = None,
                   cube_center: Optional[Sequence[float]] = None) -> dict:
    """The batch of one image that :func:`inference` hands the model.

    The image is loaded by the test pipeline's loading step (or taken as
    its output when an array), goes through :func:`inference_steps`,
    ``hand_collate`` and the model's data preprocessor: ``{'inputs': float
    (1, C, H, W), 'data_samples': {'targets': {}, 'metas': [meta]}}``, the
    meta holding ``warp_mat`` (and ``hand_side`` when given; ``cube_center``,
    ``cube_size`` for a depth model). The arguments and errors are
    :func:`inference`'s.
    """
    cfg = _model_cfg(model)
    results = _load(image, cfg)
    if _is_depth_model(cfg):
        if bbox is not None:
            raise ValueError('inference: a depth model crops a cube around '
                             'cube_center, not a bbox; give cam_K and '
                             'cube_center')
        if cam_K is None or cube_center is None:
            raise ValueError('inference: a depth model (DepthCubeCrop in its '
                             'test pipeline) needs cam_K, the (3, 3) '
                             'intrinsics of the depth camera, and '
                             'cube_center, the (3,) mm centre of the hand')
        results['cam_K'] = _check_cam_k(cam_K)
        results['center_3d'] = check_cube_center(cube_center,
                                                 'inference: cube_center')
    elif cam_K is not None or cube_center is not None:
        raise ValueError('inference: cam_K and cube_center are for depth '
                         'models (DepthCubeCrop in the test pipeline); this '
                         'model crops the image: give bbox or nothing')
    elif bbox is not None:
        results['bbox'] = _check_bbox(bbox, results['img'].shape)
    if hand_side is not None:
        if hand_side not in HAND_SIDES:
            raise ValueError(f'inference: hand_side must be one of '
                             f'{HAND_SIDES}, got {hand_side!r}')
        results['hand_side'] = hand_side
    pipeline = inference_steps(cfg, 'image' if bbox is None else 'bbox')
    with torch.no_grad():
        return model.data_preprocessor(hand_collate([pipeline(results)]),
                                       False)


def inference(model: nn.Module, image: Union[str, np.ndarray],
              bbox: Optional[Sequence[float]] = None,
              hand_side: Optional[str] = None,
              cam_K: Optional[np.ndarray] = None,
              cube_center: Optional[Sequence[float]] = None) -> dict:
    """Estimate the keypoints of one hand.

    Args:
        model: from :func:`init_model` (``model.cfg``'s test pipeline
            prepares the input).
        image: an RGB model's: an image file path, or a BGR uint8 (H, W, 3)
            array. A depth model's (``DepthCubeCrop`` in its test
            pipeline): a depth file path, read by the pipeline's
            ``LoadDepth`` (a single-channel 16-bit PNG in mm; NYU's RGB
            encoding with ``encoding='nyu_rgb'``), or an (H, W) array of
            depths in mm, 0 where there is none.
        bbox: RGB models: None to use the whole image, padded to a square
            (the OneHand10K protocol, ``HandCrop(mode='image')``); or the
            hand box (x1, y1, x2, y2) in image pixels, from which a square
            of ``BBOX_PADDING`` (1.25) x its longer side, centred on it, is
            cropped (``HandCrop(mode='bbox', padding=1.25)``).
        hand_side: 'left' or 'right', for models that take the hand side
            as an input (Zimmermann & Brox's PosePrior) or mirror one side
            in (``TopdownAffine(mirror_side=...)``,
            ``DepthCubeCrop(mirror_side=...)``); None otherwise.
        cam_K: depth models: float (3, 3) intrinsics of the depth camera.
        cube_center: depth models: (3,) mm, the hand's centre in the
            camera frame, on which the config's cube (``cube_size``) is
            centred (the role of a reference centre, e.g. V2V-PoseNet's).

    Returns:
        dict: everything the heads predict, under the heads' names
        (:func:`handkit.models.estimators.cascade.head_predictions`; the
        prediction dicts of ``mode='predict'`` prefix them ``pred_``), as
        float32 arrays, with ``warp_mat`` float32 (2, 3) (image -> network
        input pixels) and ``input_size`` (W, H). A 2D model's
        ``keypoints`` (21, 2) in image pixels and ``scores`` (21,); every
        map, (C, h, w) over the network input: ``heatmaps`` (KCM),
        ``structure_maps`` (NSRM's sigmoid limb-group masks),
        ``delta_maps`` and ``location_maps`` (DetNet, (21, 3, h, w)),
        ``hand_maps`` (HandSegNet); a 3D model's 3D outputs, e.g.
        ``keypoints_3d`` (J, 3) mm (wrist-relative for the RGB models; in
        the camera frame for a depth model, with ``joints_cube`` (J, 3) in
        the cube), ``keypoints_3d_normalized`` (DetNet, PosePrior) or
        ``bones`` (ResUnet's bone tree).

    Raises:
        FileNotFoundError: the image file does not exist.
        ValueError: the file is not an image (a depth image) of the
            config's loading step, the array is not BGR uint8 (an (H, W)
            depth in mm), the bbox is malformed or lies outside the image,
            ``hand_side`` is not 'left' / 'right', a depth model lacks
            ``cam_K`` or ``cube_center`` (or they are malformed), an RGB
            model is given them, or the config has no test pipeline (one
            line each).
    """
    data = prepare_inputs(model, image, bbox, hand_side, cam_K, cube_center)
    with torch.no_grad():
        prediction = model(**data, mode='predict', output_maps=True)[0]
    output = {name: np.asarray(value, np.float32)
              for name, value in head_predictions(prediction).items()}
    output.update(warp_mat=np.asarray(prediction['warp_mat'], np.float32),
                  input_size=tuple(prediction['input_size']))
    return output


def detect_hand(seg_model: nn.Module,
                image: Union[str, np.ndarray]) -> dict:
    """Zimmermann & Brox's detection step: HandSegNet's hand box.

    The whole image goes through the model's test-time steps (as
    :func:`inference` without a box: padded to a square, resized to
    the config's input size); the crop of ``crop_from_hand_mask`` (the
    segmented hand's box, ``crop_scale`` x its longer side, in input
    pixels; the image square when no pixel is hand) is mapped back to the
    image through the inverse ``warp_mat``.

    Args:
        seg_model: a HandSegNet model from :func:`init_model` (e.g. on
            ``configs/zimmermann/handsegnet_rhd.py``), square input.
        image: an image file path, or a BGR uint8 (H, W, 3) array.

    Returns:
        dict: ``bbox`` float32 (4,) (x1, y1, x2, y2) image pixels, the
        square for which ``inference(model, image, bbox=bbox)`` crops
        exactly Z&B's crop (side ``crop_size / BBOX_PADDING``, centred on
        it); ``crop_center`` float32 (2,) and ``crop_size`` (float), that
        crop in image pixels; ``found`` (bool), whether any pixel is hand;
        ``hand_probability`` float32 (H, W) over the network input;
        ``warp_mat`` float32 (2, 3) (image -> network input pixels).

    Raises:
        ValueError: the model predicts no hand mask (not a HandSegNet),
            its input is not square, or the image is invalid (as for
            :func:`inference`).
    """
    input_size = config_input_size(_model_cfg(seg_model))
    if input_size[0] != input_size[1]:
        raise ValueError(f'detect_hand: the model\'s input size {input_size} '
                         f'is not square; the crop of crop_from_hand_mask is '
                         f'a square of input pixels only on a square input')
    result = inference(seg_model, image)
    if 'hand_crop_center' not in result:
        raise ValueError(f'detect_hand: the model predicts no hand mask '
                         f'(its outputs are {sorted(result)}); give it a '
                         f'HandSegNet model, e.g. '
                         f'configs/zimmermann/handsegnet_rhd.py')
    to_image = invert_affine(result['warp_mat'])
    centre = apply_affine(result['hand_crop_center'][None], to_image)[0]
    # the square input's scale: image pixels per input pixel
    scale = float(np.sqrt(abs(np.linalg.det(to_image[:, :2]))))
    crop_size = float(result['hand_crop_size']) * scale
    half = crop_size / BBOX_PADDING / 2
    return dict(
        bbox=np.concatenate([centre - half, centre + half]).astype(
            np.float32),
        crop_center=centre.astype(np.float32), crop_size=crop_size,
        found=bool(result['hand_mask'].any()),
        hand_probability=result['hand_maps'][0], warp_mat=result['warp_mat'])


def inverse_kinematics(iknet_model: nn.Module, result: dict,
                       hand_side: str = 'right',
                       rest_pose: Optional[np.ndarray] = None) -> dict:
    """Zhou et al.'s IKNet on the 3D joints of an :func:`inference` result.

    The joints ``result['keypoints_3d']`` (any unit and root: DetNet's mm
    relative to the middle MCP) go to IKNet's units with
    ``LocationMap.normalize`` (relative to the middle MCP, in wrist ->
    middle-MCP bones), the units IKNet trains in
    (``configs/zhou/iknet_synthetic.py``); for
    DetNet that is its read-out ``keypoints_3d_normalized``, re-rooted and
    re-scaled to exactly one bone as IKNet's training joints are. The
    joints must be in the camera frame, as IKNet's training joints are.

    Args:
        iknet_model: an ``IKNet`` from :func:`init_model` on
            ``configs/zhou/iknet_synthetic.py`` and its checkpoint
            (``tools/train.py`` writes ``iter_3000.pth``).
        result: from :func:`inference` with a 3D model (DetNet).
        hand_side: 'right' or 'left': the hand's side. It picks the rest
            pose when ``rest_pose`` is None (IKNet tells the side from it);
            for a one-side IKNet (``hand_side='left'``, the released
            model's) a hand of the other side is mirrored in (camera x
            negated, joints and rest pose) and its rotations and posed rest
            pose mirrored back, as minimal-hand flips right hands.
        rest_pose: the hand's joints (21, 3) with every joint angle 0, in
            the hand frame of ``handkit.hand.kinematics`` (x
            toward the thumb, y wrist -> middle finger, z out of the palm;
            mirrored in x for a left hand), any unit. None: the reference
            hand's (``handkit.hand.reference_rest_pose``), the centre
            of the synthetic shapes IKNet is trained on.

    Returns:
        dict: ``quaternions`` float32 (21, 4) (w, x, y, z), unit, w >= 0,
        each joint's global rotation (``handkit.models.ik``);
        ``ik_keypoints_3d`` float32 (21, 3), the rest pose turned by them
        (``rotate_rest_pose``), wrist at the origin, in the unit of
        ``result['keypoints_3d']`` (the rest pose scaled to the joints'
        wrist -> middle-MCP bone); ``rest_pose_normalized`` float32 (21,
        3), the rest pose IKNet got, in its units.

    Raises:
        ValueError: ``iknet_model`` is not an IKNet, the result has no
            (21, 3) ``keypoints_3d`` (a 2D model's), ``hand_side`` is
            invalid, or joints or rest pose are not finite (21, 3) with a
            wrist -> middle-MCP bone to normalise by.
    """
    if not isinstance(iknet_model, IKNet):
        raise ValueError(f'inverse_kinematics: iknet_model must be an IKNet '
                         f'(init_model on configs/zhou/iknet_synthetic.py), '
                         f'got {type(iknet_model).__name__}')
    if 'keypoints_3d' not in result:
        raise ValueError(f"inverse_kinematics: the result has no "
                         f"'keypoints_3d' (its keys are {sorted(result)}); "
                         f'run inference() with a 3D model, e.g. '
                         f'configs/zhou/detnet_synthetic.py')
    if hand_side not in HAND_SIDES:
        raise ValueError(f'inverse_kinematics: hand_side must be one of '
                         f'{HAND_SIDES}, got {hand_side!r}')
    codec = LocationMap()
    joints, bone = check_normalizable_3d(
        result['keypoints_3d'], codec.reference_bone,
        "inverse_kinematics: result['keypoints_3d']")
    if rest_pose is None:
        rest_pose = reference_rest_pose(is_left=hand_side == 'left')
    rest_pose = check_normalizable_3d(
        rest_pose, codec.reference_bone, 'inverse_kinematics: rest_pose')[0]
    parameter = next(iknet_model.parameters())
    tensors = [torch.as_tensor(codec.normalize(points)[None],
                               dtype=parameter.dtype, device=parameter.device)
               for points in (joints, rest_pose)]
    mirrored = iknet_model.hand_side not in (None, hand_side)
    if mirrored:  # into the model's side: camera x negated
        flip = tensors[0].new_tensor([-1.0, 1.0, 1.0])
        tensors = [points * flip for points in tensors]
    quaternions = iknet_model.predict(*tensors)
    posed = rotate_rest_pose(quaternion_to_matrix(quaternions), tensors[1])
    if mirrored:  # and back out
        quaternions = mirror_quaternions(quaternions)
        posed, tensors[1] = posed * flip, tensors[1] * flip
    return dict(
        quaternions=quaternions[0].cpu().numpy().astype(np.float32),
        ik_keypoints_3d=(posed[0].cpu().numpy() * bone).astype(np.float32),
        rest_pose_normalized=tensors[1][0].cpu().numpy().astype(np.float32))
