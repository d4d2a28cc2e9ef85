"""Formatting: pack a finished ``results`` dict for the data loader.

Last pipeline step of docs/architecture.md (section 2.7). An RGB image
crosses the data loader as uint8 BGR (3, H, W); normalisation and BGR -> RGB
happen on the batch in ``HandDataPreprocessor``. A normalised depth crop
(``DepthCubeCrop``) crosses as float32 (1, H, W), already in [-1, 1].
"""
from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from handkit.labels import packed_labels
from handkit.registry import TRANSFORMS

# Meta keys that are not labels: where the sample comes from and how its
# input was made (the labels are handkit.labels.LABELS)
FRAME_KEYS = ('img_path', 'img_id', 'ori_shape', 'input_size', 'warp_mat',
              'bbox', 'cube_center', 'cube_size', 'depth_path',
              'hand_mirrored')


@TRANSFORMS.register_module()
class PackHandInputs(BaseTransform):
    """Pack ``img``, ``targets`` and meta information into plain dicts.

    Args:
        meta_keys: keys of ``results`` copied into ``meta`` (those absent are
            left out, e.g. ``bbox`` in a pipeline without annotations).
            Default: :data:`FRAME_KEYS` and the packed labels of
            :data:`handkit.labels.LABELS`. Of the frame keys,
            ``cube_center``, ``cube_size`` (DepthCubeCrop) feed
            ``LocalRegressionHead.predict``; the labels feed the metrics
            (``keypoints_3d`` mm, a mesh's ``vertices`` mm, ``hand_mask``
            in input pixels, ``occluded``) and some heads (``cam_K``;
            ``hand_side`` 'left' / 'right' for ``PosePriorHead``).

    Returns:
        ``{'inputs': tensor (C, H, W) of img's dtype (uint8 BGR from
        LoadImage, float32 (1, H, W) from DepthCubeCrop; a 2-D (H, W) img
        becomes (1, H, W)), contiguous; 'data_samples': {'targets': {name: tensor},
        'meta': {key: results[key]}}}``. ``targets`` is empty when no
        GenerateTargets ran (test pipelines).
    """

    def __init__(self, meta_keys: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        self.meta_keys = (FRAME_KEYS + packed_labels() if meta_keys is None
                          else tuple(meta_keys))

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError("PackHandInputs: results have no 'img' (sample "
                           f"{results.get('img_path')})")
        img = results['img']
        if img.ndim == 2:  # one channel, e.g. depth
            img = img[..., None]
        if img.ndim != 3:
            raise ValueError(f'PackHandInputs: img must be (H, W, C) or '
                             f'(H, W), got shape {img.shape}')
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        targets = {
            name: torch.from_numpy(np.ascontiguousarray(value))
            for name, value in results.get('targets', {}).items()
        }
        meta = {key: results[key] for key in self.meta_keys if key in results}
        return {'inputs': inputs,
                'data_samples': {'targets': targets, 'meta': meta}}

    def __repr__(self):
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
