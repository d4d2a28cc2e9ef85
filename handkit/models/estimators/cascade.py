"""CascadeEstimator: backbone, optional neck and an ordered cascade of heads.

NSRM Section 3 and Figure 1b: a backbone produces features, then each head
of the cascade takes the features and the stage outputs of the head before
it (``prior``). This one rule expresses NSRM (structure-mask head -> KCM
head), CPM (KCM head alone) and lets a structure-mask head be put in front of
any head by config alone (docs/architecture.md sections 3-5).
"""
import copy

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import nn

from handkit.registry import MODELS

# Meta keys copied into each prediction dict, as (meta key, prediction key).
_META_TO_PREDICTION = (('keypoints', 'gt_keypoints'),
                       ('keypoints_visible', 'gt_keypoints_visible'),
                       ('bbox', 'bbox'), ('img_path', 'img_path'),
                       ('img_id', 'img_id'))


def _input_to_original(keypoints, metas):
    """Map (B, K, 2) input-pixel keypoints to original-image pixels.

    Each meta's ``warp_mat`` (2, 3) maps original to input pixels; its
    inverse is applied. A meta without ``warp_mat`` keeps input pixels.
    """
    identity = np.eye(3)[:2]
    warps = [np.asarray(meta.get('warp_mat', identity), np.float64)
             for meta in metas]
    for index, warp in enumerate(warps):
        if warp.shape != (2, 3):
            raise ValueError(f'metas[{index}] warp_mat must be (2, 3), got '
                             f'{warp.shape}')
    warps = np.stack(warps)  # (B, 2, 3)
    bottom = np.broadcast_to([0.0, 0.0, 1.0], (len(warps), 1, 3))
    inverse = np.linalg.inv(np.concatenate([warps, bottom], axis=1))[:, :2]
    mapped = np.einsum('bij,bkj->bki', inverse[:, :, :2],
                       keypoints.astype(np.float64)) + inverse[:, None, :, 2]
    return mapped.astype(np.float32)


@MODELS.register_module()
class CascadeEstimator(BaseModel):
    """Top-down estimator running a cascade of heads on backbone features.

    Args:
        backbone: config of the backbone (e.g. ``VGG19CPM``).
        heads: head configs run in order: a list, or a dict name -> config
            (insertion order; lets a config override one head by name through
            ``_base_`` inheritance, e.g. ``heads=dict(structure=dict(
            groups='G1G6'))``). A head after the first whose config has no
            ``prior_channels`` gets the previous head's ``out_channels``.
        neck: optional config of a module between backbone and heads.
        data_preprocessor: config (or module) of the data preprocessor,
            e.g. ``HandDataPreprocessor``.
        init_cfg: mmengine weight-initialisation config.
        test_cfg: ``output_maps=True`` adds each head's maps (e.g.
            ``structure_maps``, ``heatmaps``) to the predictions.
    """

    def __init__(self, backbone, heads, neck=None, data_preprocessor=None,
                 init_cfg=None, test_cfg=None):
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not heads:
            raise ValueError('CascadeEstimator needs at least one head')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        # names of the heads (their keys when given as a dict), in order
        self.head_names = (list(heads) if isinstance(heads, dict) else
                           [str(index) for index in range(len(heads))])
        head_cfgs = heads.values() if isinstance(heads, dict) else heads
        self.heads = nn.ModuleList()
        for head_cfg in head_cfgs:
            head_cfg = copy.deepcopy(head_cfg)
            if len(self.heads) > 0 and 'prior_channels' not in head_cfg:
                head_cfg['prior_channels'] = self.heads[-1].out_channels
            self.heads.append(MODELS.build(head_cfg))
        self.test_cfg = dict(test_cfg or {})

    def extract_feat(self, inputs):
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """Run the cascade.

        Args:
            inputs: float (B, 3, H, W), normalised.
            data_samples: the batch dict ``{'targets': ..., 'metas': ...}``
                of ``HandDataPreprocessor`` (needed by 'loss'; 'predict'
                uses its metas when present).
            mode: 'tensor' -> list of every head's outputs; 'loss' -> dict of
                named losses; 'predict' -> list of B prediction dicts.
        """
        feats = self.extract_feat(inputs)
        prior, head_outputs = None, []
        for head in self.heads:
            prior = head(feats, prior)
            head_outputs.append(prior)
        if mode == 'tensor':
            return head_outputs
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("mode='loss' needs data_samples with "
                                 'targets')
            return self._merge_losses(head_outputs, data_samples)
        if mode == 'predict':
            return self._predict(head_outputs, data_samples, len(inputs))
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got "
                         f'{mode!r}')

    def _merge_losses(self, head_outputs, batch):
        losses, owner = {}, {}
        for head_name, head, outputs in zip(self.head_names, self.heads,
                                            head_outputs):
            for name, value in head.loss(outputs, batch).items():
                if name in losses:
                    raise ValueError(
                        f"heads '{owner[name]}' and '{head_name}' both "
                        f"return loss '{name}'")
                losses[name], owner[name] = value, head_name
        return losses

    def _predict(self, head_outputs, batch, batch_size):
        preds = {}
        for head, outputs in zip(self.heads, head_outputs):
            preds.update(head.predict(outputs, batch))
        metas = (batch or {}).get('metas') or [{}] * batch_size
        if len(metas) != batch_size:
            raise ValueError(f'got {len(metas)} metas for a batch of '
                             f'{batch_size} inputs')
        results = [{} for _ in range(batch_size)]
        if 'keypoints' in preds:
            keypoints = _input_to_original(preds.pop('keypoints'), metas)
            scores = np.asarray(preds.pop('scores'), np.float32)
            for result, sample_keypoints, sample_scores in zip(
                    results, keypoints, scores):
                result['pred_keypoints'] = sample_keypoints
                result['pred_scores'] = sample_scores
        for result, meta in zip(results, metas):
            result.update({name: meta[key]
                           for key, name in _META_TO_PREDICTION
                           if key in meta})
        if self.test_cfg.get('output_maps'):
            for name, maps in preds.items():
                if isinstance(maps, torch.Tensor):
                    maps = maps.detach().cpu().numpy()
                for result, sample_maps in zip(results, maps):
                    result[name] = sample_maps
        return results
