"""One training step, shared by ``bench_train_step.py`` and
``profile_train_step.py``.

* :data:`SWITCHES`: handkit's speed switches, each a config option with its
  "off" and "on" values; :func:`variant_config` applies a set of them.
* :func:`build_training`: the model, the optimiser wrapper and
  ``torch.compile`` built as mmengine's Runner builds them, and a step that
  is ``model.train_step(batch, optim_wrapper)``, what the Runner calls.
* :func:`config_batches`: real batches from the config's training pipeline
  (crop, warp, target codecs, packing, ``hand_collate``); a config whose
  dataset is not on this machine (Panoptic, OneHand10K) gets the same
  pipeline on handkit's synthetic hands.
* :func:`official_training`: the NSRM authors' model (``CPMHandLimb``, or
  ``CPMHand`` for CPM) imported from a checkout of their repository, trained
  as their ``main.py`` trains it. Nothing of their code is copied here.
"""
import copy
import importlib.util
import random
import sys
import time
import types
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from torch import nn

# name -> (options with the switch off, options with it on). Every handkit
# config runs as it states these; a benchmark variant turns some on and the
# rest off, so that 'fp32' (none on) is the paper's float32 step.
SWITCHES: Dict[str, Tuple[dict, dict]] = {
    'channels_last': ({'model.data_preprocessor.channels_last': False},
                      {'model.data_preprocessor.channels_last': True}),
    # bfloat16 autocast: CUDA, or a CPU with native bfloat16 (else float32)
    'bf16': ({'optim_wrapper.type': 'OptimWrapper'},
             {'optim_wrapper.type': 'AutocastOptimWrapper'}),
    # float16 with dynamic loss scaling, what tools/train.py --amp sets (CUDA)
    'fp16': ({}, {'optim_wrapper.type': 'AmpOptimWrapper',
                  'optim_wrapper.loss_scale': 'dynamic'}),
    'foreach_adam': ({'optim_wrapper.optimizer.foreach': None},
                     {'optim_wrapper.optimizer.foreach': True}),
    'fused_adam': ({'optim_wrapper.optimizer.fused': None},
                   {'optim_wrapper.optimizer.fused': True}),
    # mmengine's Runner compiles model.train_step when cfg.compile is set
    # (tools/train.py --compile)
    'compile': ({'compile': False}, {'compile': True}),
    'cudnn_benchmark': ({'env_cfg.cudnn_benchmark': False},
                        {'env_cfg.cudnn_benchmark': True}),
}
CUDA_ONLY = ('fp16', 'cudnn_benchmark')


def parse_variant(name: str) -> List[str]:
    """'fp32' -> [], 'bf16+channels_last' -> ['bf16', 'channels_last']."""
    if name == 'fp32':
        return []
    switches = name.split('+')
    unknown = [switch for switch in switches if switch not in SWITCHES]
    if unknown:
        raise ValueError(f'unknown speed switch {unknown[0]!r} in variant '
                         f"{name!r}; known: fp32, {', '.join(SWITCHES)} "
                         "(join several with '+')")
    if {'bf16', 'fp16'} <= set(switches):
        raise ValueError(f'variant {name!r}: bf16 and fp16 exclude each '
                         'other')
    return switches


def variant_config(cfg: Config, switches: Sequence[str]) -> Config:
    """A copy of ``cfg`` with ``switches`` on and every other one off."""
    cfg = copy.deepcopy(cfg)
    for name, (off, on) in SWITCHES.items():
        cfg.merge_from_dict(on if name in switches else off)
    return cfg


def switches_on(cfg: Config) -> List[str]:
    """The switches a config turns on itself."""
    flat = {'model.data_preprocessor.channels_last': cfg.model.get(
                'data_preprocessor', {}).get('channels_last', False),
            'optim_wrapper.type': cfg.optim_wrapper.get('type',
                                                        'OptimWrapper'),
            'optim_wrapper.optimizer.foreach': cfg.optim_wrapper.optimizer
            .get('foreach'),
            'optim_wrapper.optimizer.fused': cfg.optim_wrapper.optimizer.get(
                'fused'),
            'compile': cfg.get('compile', False),
            'env_cfg.cudnn_benchmark': cfg.get('env_cfg', {}).get(
                'cudnn_benchmark', False)}
    return [name for name, (_, on) in SWITCHES.items()
            if all(flat.get(key) == value for key, value in on.items())]


def build_training(cfg: Config, device: str
                   ) -> Tuple[nn.Module, object, Callable[[dict], dict]]:
    """Model, optimiser wrapper and ``step(batch) -> log_vars``, built as
    mmengine's Runner builds them (``build_optim_wrapper``; ``cfg.compile``
    compiles ``model.train_step``; ``env_cfg.cudnn_benchmark``)."""
    init_default_scope(cfg.get('default_scope', 'handkit'))
    from handkit.registry import MODELS
    model = MODELS.build(cfg.model).to(device)
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    compile_cfg = cfg.get('compile', False)
    if compile_cfg:
        model.train_step = torch.compile(
            model.train_step,
            **({} if compile_cfg is True else dict(compile_cfg)))
    benchmark = bool(cfg.get('env_cfg', {}).get('cudnn_benchmark', False))

    def step(batch: dict) -> dict:
        torch.backends.cudnn.benchmark = benchmark
        return model.train_step(batch, wrapper)
    return model, wrapper, step


def iteration_schedulers(cfg: Config, wrapper) -> list:
    """The config's iteration-based LR schedulers (a warm-up), for a short
    loss curve; epoch-based ones are left out (constant over N steps)."""
    from mmengine.registry import PARAM_SCHEDULERS
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    return [PARAM_SCHEDULERS.build(dict(scheduler, optimizer=wrapper))
            for scheduler in schedulers
            if not scheduler.get('by_epoch', True)]


def _synthetic_dataset_cfg(cfg: Config, num_samples: int, seed: int) -> dict:
    dataset = copy.deepcopy(cfg.train_dataloader.dataset.to_dict())
    if dataset.get('type') != 'SyntheticHandDataset':
        # Panoptic / OneHand10K are not on this machine: the config's own
        # pipeline on synthetic hands, rendered at its input size; the
        # images come decoded, so the loading step is dropped.
        pipeline = dataset['pipeline']
        if isinstance(pipeline, dict):
            pipeline = {name: step for name, step in pipeline.items()
                        if step is None or step.get('type') != 'LoadImage'}
        else:
            pipeline = [step for step in pipeline
                        if step.get('type') != 'LoadImage']
        size = tuple(cfg.get('input_size', (368, 368)))
        dataset = dict(type='SyntheticHandDataset', image_size=size,
                       pipeline=pipeline)
    dataset.update(num_samples=num_samples, split='train', seed=seed,
                   cache_dir=None, test_mode=False)
    return dataset


def config_batches(cfg: Config, batch_size: int, count: int,
                   seed: int = 0) -> List[dict]:
    """``count`` batches of ``batch_size`` from the config's training
    pipeline, in order, the augmentation seeded."""
    init_default_scope(cfg.get('default_scope', 'handkit'))
    from handkit.datasets.collate import hand_collate
    from handkit.registry import DATASETS
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset = DATASETS.build(_synthetic_dataset_cfg(
        cfg, batch_size * count, seed))
    return [hand_collate([dataset[index] for index in range(
        start, start + batch_size)])
        for start in range(0, batch_size * count, batch_size)]


def timed(step: Callable, batch: dict, device: str) -> float:
    """Seconds of one ``step(batch)``, the device drained before and after.
    """
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step(batch)
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


# -- the official code -----------------------------------------------------

# VGG-19's convolution widths, 'M' a 2x2 max-pool of stride 2: configuration
# E of Simonyan and Zisserman, "Very Deep Convolutional Networks for
# Large-Scale Image Recognition" (ICLR 2015), Table 1; 3x3 convolutions of
# stride 1 and padding 1, each followed by a ReLU.
_VGG19_E = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512,
            512, 512, 'M', 512, 512, 512, 512, 'M')


class _VGG19Layout(nn.Module):
    """``.features`` of VGG-19 from the published layout, in place of
    torchvision's ``vgg19()`` when torchvision does not import."""

    def __init__(self) -> None:
        super().__init__()
        layers, channels = [], 3
        for width in _VGG19_E:
            if width == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, width, 3, padding=1),
                           nn.ReLU(inplace=True)]
                channels = width
        self.features = nn.Sequential(*layers)


def _vgg19(pretrained: bool = False, **kwargs) -> _VGG19Layout:
    if pretrained:
        raise ValueError('no ImageNet weights on this machine')
    return _VGG19Layout()


def _torchvision_note() -> str:
    """Import torchvision, or put the published VGG-19 layout in its place
    (only ``torchvision.models.vgg19`` is used by the official model)."""
    stand_in = getattr(sys.modules.get('torchvision'), 'stand_in_note', None)
    if stand_in:  # put in place by an earlier call
        return stand_in
    try:
        import torchvision.models  # noqa: F401
        return 'torchvision ' + sys.modules['torchvision'].__version__
    except Exception as error:  # a missing or mismatched torchvision
        for name in list(sys.modules):
            if name == 'torchvision' or name.startswith('torchvision.'):
                del sys.modules[name]
        package = types.ModuleType('torchvision')
        models = types.ModuleType('torchvision.models')
        models.vgg19 = _vgg19
        package.models = models
        package.stand_in_note = (
            f'torchvision does not import here ({type(error).__name__}: '
            f'{str(error).splitlines()[0][:60]}); its vgg19().features '
            'built from the published VGG-19 layout (same layer shapes)')
        sys.modules['torchvision'] = package
        sys.modules['torchvision.models'] = models
        return package.stand_in_note


def official_module_path(repo: str, nsrm: bool) -> Path:
    return Path(repo) / ('model/cpm_limb.py' if nsrm else 'CPM/cpm.py')


def _import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official_model(repo: str, limb_channels: Optional[int]
                   ) -> Tuple[nn.Module, str]:
    """The authors' model class, built as their ``main.py`` builds it:
    ``limb_channels`` None: CPM (``CPM/cpm.py``'s ``CPMHand(21)``); else
    NSRM (``model/cpm_limb.py``'s ``CPMHandLimb(outc=21,
    lshc=limb_channels)``). Returns it and a line on torchvision."""
    note = _torchvision_note()
    path = official_module_path(repo, limb_channels is not None)
    module = _import_file(path, 'nsrm_official_' + path.stem)
    if limb_channels is None:
        return module.CPMHand(21), note
    return module.CPMHandLimb(outc=21, lshc=limb_channels), note


def official_training(repo: str, limb_channels: Optional[int], device: str
                      ) -> Tuple[nn.Module, Callable[[dict], float], str]:
    """The authors' model and a step of their training loop.

    ``limb_channels`` None: CPM (``CPM/cpm.py``'s ``CPMHand``, 6 stages,
    the summed MSE of every stage); else NSRM (``model/cpm_limb.py``'s
    ``CPMHandLimb(outc=21, lshc=limb_channels)``). As their ``main.py``:
    Adam at lr 1e-4; the targets repeated for each stage; KCM loss
    ``MSE(reduction='sum') / (B * 46 * 46)`` over all stages; limb loss the
    summed binary cross-entropy of the sigmoid maps divided the same way,
    for G1&6 ``g1 + 0.2 * g6`` weighted by 0.1 (configs/LPM_G1_6.json);
    ``zero_grad``, ``backward``, ``step`` and ``.item()`` of the losses
    every step. Their data loader hands the model float images already
    normalised: the step takes ``batch['float_inputs']``.
    """
    model, note = official_model(repo, limb_channels)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step(batch: dict) -> float:
        image = batch['float_inputs']
        targets = batch['data_samples']['targets']
        heatmaps = targets['heatmaps']                     # (B, 21, 46, 46)
        batch_size, _, height, width = heatmaps.shape
        norm = batch_size * float(height * width)
        optimizer.zero_grad()
        if limb_channels is None:
            maps = model(image)                        # (B, 6, 21, 46, 46)
            loss = F.mse_loss(maps, torch.stack([heatmaps] * 6, 1),
                              reduction='sum') / norm
            loss.backward()
            optimizer.step()
            return loss.item()
        limbs, maps = model(image)          # (B, 3, C, ..), (B, 3, 21, ..)
        limb_target = torch.stack([targets['limb_masks']] * 3, 1)
        kcm = F.mse_loss(maps, torch.stack([heatmaps] * 3, 1),
                         reduction='sum') / norm
        if limb_channels == 1:
            limb = F.binary_cross_entropy(limbs, limb_target,
                                          reduction='sum') / norm
        else:
            limb = (F.binary_cross_entropy(
                limbs[:, :, 0], limb_target[:, :, 0], reduction='sum') +
                0.2 * F.binary_cross_entropy(
                    limbs[:, :, 1:], limb_target[:, :, 1:],
                    reduction='sum')) / norm
        total = 0.1 * limb + kcm
        total.backward()
        optimizer.step()
        kcm.item()
        return limb.item()
    return model, step, note


def official_batch(batch: dict, device: str) -> dict:
    """The handkit batch with the float, ImageNet-normalised RGB images
    the official loader gives (``ToTensor`` + ``Normalize``), on device."""
    from handkit.models.data_preprocessors import HandDataPreprocessor
    moved = HandDataPreprocessor().to(device)(batch, training=True)
    return dict(moved, float_inputs=moved['inputs'])


def limb_channels(cfg: Config) -> Optional[int]:
    """The structure head's channels (7 for G1&6), None without one (CPM).
    """
    from handkit.skeleton import LIMB_GROUPS
    heads = cfg.model.heads
    heads = heads.values() if isinstance(heads, dict) else heads
    for head in heads:
        if head is not None and head.get('type') == 'StructureMaskHead':
            return len(LIMB_GROUPS[head.get('groups', 'G1')])
    return None
