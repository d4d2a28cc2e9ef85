"""Formatting: pack a finished ``results`` dict for the data loader.

Last pipeline step of docs/architecture.md (section 2.7). An RGB image
crosses the data loader as uint8 BGR (3, H, W); normalisation and BGR -> RGB
happen on the batch in ``HandDataPreprocessor``. A normalised depth crop
(``DepthCubeCrop``) crosses as float32 (1, H, W), already in [-1, 1].
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from handkit.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackHandInputs(BaseTransform):
    """Pack ``img``, ``targets`` and meta information into plain dicts.

    Args:
        meta_keys: keys of ``results`` copied into ``meta`` (those absent are
            left out, e.g. ``bbox`` in a pipeline without annotations). The
            3D ones (``keypoints_3d`` mm, ``cam_K``, and ``cube_center``,
            ``cube_size`` of DepthCubeCrop) feed the 3D metrics and
            ``LocalRegressionHead.predict``; a mesh's ``vertices`` (mm)
            feed ``MeshMetric``; ``hand_mask`` (the renderer's,
            in input pixels) and ``occluded`` feed the mask and occlusion
            metrics; ``hand_side`` ('left' / 'right') is an input of
            ``PosePriorHead`` (Zimmermann & Brox).

    Returns:
        ``{'inputs': tensor (C, H, W) of img's dtype (uint8 BGR from
        LoadImage, float32 (1, H, W) from DepthCubeCrop; a 2-D (H, W) img
        becomes (1, H, W)), contiguous; 'data_samples': {'targets': {name: tensor},
        'meta': {key: results[key]}}}``. ``targets`` is empty when no
        GenerateTargets ran (test pipelines).
    """

    def __init__(self,
                 meta_keys: Sequence[str] = (
                     'img_path', 'img_id', 'ori_shape', 'input_size',
                     'warp_mat', 'bbox', 'keypoints', 'keypoints_visible',
                     'keypoints_3d', 'cam_K', 'cube_center', 'cube_size',
                     'depth_path', 'hand_mask', 'occluded', 'hand_side',
                     'hand_mirrored', 'vertices')
                 ) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)

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
