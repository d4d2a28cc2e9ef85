"""LocalRegressionHead: patch-wise, then global FC regression (Li and Wang).

"We slice the feature map into several patches and regress each patch
separately. After that, we merge these regression results by concatenating
them along the channel axis. The 3D coordinates of joints will be regressed by
the last two fully connected layers (final regression network)." The output is
J joints in the normalised cube [-1, 1] of :class:`DepthCube`; the loss is the
max-out smooth L1 (L_MOSL1).

The per-patch FC layers are one weight tensor (P, D_in, D_out) applied with
``einsum`` (no loop over patches): patch p only ever sees its own weights.
Patches are numbered row-major over the grid: p = row * grid_w + col.
"""
import math
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from handkit.codecs.depth_cube import DepthCube
from handkit.models.heads.base_head import BaseHead
from handkit.registry import MODELS


@MODELS.register_module()
class LocalRegressionHead(BaseHead):
    """Per-patch FC layers, concatenation, two FC layers -> (B, J, 3) cube.

    Args:
        in_channels: channels of the feature map (128 for ResidualHourglass).
        num_joints: J (14 evaluated NYU joints).
        feature_size: (h, w) of the feature map (32, 32: ResidualHourglass on
            a 128 x 128 crop); each must divide by the grid.
        patch_grid: (rows, cols) of patches.
        patch_dim: output width of each patch's FC layer.
        hidden: width of the first global FC layer.
        loss: loss config against ``targets['joints_cube']`` (B, J, 3).
        loss_weight: weight of ``loss_joints``.

    ``forward(feats (B, C, h, w), prior=None)`` -> ``{'local_features':
    (B, P, patch_dim), 'joints_cube': (B, J, 3)}``. ``predict`` ->
    ``{'joints_cube': (B, J, 3), 'keypoints_3d': (B, J, 3) mm camera frame}``
    (numpy), the latter through ``DepthCube.cube_to_camera`` with each meta's
    ``cube_center`` (3,) mm and ``cube_size`` mm. It opens its cascade and
    hands no prior on.
    """

    def __init__(self, in_channels: int = 128, num_joints: int = 14,
                 feature_size: Sequence[int] = (32, 32),
                 patch_grid: Sequence[int] = (4, 4),
                 patch_dim: int = 64, hidden: int = 1024,
                 loss: dict = dict(type='MaxOutSmoothL1Loss'),
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        (height, width), (rows, cols) = feature_size, patch_grid
        if height % rows or width % cols:
            raise ValueError(f'LocalRegressionHead: feature_size '
                             f'{tuple(feature_size)} must divide by '
                             f'patch_grid {tuple(patch_grid)}')
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.feature_size = (height, width)
        self.patch_grid = (rows, cols)
        num_patches = rows * cols
        patch_in = in_channels * (height // rows) * (width // cols)
        # nn.Linear's default init, per patch: U(+-1/sqrt(fan_in)).
        bound = 1 / math.sqrt(patch_in)
        self.patch_weight = nn.Parameter(
            torch.empty(num_patches, patch_in, patch_dim).uniform_(-bound,
                                                                   bound))
        self.patch_bias = nn.Parameter(
            torch.empty(num_patches, patch_dim).uniform_(-bound, bound))
        self.global_fc = nn.Sequential(
            nn.Linear(num_patches * patch_dim, hidden), nn.ReLU(True),
            nn.Linear(hidden, num_joints * 3))
        self.loss_module = MODELS.build(loss)
        self.loss_weight = float(loss_weight)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> dict:
        self.check_prior(prior)
        if feats.ndim != 4 or feats.shape[1] != self.in_channels or tuple(
                feats.shape[-2:]) != self.feature_size:
            raise ValueError(
                f'LocalRegressionHead: features must be (B, {self.in_channels}'
                f', {self.feature_size[0]}, {self.feature_size[1]}), got '
                f'{tuple(feats.shape)}')
        batch, channels, height, width = feats.shape
        rows, cols = self.patch_grid
        patches = feats.view(batch, channels, rows, height // rows, cols,
                             width // cols)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(
            batch, rows * cols, -1)  # (B, P, C * ph * pw)
        local = torch.einsum('bpi,pio->bpo', patches, self.patch_weight)
        local = torch.relu(local + self.patch_bias)  # (B, P, patch_dim)
        joints = self.global_fc(local.flatten(1))
        return {'local_features': local,
                'joints_cube': joints.view(batch, self.num_joints, 3)}

    def macs(self, inputs: Sequence[torch.Tensor], output: dict) -> int:
        """Multiply-accumulates of the per-patch einsum for the whole batch
        (``handkit.evaluation.complexity``; the nn.Linear layers of
        ``global_fc`` are counted on their own)."""
        return len(inputs[0]) * self.patch_weight.numel()

    def loss(self, outputs: dict, batch: dict) -> Dict[str, torch.Tensor]:
        target = self.require_target(batch, 'joints_cube', '(B, J, 3)')
        pred = outputs['joints_cube']
        return {'loss_joints': self.loss_weight * self.loss_module(
            pred, target.to(pred))}

    def predict_tensors(self, outputs: dict) -> Dict[str, torch.Tensor]:
        """``{'joints_cube': (B, J, 3)}`` in the normalised cube."""
        return {'joints_cube': outputs['joints_cube']}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        """Cube coordinates to mm in the camera frame, with each meta's
        ``cube_center`` and ``cube_size``."""
        joints_cube = tensors['joints_cube']
        metas = (batch or {}).get('metas') or []
        if len(metas) != len(joints_cube):
            raise ValueError(f'LocalRegressionHead.decode needs one meta per '
                             f'sample (with cube_center, cube_size); got '
                             f'{len(metas)} for {len(joints_cube)} samples')
        for index, meta in enumerate(metas):
            for key in ('cube_center', 'cube_size'):
                if key not in meta:
                    raise ValueError(f"LocalRegressionHead.decode: metas"
                                     f"[{index}] has no '{key}'")
        centers = np.stack([np.asarray(m['cube_center'], np.float64)
                            for m in metas])  # (B, 3)
        sizes = np.array([float(m['cube_size']) for m in metas])  # (B,)
        return {'joints_cube': joints_cube,
                'keypoints_3d': DepthCube.cube_to_camera(
                    joints_cube, centers, sizes)}
