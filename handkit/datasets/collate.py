"""hand_collate: the data loaders' one collate function.

The batch-level counterpart of ``PackHandInputs`` (docs/architecture.md
sections 2-3): a list of packed samples becomes one batch with the images
and every target stacked and the metas kept as a list of per-sample dicts,
so that nothing downstream (the data preprocessor, hooks, ``inference``)
has to take a collated batch apart again. Every loader of handkit's configs
sets ``collate_fn=dict(type='handkit.hand_collate')``: mmengine looks a
collate function up in its root ``FUNCTIONS`` registry without the config's
default scope, hence the scope in the name.
"""
from typing import Dict, List, Sequence

import torch

from handkit.registry import FUNCTIONS


@FUNCTIONS.register_module()
def hand_collate(samples: Sequence[dict]) -> Dict[str, object]:
    """Batch packed samples.

    Args:
        samples: ``PackHandInputs`` outputs, ``{'inputs': (C, H, W) tensor,
            'data_samples': {'targets': {name: tensor}, 'meta': dict}}``.

    Returns:
        ``{'inputs': (B, C, H, W) tensor of the samples' dtype,
        'data_samples': {'targets': {name: (B, ...) tensor}, 'metas':
        [meta, ...]}}``.

    Raises:
        ValueError: no samples, images of different shapes, or samples
            carrying different targets (naming the sample and the keys).
    """
    if len(samples) == 0:
        raise ValueError('hand_collate: got no samples to batch')
    shapes = sorted({tuple(sample['inputs'].shape) for sample in samples})
    if len(shapes) != 1:
        raise ValueError(f'hand_collate: inputs of one batch must share a '
                         f'shape, got {shapes}')
    inputs = torch.stack([sample['inputs'] for sample in samples])
    names = samples[0]['data_samples']['targets'].keys()
    for index, sample in enumerate(samples):
        found = sample['data_samples']['targets'].keys()
        if found != names:
            raise ValueError(
                f'hand_collate: sample {index} has targets {sorted(found)}, '
                f'sample 0 has {sorted(names)}')
    targets = {
        name: torch.stack([torch.as_tensor(
            sample['data_samples']['targets'][name]) for sample in samples])
        for name in names}
    metas: List[dict] = [sample['data_samples']['meta'] for sample in samples]
    return {'inputs': inputs,
            'data_samples': {'targets': targets, 'metas': metas}}
