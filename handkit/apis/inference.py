"""Inference API: build a trained model from its config and run it on images.

    model = init_model('configs/nsrm/lpm_g1_onehand10k.py', 'best.pth')
    result = inference(model, 'hand.jpg')               # whole image
    result = inference(model, frame, bbox=(x1, y1, x2, y2))  # a hand box

The image goes through the test-time steps of docs/architecture.md section 2
(``HandCrop`` -> ``TopdownAffine`` -> ``PackHandInputs``), the model's data
preprocessor and the estimator's 'predict' mode, exactly as ``tools/test.py``
runs a sample, so keypoints come back in the pixels of the given image.

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
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from handkit.codecs.location_map import LocationMap
from handkit.codecs.utils import check_normalizable_3d
from handkit.datasets.base import pipeline_steps
from handkit.datasets.collate import hand_collate
from handkit.datasets.synthetic.joint_rotations import reference_rest_pose
from handkit.datasets.transforms import (HandCrop, LoadImage, PackHandInputs,
                                         TopdownAffine)
from handkit.engine.checkpoint import load_weights_into
from handkit.engine.config import check_cfg_options, load_config_file
from handkit.geometry import apply_affine, invert_affine
from handkit.models.ik import (IKNet, mirror_quaternions,
                               quaternion_to_matrix, rotate_rest_pose)
from handkit.registry import MODELS

# Side of the square crop around a user-given box, as a multiple of the
# box's longer side: a little context around a detector-tight box (the
# 2.2 of NSRM Section 4.1 is for the tightest *keypoint* box, which is
# smaller than a hand detector's box).
BBOX_PADDING = 1.25
# Maps of the estimator returned by inference() when the model has them.
MAP_KEYS = ('structure_maps', 'heatmaps')


BACKENDS = ('pytorch', 'onnxruntime')
HAND_SIDES = ('left', 'right')
# 2D outputs, returned under their own names
_2D_KEYS = ('pred_keypoints', 'pred_scores')


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None,
               backend: str = 'pytorch') -> nn.Module:
    """Build the estimator of a config, load its weights, set eval mode.

    Args:
        config: path of a config file, or an ``mmengine.Config``.
        checkpoint: checkpoint file (handkit's, or a plain state dict saved
            with ``torch.save``); None keeps the initial weights. With
            ``backend='onnxruntime'``: the ``.onnx`` file of
            ``tools/export_onnx.py`` (required).
        device: 'cpu', 'cuda', 'cuda:1', ... (onnxruntime: 'cpu', or
            'cuda' where onnxruntime-gpu provides CUDA).
        cfg_options: dict of config overrides, as ``--cfg-options`` takes.
        backend: 'pytorch' (eager) or 'onnxruntime': an
            :class:`handkit.deploy.OnnxRuntimeModel` with the same
            pre-processing and decoding around ONNX Runtime's network
            (docs/deployment.md).

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
        MissingDependencyError: onnxruntime is not installed (one line).
        OnnxModelMismatchError: the ONNX file is not this config's export.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got '
                         f'{backend!r}')
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
    else:
        model = MODELS.build(cfg.model)
        if checkpoint is not None:
            load_weights_into(model, checkpoint)
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


def model_input_size(model: nn.Module) -> Tuple[int, int]:
    """(W, H) of the network input of ``model``.

    Read from the ``TopdownAffine`` step of the config's test pipeline
    (``cfg.test_dataloader.dataset.pipeline``), else from the ``input_size``
    of a head's decoder (the KCM codec).
    """
    cfg = getattr(model, 'cfg', None)
    loader = (cfg.get('test_dataloader') if cfg is not None else None) or {}
    pipeline = loader.get('dataset', {}).get('pipeline') or ()
    for step in pipeline_steps(pipeline):
        if step.get('type') == 'TopdownAffine':
            return tuple(int(side) for side in step.get('input_size',
                                                        (368, 368)))
    for head in getattr(model, 'heads', ()):
        decoder = getattr(head, 'decoder', None)
        if getattr(decoder, 'input_size', None) is not None:
            return tuple(int(side) for side in decoder.input_size)
    raise ValueError('cannot tell the input size of the model: its config '
                     'has no TopdownAffine step in '
                     'test_dataloader.dataset.pipeline and no head has a '
                     'decoder with input_size')


def model_mirror_side(model: nn.Module) -> Optional[str]:
    """The ``mirror_side`` of the config's test-pipeline ``TopdownAffine``
    (a one-side model's: the other side's hands are mirrored in), or None."""
    cfg = getattr(model, 'cfg', None)
    loader = (cfg.get('test_dataloader') if cfg is not None else None) or {}
    pipeline = loader.get('dataset', {}).get('pipeline') or ()
    return next((step.get('mirror_side') for step in pipeline_steps(pipeline)
                 if step.get('type') == 'TopdownAffine'), None)


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


def _load(image):
    """The pipeline's first ``results``: from a path (LoadImage) or array."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'image must be a BGR uint8 (H, W, 3) array or a '
                             f'file path, got an array of {image.dtype} '
                             f'{image.shape}')
        return dict(img=image, img_shape=image.shape[:2],
                    ori_shape=image.shape[:2])
    return LoadImage().transform(dict(img_path=str(image)))


def prepare_inputs(model: nn.Module, image: Union[str, np.ndarray],
                   bbox: Optional[Sequence[float]] = None,
                   hand_side: Optional[str] = None) -> dict:
    """The batch of one image that :func:`inference` hands the model.

    The test-time steps (``HandCrop`` -> ``TopdownAffine`` at the model's
    input size, with its test pipeline's ``mirror_side`` ->
    ``PackHandInputs``), ``hand_collate`` and the model's data
    preprocessor: ``{'inputs': float (1, 3, H, W) normalised,
    'data_samples': {'targets': {}, 'metas': [meta]}}``, the meta holding
    ``warp_mat`` (and ``hand_side`` when given). ``image``, ``bbox`` and
    ``hand_side`` as for :func:`inference`, with the same errors.
    """
    results = _load(image)
    if bbox is not None:
        results['bbox'] = _check_bbox(bbox, results['img'].shape)
    if hand_side is not None:
        if hand_side not in HAND_SIDES:
            raise ValueError(f'inference: hand_side must be one of '
                             f'{HAND_SIDES}, got {hand_side!r}')
        results['hand_side'] = hand_side
    input_size = model_input_size(model)
    # a one-side model (DetNet, Boukhayma) gets the other side mirrored, as
    # its test pipeline does, when the side is given; the estimator mirrors
    # the 3D prediction back
    steps = (HandCrop(mode='image' if bbox is None else 'bbox',
                      padding=BBOX_PADDING),
             TopdownAffine(input_size=input_size,
                           mirror_side=model_mirror_side(model)),
             PackHandInputs())
    for step in steps:
        results = step.transform(results)
    with torch.no_grad():
        return model.data_preprocessor(hand_collate([results]), False)


def inference(model: nn.Module, image: Union[str, np.ndarray],
              bbox: Optional[Sequence[float]] = None,
              hand_side: Optional[str] = None) -> dict:
    """Estimate the 21 keypoints of one hand.

    Args:
        model: from :func:`init_model` (``model.cfg`` gives the input size).
        image: an image file path, or a BGR uint8 (H, W, 3) array.
        bbox: None to use the whole image, padded to a square (the
            OneHand10K protocol, ``HandCrop(mode='image')``); or the hand box
            (x1, y1, x2, y2) in image pixels, from which a square of
            ``BBOX_PADDING`` (1.25) x its longer side, centred on it, is
            cropped (``HandCrop(mode='bbox', padding=1.25)``).
        hand_side: 'left' or 'right', for models that take the hand side
            as an input (Zimmermann & Brox's PosePrior); None otherwise.

    Returns:
        dict: ``keypoints`` float32 (21, 2) in image pixels, ``scores``
        float32 (21,), ``warp_mat`` float32 (2, 3) (image -> network input
        pixels), ``input_size`` (W, H), and the maps the model predicts,
        float32 (C, h, w) over the network input: ``structure_maps``
        (NSRM's sigmoid limb-group masks) and / or ``heatmaps`` (KCM).
        A 3D model adds its 3D outputs under the head's names, float32:
        ``keypoints_3d`` (21, 3) mm (wrist-relative for the RGB models),
        and e.g. ``keypoints_3d_normalized`` (DetNet, PosePrior) or
        ``bones`` (ResUnet's bone tree).

    Raises:
        FileNotFoundError: the image file does not exist.
        ValueError: the file is not an image, the array is not BGR uint8,
            or the bbox is malformed or lies outside the image.
    """
    data = prepare_inputs(model, image, bbox, hand_side)
    with torch.no_grad():
        prediction = model(**data, mode='predict', output_maps=True)[0]
    output = dict(
        keypoints=np.asarray(prediction['pred_keypoints'], np.float32),
        scores=np.asarray(prediction['pred_scores'], np.float32),
        warp_mat=np.asarray(prediction['warp_mat'], np.float32),
        input_size=tuple(prediction['input_size']))
    for key in MAP_KEYS:
        if key in prediction:
            output[key] = np.asarray(prediction[key], np.float32)
    for key, value in prediction.items():
        if key.startswith('pred_') and key not in _2D_KEYS:
            output[key[len('pred_'):]] = np.asarray(value, np.float32)
    return output


def detect_hand(seg_model: nn.Module,
                image: Union[str, np.ndarray]) -> dict:
    """Zimmermann & Brox's detection step: HandSegNet's hand box.

    The whole image goes through the model's test-time steps (as
    :func:`prepare_inputs` without a box: padded to a square, resized to
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
    input_size = model_input_size(seg_model)
    if input_size[0] != input_size[1]:
        raise ValueError(f'detect_hand: the model\'s input size {input_size} '
                         f'is not square; the crop of crop_from_hand_mask is '
                         f'a square of input pixels only on a square input')
    data = prepare_inputs(seg_model, image)
    with torch.no_grad():
        prediction = seg_model(**data, mode='predict', output_maps=True)[0]
    if 'pred_hand_crop_center' not in prediction:
        given = sorted(key for key in prediction if key.startswith('pred_'))
        raise ValueError(f'detect_hand: the model predicts no hand mask '
                         f'(its outputs are {given}); give it a HandSegNet '
                         f'model, e.g. configs/zimmermann/handsegnet_rhd.py')
    warp_mat = np.asarray(prediction['warp_mat'], np.float32)
    to_image = invert_affine(warp_mat)
    centre = apply_affine(np.asarray(prediction['pred_hand_crop_center'],
                                     np.float32)[None], to_image)[0]
    # the square input's scale: image pixels per input pixel
    scale = float(np.sqrt(abs(np.linalg.det(to_image[:, :2]))))
    crop_size = float(prediction['pred_hand_crop_size']) * scale
    half = crop_size / BBOX_PADDING / 2
    return dict(
        bbox=np.concatenate([centre - half, centre + half]).astype(
            np.float32),
        crop_center=centre.astype(np.float32), crop_size=crop_size,
        found=bool(np.asarray(prediction['pred_hand_mask']).any()),
        hand_probability=np.asarray(prediction['hand_maps'],
                                    np.float32)[0],
        warp_mat=warp_mat)


def inverse_kinematics(iknet_model: nn.Module, result: dict,
                       hand_side: str = 'right',
                       rest_pose: Optional[np.ndarray] = None) -> dict:
    """Zhou et al.'s IKNet on the 3D joints of an :func:`inference` result.

    The joints ``result['keypoints_3d']`` (any unit and root: DetNet's mm
    relative to the middle MCP) go to IKNet's units with
    ``LocationMap.normalize`` (relative to the middle MCP, in wrist ->
    middle-MCP bones), the units ``tools/train_iknet.py`` trains in; for
    DetNet that is its read-out ``keypoints_3d_normalized``, re-rooted and
    re-scaled to exactly one bone as IKNet's training joints are. The
    joints must be in the camera frame, as IKNet's training joints are.

    Args:
        iknet_model: an ``IKNet`` from :func:`init_model` on
            ``configs/zhou/iknet_synthetic.py`` and its ``iknet.pth``.
        result: from :func:`inference` with a 3D model (DetNet).
        hand_side: 'right' or 'left': the hand's side. It picks the rest
            pose when ``rest_pose`` is None (IKNet tells the side from it);
            for a one-side IKNet (``hand_side='left'``, the released
            model's) a hand of the other side is mirrored in (camera x
            negated, joints and rest pose) and its rotations and posed rest
            pose mirrored back, as minimal-hand flips right hands.
        rest_pose: the hand's joints (21, 3) with every joint angle 0, in
            the hand frame of ``handkit.datasets.synthetic.hand_model`` (x
            toward the thumb, y wrist -> middle finger, z out of the palm;
            mirrored in x for a left hand), any unit. None: the reference
            hand's (``joint_rotations.reference_rest_pose``), the centre
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
