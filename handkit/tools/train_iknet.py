"""Train and evaluate Zhou et al.'s IKNet on the synthetic hand's rotations.

``python tools/train_iknet.py configs/zhou/iknet_synthetic.py [--work-dir
DIR] [--cfg-options ...] [--speed]``

IKNet (Zhou et al., CVPR 2020, Section 4.2) learns joint rotations from 3D
joints. The paper supervises it with MANO fits of MoCap data; here the
procedural hand supplies joints, rest poses and the rotations of its own
forward kinematics (``handkit.datasets.synthetic.joint_rotations``), drawn
afresh from a seed (no images, no cache). The config holds ``model`` (an
``IKNet``), ``data`` (``num_train``, ``num_val``, ``seed`` and the
sampler's ``left_ratio``, ``pose_mix``, ``max_view_angle``) and ``train``
(``steps``, ``batch_size``, ``lr``, ``min_lr``, ``log_interval``): Adam with
a cosine decay from ``lr`` to ``min_lr``, random batches.

It writes ``<work_dir>/iknet.pth`` (the state dict; load it with
``handkit.engine.checkpoint.load_weights_into``) and prints, on the
validation hands: the rotation error (degrees, mean and median over every
joint) next to that of predicting the mean training rotation of each joint,
and the EPE (mm) of the rest pose turned by the predicted rotations; with
``--speed``, parameters, MACs and frames per second (batch 1 and 32).
"""
import argparse
import os
import os.path as osp
import time
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.codecs.location_map import LocationMap
from handkit.datasets.synthetic.joint_rotations import sample_ik_hands
from handkit.engine.cli import (add_config_args, check_fresh_work_dir,
                                check_writable_dir,
                                default_work_dir, load_cli_config,
                                user_errors_exit)
from handkit.engine.config import ConfigError
from handkit.evaluation.complexity import complexity_report, format_complexity
from handkit.evaluation.functional3d import rotation_errors_deg
from handkit.fileio import atomic_output
from handkit.models.ik import IKNet, quaternion_to_matrix, rotate_rest_pose
from handkit.registry import MODELS

DATA_KEYS = ('num_train', 'num_val', 'seed')
TRAIN_KEYS = ('steps', 'batch_size', 'lr', 'min_lr', 'log_interval')
SAMPLER_KEYS = ('left_ratio', 'pose_mix', 'max_view_angle')


def ik_data(num: int, seed: int, split: int,
            **sampler) -> Dict[str, torch.Tensor]:
    """IKNet's tensors for ``num`` synthetic hands of one split.

    Joints and rest poses in DetNet's units (``LocationMap.normalize``:
    relative to the middle MCP, in wrist -> middle-MCP bones). ``split``
    (0 train, 1 validation) gives the splits independent streams of ``seed``.

    Returns float32 tensors ``joints`` and ``rest_joints`` (N, 21, 3),
    ``quaternions`` (N, 21, 4) and ``bone_mm`` (N,), the wrist -> middle-MCP
    length that turns the units back into mm.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed,
                                                       spawn_key=(split, )))
    hands = sample_ik_hands(rng, num, **sampler)
    codec = LocationMap()
    tensors = dict(
        joints=codec.normalize(hands['keypoints_3d']),
        rest_joints=codec.normalize(hands['rest_keypoints_3d']),
        quaternions=hands['quaternions'],
        bone_mm=codec.reference_length(hands['keypoints_3d']))
    return {name: torch.as_tensor(value, dtype=torch.float32)
            for name, value in tensors.items()}


def fit(model: IKNet, data: Dict[str, torch.Tensor], steps: int,
        batch_size: int, lr: float, min_lr: float = 1e-5,
        log_interval: int = 0, seed: int = 0) -> List[Dict[str, float]]:
    """Adam with a cosine decay on random batches; returns the losses of
    every ``log_interval``-th step (printed; none with 0)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, max(steps, 1), eta_min=min_lr)
    inputs = model.pack_inputs(data['joints'], data['rest_joints'])
    model.train()
    logged = []
    for step in range(steps):
        index = torch.randint(0, len(inputs), (min(batch_size,
                                                   len(inputs)), ),
                              generator=generator)
        losses = model.loss(model(inputs[index]), data['quaternions'][index],
                            data['joints'][index],
                            data['rest_joints'][index])
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
        schedule.step()
        if log_interval and (step % log_interval == 0 or step == steps - 1):
            values = {name: float(value.detach())
                      for name, value in losses.items()}
            logged.append(dict(step=step + 1, **values))
            print(f'step {step + 1}/{steps}  ' + '  '.join(
                f'{name} {value:.4f}' for name, value in values.items()),
                flush=True)
    return logged


def evaluate(model: IKNet, data: Dict[str, torch.Tensor],
             mean_quaternions: Optional[torch.Tensor] = None
             ) -> Dict[str, float]:
    """Rotation errors (degrees) and the EPE (mm) of the rest pose turned
    by the predicted rotations, on ``data``; with ``mean_quaternions``
    (21, 4) also the errors of predicting them for every hand."""
    model.eval()
    predicted = model.predict(data['joints'], data['rest_joints'])
    errors = rotation_errors_deg(predicted.numpy(),
                                 data['quaternions'].numpy())
    posed = rotate_rest_pose(quaternion_to_matrix(predicted),
                             data['rest_joints'])
    target = data['joints'] - data['joints'][:, :1]
    epe_mm = ((posed - target).norm(dim=-1)
              * data['bone_mm'][:, None]).mean()
    metrics = dict(rotation_error_deg=float(errors.mean()),
                   rotation_error_median_deg=float(np.median(errors)),
                   fk_epe_mm=float(epe_mm))
    if mean_quaternions is not None:
        metrics['rotation_error_mean_rotation_deg'] = float(
            rotation_errors_deg(np.broadcast_to(
                mean_quaternions.numpy(), errors.shape + (4, )),
                data['quaternions'].numpy()).mean())
    return metrics


def mean_rotations(quaternions: torch.Tensor) -> torch.Tensor:
    """(21, 4): each joint's mean training quaternion, normalised (the
    mean-rotation baseline)."""
    mean = quaternions.mean(0)
    return mean / mean.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train Zhou et al.'s IKNet on synthetic hand rotations")
    add_config_args(
        parser,
        config_help='IKNet config, e.g. configs/zhou/iknet_synthetic.py',
        work_dir_help='where iknet.pth goes (default work_dirs/<config '
        'name>)', cfg_options_example='train.steps=100')
    parser.add_argument('--speed', action='store_true',
                        help='also print parameters, MACs and FPS')
    return parser.parse_args(argv)


def _check_ik_config(cfg: Config, path: str) -> None:
    """One-line :class:`ConfigError` unless ``cfg`` is an IKNet config."""
    for section, keys in (('data', DATA_KEYS), ('train', TRAIN_KEYS)):
        missing = [key for key in keys if key not in cfg.get(section, {})]
        if missing:
            raise ConfigError(f'{path}: an IKNet config needs '
                              f'{section}.{missing[0]} (it has '
                              f'{sorted(cfg.get(section, {}))})')
    if cfg.get('model', {}).get('type') != 'IKNet':
        raise ConfigError(f"{path}: model.type must be 'IKNet', got "
                          f"{cfg.get('model', {}).get('type')!r}")
    side = cfg.model.get('hand_side')
    if side is not None and 'left_ratio' in cfg.data and \
            cfg.data.left_ratio != float(side == 'left'):
        raise ConfigError(f'{path}: data.left_ratio={cfg.data.left_ratio} '
                          f'contradicts model.hand_side={side!r} (a one-side '
                          f'IKNet trains on {side} hands only); drop '
                          'data.left_ratio or set model.hand_side=None')


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    with user_errors_exit():
        cfg = load_cli_config(args)
        _check_ik_config(cfg, args.config)
        work_dir = args.work_dir or default_work_dir(args.config)
        check_writable_dir(work_dir)
        check_fresh_work_dir(work_dir, hint='choose another --work-dir')
    init_default_scope(cfg.get('default_scope', 'handkit'))
    torch.manual_seed(cfg.data.seed)
    model = MODELS.build(cfg.model)
    sampler = {key: cfg.data[key] for key in SAMPLER_KEYS
               if key in cfg.data}
    if model.hand_side is not None:
        # a one-side model (the released IKNet: left) learns that side only
        sampler['left_ratio'] = float(model.hand_side == 'left')
    start = time.perf_counter()
    train = ik_data(cfg.data.num_train, cfg.data.seed, 0, **sampler)
    val = ik_data(cfg.data.num_val, cfg.data.seed, 1, **sampler)
    fit(model, train, cfg.train.steps, cfg.train.batch_size, cfg.train.lr,
        cfg.train.min_lr, cfg.train.log_interval, cfg.data.seed)
    seconds = time.perf_counter() - start
    metrics = evaluate(model, val, mean_rotations(train['quaternions']))
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'iknet.pth')
    with atomic_output(path) as temporary:
        torch.save(dict(state_dict=model.state_dict(), meta=dict(metrics)),
                   temporary)
    print(f'trained {cfg.train.steps} steps in {seconds:.0f} s; wrote {path}')
    print(f"validation ({cfg.data.num_val} hands): rotation error "
          f"{metrics['rotation_error_deg']:.2f} deg (median "
          f"{metrics['rotation_error_median_deg']:.2f}), mean rotation "
          f"{metrics['rotation_error_mean_rotation_deg']:.2f} deg; EPE of "
          f"the rotated rest pose {metrics['fk_epe_mm']:.2f} mm")
    if args.speed:
        print(format_complexity(complexity_report(
            model, (4 * model.num_joints, 3))))
    return metrics
