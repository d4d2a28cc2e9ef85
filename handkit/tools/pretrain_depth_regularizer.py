"""Pre-train a config's depth regulariser on ground-truth joints.

``python tools/pretrain_depth_regularizer.py CONFIG [--work-dir DIR]
[--cfg-options ...]``

Cai et al. (ECCV 2018) train the depth regulariser (3D joints -> depth map)
together with the pose network, and anchor it with fully-labelled data
(their synthetic RHD) next to the weakly-labelled real set. Without any 3D
label the regulariser and the regression could agree on any code for the
joints; one anchor for a run with no 3D labels (docs/cai.md: the ablation
``cai_depth2d_frozen_regularizer_synthetic.py``, which it does not pin
down) is this tool: the regulariser alone learns ground-truth joints ->
depth map on *other* samples (``depth_pretraining.dataset`` overrides the
config's training set, e.g. another seed of the synthetic hands: a
disjoint set), then the weakly-supervised config loads it (``load_from``)
and keeps it frozen (``frozen=True``), so that the joints it is fed must
mean joints.

The config's ``depth_pretraining`` holds ``head`` (the name of the head
owning the regulariser), ``dataset`` (overrides of
``train_dataloader.dataset``), ``steps``, ``batch_size``, ``lr`` and
``val_fraction`` (the share of those samples held out to report the L1).
The tool writes ``<work_dir>/depth_regularizer.pth``, a checkpoint of the
regulariser's weights under their names in the whole model (so
``load_from`` fills them in and leaves the rest to training), and prints the
held-out L1 before and after, next to predicting the mean depth map.
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

from handkit.engine.cli import (add_config_args, check_labels,
                                check_fresh_work_dir,
                                check_writable_dir, default_work_dir,
                                load_cli_config, user_errors_exit)
from handkit.engine.config import ConfigError
from handkit.fileio import atomic_output
from handkit.registry import DATASETS, MODELS

PRETRAINING_KEYS = ('head', 'dataset', 'steps', 'batch_size', 'lr',
                    'val_fraction')
TARGETS = ('joints_3d', 'depth_map', 'depth_weight')


def collect_targets(dataset) -> Dict[str, torch.Tensor]:
    """The regulariser's inputs and targets of every sample, stacked:
    ``joints_3d`` (N, 21, 3), ``depth_map`` (N, H, W), ``depth_weight``
    (N, 1)."""
    stacks = {name: [] for name in TARGETS}
    for index in range(len(dataset)):
        targets = dataset[index]['data_samples']['targets']
        for name in TARGETS:
            if name not in targets:
                raise ConfigError(
                    f"pretrain_depth_regularizer: the training pipeline "
                    f"gives no targets['{name}'] (it needs the "
                    f'NormalizedPose3D and NormalizedDepthMap codecs); it '
                    f'gives {sorted(targets)}')
            stacks[name].append(torch.as_tensor(targets[name]))
    return {name: torch.stack(values).float()
            for name, values in stacks.items()}


def held_out_l1(regularizer, loss, data, indices) -> float:
    regularizer.eval()
    with torch.no_grad():
        return float(loss(regularizer(data['joints_3d'][indices]),
                          data['depth_map'][indices],
                          data['depth_weight'][indices]))


def fit(regularizer, loss, data, train_indices, steps: int,
        batch_size: int, lr: float, seed: int = 0) -> List[float]:
    """Adam with a cosine decay to lr / 100 on random batches; returns
    the loss of each step."""
    optimizer = torch.optim.Adam(regularizer.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, steps, eta_min=lr / 100)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    regularizer.train()
    for _ in range(steps):
        batch = train_indices[torch.randint(
            len(train_indices), (batch_size, ), generator=generator)]
        value = loss(regularizer(data['joints_3d'][batch]),
                     data['depth_map'][batch], data['depth_weight'][batch])
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(value.detach()))
    return losses


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pre-train the depth regulariser of a Cai et al. '
        'config on ground-truth joints')
    add_config_args(
        parser, config_help='a config with depth_pretraining, e.g. '
        'configs/cai/cai_depth2d_frozen_regularizer_synthetic.py',
        work_dir_help='where depth_regularizer.pth goes (default '
        'work_dirs/<config name>_regularizer)',
        cfg_options_example='depth_pretraining.steps=100')
    return parser.parse_args(argv)


def _check_config(cfg: Config, path: str) -> dict:
    """The config's ``depth_pretraining``, or a one-line ConfigError."""
    settings = cfg.get('depth_pretraining')
    if settings is None:
        raise ConfigError(f'{path}: no depth_pretraining section (see '
                          f'configs/cai/'
                          f'cai_depth2d_frozen_regularizer_synthetic.py)')
    missing = [key for key in PRETRAINING_KEYS if key not in settings]
    if missing:
        raise ConfigError(f'{path}: depth_pretraining needs {missing[0]} '
                          f'(it has {sorted(settings)})')
    heads = cfg.model.get('heads', {})
    head = heads.get(settings['head']) if isinstance(heads, dict) else None
    if not head or not head.get('depth_regularizer'):
        raise ConfigError(f"{path}: depth_pretraining.head "
                          f"{settings['head']!r} names no head with a "
                          f'depth_regularizer')
    return settings


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    with user_errors_exit():
        cfg = load_cli_config(args)
        settings = _check_config(cfg, args.config)
        work_dir = args.work_dir or default_work_dir(args.config,
                                                     '_regularizer')
        check_writable_dir(work_dir)
        check_fresh_work_dir(work_dir, hint='choose another --work-dir')
        init_default_scope(cfg.get('default_scope', 'handkit'))
        dataset_cfg = cfg.train_dataloader.dataset
        dataset_cfg.update(settings['dataset'])
        dataset = DATASETS.build(dataset_cfg)
        check_labels(cfg, 'train_dataloader', dataset,
                     dataset.pipeline.transforms)
    # The regulariser learns here, whatever the config says for training.
    cfg.model.heads[settings['head']].depth_regularizer.frozen = False
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    head = model.heads[model.head_names.index(settings['head'])]
    regularizer, loss = head.depth_regularizer, head.depth_loss
    start = time.perf_counter()
    data = collect_targets(dataset)
    order = torch.randperm(len(dataset),
                           generator=torch.Generator().manual_seed(0))
    num_val = max(1, int(round(settings['val_fraction'] * len(dataset))))
    val, train = order[:num_val], order[num_val:]
    before = held_out_l1(regularizer, loss, data, val)
    mean_map = data['depth_map'][train].mean(0, keepdim=True)
    mean_l1 = float(loss(mean_map.expand(num_val, -1, -1),
                         data['depth_map'][val], data['depth_weight'][val]))
    losses = fit(regularizer, loss, data, train, settings['steps'],
                 settings['batch_size'], settings['lr'])
    after = held_out_l1(regularizer, loss, data, val)
    seconds = time.perf_counter() - start
    prefix = next(name for name, module in model.named_modules()
                  if module is regularizer)
    state_dict = {f'{prefix}.{key}': value for key, value in
                  regularizer.state_dict().items()}
    metrics = dict(val_l1_before=before, val_l1_after=after,
                   val_l1_mean_map=mean_l1, train_loss_first=losses[0],
                   train_loss_last=float(np.mean(losses[-50:])))
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'depth_regularizer.pth')
    with atomic_output(path) as temporary:
        torch.save(dict(state_dict=state_dict, meta=dict(metrics)),
                   temporary)
    print(f"trained {settings['steps']} steps on {len(train)} samples in "
          f'{seconds:.0f} s; wrote {path}')
    print(f'held-out L1 ({num_val} samples): {before:.4f} untrained -> '
          f'{after:.4f}; the mean depth map: {mean_l1:.4f}')
    return metrics
