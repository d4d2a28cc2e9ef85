"""DepthRegularizerPretrainer: Cai et al.'s depth regulariser trained alone,
ground-truth joints -> depth maps, as the first stage of a two-stage run.

Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
Monocular RGB Images", ECCV 2018, train the depth regulariser (3D joints ->
depth map) with the pose network and anchor it with fully-labelled data.
handkit's ablation without any 3D label
(``configs/cai/cai_depth2d_frozen_regularizer_synthetic.py``, docs/cai.md)
anchors it instead by training it first, alone, on the true joints of
other hands (``configs/cai/cai_depth_regularizer_pretrain_synthetic.py``),
then loading it with ``load_from`` and keeping it frozen: two configs
chained by config keys, each trained by ``tools/train.py``.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from handkit.models.heads.depth_regularizer import DepthRegularizer
from handkit.models.precision import (checked_test_cfg, mode_precision,
                                      precision_context)
from handkit.registry import MODELS

_TARGETS = ('joints_3d', 'depth_map', 'depth_weight')


@MODELS.register_module()
class DepthRegularizerPretrainer(BaseModel):
    """The one ``DepthRegularizer`` of an estimator, trained on its own.

    Args:
        estimator: the config of the whole model the regulariser belongs to
            (the second stage's ``model``). It is built, so the regulariser
            starts as it would there; only the regulariser is kept, under
            its name in that model (e.g. ``heads.1.depth_regularizer``), so
            a checkpoint holds exactly the weights that the second stage's
            ``load_from`` fills in. It trains here whatever its ``frozen``
            flag says.
        loss: the regulariser's loss (``DepthL1Loss``), weighted per sample
            by ``targets['depth_weight']``.
        data_preprocessor: mmengine's ``BaseDataPreprocessor`` (moves the
            batch to the device) when None; the images are not used.
        init_cfg: mmengine weight-initialisation config.
        test_cfg: ``precision='bf16'`` predicts under bfloat16 autocast
            where the device has it (``handkit.models.precision``).

    ``forward(inputs, data_samples, mode)`` reads ``targets['joints_3d']``
    (B, K, 3) (the ``NormalizedPose3D`` codec's), ``depth_map`` (B, H, W)
    and ``depth_weight`` (B, 1) (``NormalizedDepthMap``'s): ``'tensor'`` ->
    the generated maps (B, H, W); ``'loss'`` -> ``{'loss_depth'}``;
    ``'predict'`` -> one dict per sample, ``pred_depth_map``,
    ``gt_depth_map``, ``depth_weight`` (``DepthMapMetric`` reads them).
    """

    def __init__(self, estimator: dict,
                 loss: dict = dict(type='DepthL1Loss'),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.test_cfg = checked_test_cfg(test_cfg)
        found = [(name, module) for name, module in
                 MODELS.build(estimator).named_modules()
                 if isinstance(module, DepthRegularizer)]
        if len(found) != 1:
            raise ValueError(f'DepthRegularizerPretrainer: the estimator must '
                             f'hold one DepthRegularizer, it holds '
                             f'{[name for name, _ in found]}')
        self.regularizer_name, regularizer = found[0]
        regularizer.frozen = False
        regularizer.requires_grad_(True)
        *path, leaf = self.regularizer_name.split('.')
        parent = self
        for part in path:  # holders of nothing else: the whole model's names
            parent.add_module(part, nn.ModuleDict())
            parent = getattr(parent, part)
        parent.add_module(leaf, regularizer)
        self.loss_module = MODELS.build(loss)

    @property
    def regularizer(self) -> DepthRegularizer:
        return self.get_submodule(self.regularizer_name)

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[torch.Tensor,
                                               Dict[str, torch.Tensor],
                                               List[dict]]:
        if mode not in ('tensor', 'loss', 'predict'):
            raise ValueError(f"DepthRegularizerPretrainer: mode must be "
                             f"'tensor', 'loss' or 'predict', got {mode!r}")
        targets = (data_samples or {}).get('targets', {})
        missing = [name for name in _TARGETS if name not in targets]
        if missing:
            raise ValueError(
                f"DepthRegularizerPretrainer: the batch has no targets"
                f"['{missing[0]}'] (the training pipeline needs the "
                f'NormalizedPose3D and NormalizedDepthMap codecs); it has '
                f'{sorted(targets)}')
        with precision_context(mode_precision(self.test_cfg, mode),
                               targets['joints_3d'].device):
            generated = self.regularizer(targets['joints_3d'].float())
        generated = generated.float()
        if mode == 'tensor':
            return generated
        depth_map = targets['depth_map'].float()
        if mode == 'loss':
            return {'loss_depth': self.loss_module(
                generated, depth_map, targets['depth_weight'])}
        arrays = dict(pred_depth_map=generated, gt_depth_map=depth_map,
                      depth_weight=targets['depth_weight'].reshape(-1))
        arrays = {name: value.detach().float().cpu().numpy()
                  for name, value in arrays.items()}
        return [{name: value[index] for name, value in arrays.items()}
                for index in range(len(generated))]
