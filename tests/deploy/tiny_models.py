"""Tiny models of each family for the deployment tests: the shipped CPU
configs narrowed further, with weights that give non-trivial outputs."""
from pathlib import Path

import torch
from torch import nn

from handkit.apis import init_model

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / 'tests' / 'data' / 'onehand10k_coco' / '9.jpg'

# One tiny model per family: (config, overrides narrowing it further, the
# gain of scramble() that gives outputs of the size a trained model has).
FAMILIES = {
    'nsrm': ('configs/quickstart/nsrm_lpm_g1g6_synthetic.py', dict(
        model=dict(backbone=dict(width_multiplier=0.125, out_channels=16),
                   heads=dict(structure=dict(in_channels=16,
                                             stage_channels=8),
                              keypoints=dict(in_channels=16,
                                             stage_channels=8)))), 0.3),
    'cpm': ('configs/quickstart/cpm_synthetic.py', dict(
        model=dict(backbone=dict(width_multiplier=0.125, out_channels=16),
                   heads=dict(keypoints=dict(in_channels=16,
                                             stage_channels=8,
                                             num_stages=3)))), 0.3),
    'resunet_bone_tree': (
        'configs/resunet/resunet34_lhr_bonetree_synthetic.py', {}, 1.0),
    'detnet': ('configs/zhou/detnet_synthetic.py', dict(
        model=dict(backbone=dict(width_multiplier=0.125, out_channels=16),
                   heads=dict(heatmaps=dict(in_channels=16),
                              deltas=dict(in_channels=16),
                              locations=dict(in_channels=16)))), 1.0),
    'cai': ('configs/cai/cai_synthetic.py', dict(
        model=dict(backbone=dict(width_multiplier=0.125, out_channels=16),
                   heads=dict(keypoints2d=dict(in_channels=16,
                                               stage_channels=8),
                              pose3d=dict(in_channels=16, conv_channels=8,
                                          fc_channels=32)))), 1.0),
    'zimmermann_brox': ('configs/zimmermann/posenet_poseprior_synthetic.py',
                        dict(model=dict(
                            backbone=dict(width_multiplier=0.5),
                            heads=dict(keypoints=dict(hidden_channels=16,
                                                      stage_channels=8)))),
                        0.3),
    'handsegnet': ('configs/zimmermann/handsegnet_synthetic.py', dict(
        model=dict(backbone=dict(width_multiplier=0.5),
                   heads=dict(segmentation=dict(hidden_channels=16)))), 1.0),
    'hourglass_local_regression': (
        'configs/hourglass/local_regression_synthetic_depth.py', dict(
            model=dict(backbone=dict(channels=16),
                       heads=dict(joints=dict(in_channels=16)))), 1.0),
}


def dotted(options, prefix=''):
    """Nested overrides -> ``{'a.b.c': value}``, as ``cfg_options``."""
    items = {}
    for key, value in options.items():
        if isinstance(value, dict):
            items.update(dotted(value, f'{prefix}{key}.'))
        else:
            items[f'{prefix}{key}'] = value
    return items


def flat_options(options):
    """Nested overrides -> ``--cfg-options key=value ...`` (or nothing)."""
    items = [f'{key}={value}' for key, value in dotted(options).items()]
    return ['--cfg-options', *items] if items else []


def scramble(model, gain, seed=0):
    """``gain`` x He-normal weights for the layers initialised near zero
    (the last layers of the CPM stages), outputs O(1), and a sharp LHR
    soft-argmax
    (the initial one is uniform over the map), without which every output
    would be near constant and any parity trivial; batch-norm statistics
    away from (0, 1), so that their folding is checked too."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                he_std = (2.0 / module.weight[0].numel()) ** 0.5
                if float(module.weight.std()) < 0.1 * he_std:
                    module.weight.copy_(torch.randn(
                        module.weight.shape, generator=generator) *
                        gain * he_std)
            if isinstance(getattr(module, 'beta', None), nn.Parameter):
                module.beta.fill_(300.0)
            if isinstance(module, nn.BatchNorm2d):
                size = module.running_mean.shape
                module.running_mean.copy_(
                    0.1 * torch.randn(size, generator=generator))
                module.running_var.copy_(
                    torch.rand(size, generator=generator) + 0.5)
    return model


def tiny_model(family):
    """The tiny model of ``family``, initial weights (seeded)."""
    config, options, _ = FAMILIES[family]
    torch.manual_seed(0)
    return init_model(str(ROOT / config), cfg_options=dotted(options))


def tiny_checkpoint(family, path):
    """The scrambled tiny model of ``family``, saved as a handkit
    checkpoint at ``path``."""
    model = scramble(tiny_model(family), FAMILIES[family][2])
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()},
               path)
    return model


def write_tiny_config(family, path):
    """A config file of the tiny model of ``family`` (for the tools that
    take no ``--cfg-options``)."""
    config, options, _ = FAMILIES[family]
    lines = [f"_base_ = ['{ROOT / config}']"]
    lines += [f'{key} = {value!r}' for key, value in options.items()]
    path.write_text('\n'.join(lines) + '\n')
    return path
