"""HandDataPreprocessor: batches packed hand samples on the model's device.

docs/architecture.md sections 2-3: uint8 BGR images cross the data loader;
stacking, the move to the device, BGR -> RGB and ImageNet normalisation (the
VGG-19 backbone is ImageNet-pretrained, NSRM Section 4.2) happen here, on the
whole batch. Depth crops arrive already normalised to [-1, 1] (float32,
1 channel; Li and Wang); ``mean=None, std=None, bgr_to_rgb=False`` then only
stacks and moves them.
"""
from collections.abc import Mapping
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from handkit.registry import MODELS


@MODELS.register_module()
class HandDataPreprocessor(BaseDataPreprocessor):
    """Stack, move, reorder and normalise a batch of packed samples.

    ``forward(data)`` takes a batch of :func:`~handkit.datasets.collate.
    hand_collate`, ``{'inputs': uint8 (B, 3, H, W), 'data_samples':
    {'targets': {name: (B, ...) tensor}, 'metas': [meta, ...]}}`` (or, for
    inference, the stacked inputs with ``data_samples`` None) and returns
    the same structure with float, normalised inputs and the targets on the
    model's device.

    Args:
        mean: per-channel mean subtracted, in RGB order when ``bgr_to_rgb``
            (ImageNet's by default); one value per input channel. None (with
            ``std=None``): no normalisation, inputs of any channel count are
            only stacked and cast to float (depth crops).
        std: per-channel standard deviation divided by, same order; None
            with ``mean=None``.
        bgr_to_rgb: reverse the channel order of the input (BGR -> RGB).
        channels_last: hand the model NHWC-strided inputs; convolutions then
            run in that memory format, about 12 % faster on a CPU with
            oneDNN (docs/training_on_cpu.md). ``CascadeEstimator`` keeps
            its weights in the same format. The values are the same.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = (123.675, 116.28, 103.53),
                 std: Optional[Sequence[float]] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 channels_last: bool = False) -> None:
        super().__init__()
        self.channels_last = channels_last
        if (mean is None) != (std is None):
            raise ValueError(f'mean and std must both be given or both be '
                             f'None, got mean={mean!r}, std={std!r}')
        self.bgr_to_rgb = bgr_to_rgb
        self.normalise = mean is not None
        if not self.normalise:
            return
        if len(mean) != len(std) or len(mean) == 0:
            raise ValueError(f'mean and std need one value per channel each, '
                             f'got mean={mean!r}, std={std!r}')
        if any(value <= 0 for value in std):
            raise ValueError(f'std values must be positive, got {std!r}')
        channels = len(mean)
        self.register_buffer(
            'mean', torch.tensor(mean, dtype=torch.float32).view(
                1, channels, 1, 1), persistent=False)
        self.register_buffer(
            'std', torch.tensor(std, dtype=torch.float32).view(
                1, channels, 1, 1), persistent=False)

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if not isinstance(inputs, torch.Tensor):
            shapes = {tuple(image.shape) for image in inputs}
            if len(shapes) != 1:
                raise ValueError(f'inputs of one batch must share a shape, '
                                 f'got {sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 4:
            raise ValueError(f'inputs must be (B, C, H, W) images, got shape '
                             f'{tuple(inputs.shape)}')
        if self.normalise and inputs.shape[1] != self.mean.shape[1]:
            raise ValueError(
                f'inputs must be (B, {self.mean.shape[1]}, H, W) images (one '
                f'channel per mean value), got shape {tuple(inputs.shape)}')
        inputs = self.cast_data(inputs).float()
        if self.bgr_to_rgb:
            inputs = inputs.flip(1)
        if self.normalise:
            inputs = (inputs - self.mean) / self.std
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)

        samples = data.get('data_samples')
        if samples is None:
            return {'inputs': inputs,
                    'data_samples': {'targets': {}, 'metas': []}}
        if not (isinstance(samples, Mapping)
                and {'targets', 'metas'} <= set(samples)):
            raise ValueError(
                "HandDataPreprocessor: data_samples must be hand_collate's "
                "{'targets': ..., 'metas': [...]}; set the data loader's "
                "collate_fn=dict(type='handkit.hand_collate')")
        if len(samples['metas']) != len(inputs):
            raise ValueError(f"got {len(samples['metas'])} metas for "
                             f'{len(inputs)} inputs')
        return {'inputs': inputs,
                'data_samples': {'targets': self.cast_data(
                    dict(samples['targets'])), 'metas': samples['metas']}}
