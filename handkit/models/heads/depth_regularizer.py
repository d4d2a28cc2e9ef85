"""DepthRegularizer: 3D joints -> a depth map (Cai et al., ECCV 2018).

Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
Monocular RGB Images", ECCV 2018: a decoder generates the hand's depth map
from the predicted 3D joints, and an L1 loss against the depth camera's
image of the same hand supervises the joints of samples that have no 3D
label. It is used for training only: at test time the network sees RGB
alone, so the regulariser is no part of the predict path (nor of an ONNX
export).

Layers (the paper's sizes are not available here; handkit's choice, in the
paper's form of fully-connected layers then deconvolutions): the (K, 3)
normalised joints -> FC - ReLU - FC - ReLU -> a (C, 4, 4) volume ->
``n`` 4x4 stride-2 deconvolutions (each BN - ReLU but the last, which
outputs 1 channel) -> (4 * 2^n)^2 depth map, in the units of the
``NormalizedDepthMap`` codec.

``frozen`` keeps a decoder learnt from ground-truth joints on other,
fully-labelled data fixed (trained first by
``configs/cai/cai_depth_regularizer_pretrain_synthetic.py``, loaded by the
config's ``load_from``; the ablation
``cai_depth2d_frozen_regularizer_synthetic.py``, docs/cai.md). A frozen decoder's parameters
do not train, but the gradient still flows through it to the joints.
"""
from typing import Sequence

import torch
from torch import nn

from handkit.registry import MODELS


@MODELS.register_module()
class DepthRegularizer(nn.Module):
    """(B, K, 3) joints -> (B, H, W) depth map.

    Args:
        num_keypoints: K (21).
        hidden_channels: width of the fully-connected layers.
        base_channels: channels of the 4 x 4 volume; each deconvolution
            halves them (at least 8).
        output_size: (width, height) of the depth map, square, 4 x a power
            of two (the ``NormalizedDepthMap`` codec's ``output_size``).
        frozen: keep the weights fixed (and batch norm in eval mode).
    """

    def __init__(self, num_keypoints: int = 21, hidden_channels: int = 512,
                 base_channels: int = 128,
                 output_size: Sequence[int] = (32, 32),
                 frozen: bool = False) -> None:
        super().__init__()
        width, height = (int(side) for side in output_size)
        num_deconvs = (width // 4).bit_length() - 1
        if width != height or width < 8 or width != 4 * 2**num_deconvs:
            raise ValueError(f'DepthRegularizer: output_size must be square, '
                             f'4 x a power of two (8, 16, 32, ...), got '
                             f'{tuple(output_size)!r}')
        self.num_keypoints = num_keypoints
        self.output_size = (width, height)
        self.base_channels = base_channels
        self.fc = nn.Sequential(
            nn.Linear(num_keypoints * 3, hidden_channels),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, base_channels * 16),
            nn.ReLU(inplace=True))
        layers, channels = [], base_channels
        for index in range(num_deconvs):
            last = index == num_deconvs - 1
            out = 1 if last else max(channels // 2, 8)
            layers.append(nn.ConvTranspose2d(channels, out, 4, stride=2,
                                             padding=1, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        self.deconvs = nn.Sequential(*layers)
        self.frozen = bool(frozen)
        if self.frozen:
            self.requires_grad_(False)

    def train(self, mode: bool = True) -> 'DepthRegularizer':
        """A frozen regulariser stays in eval mode (its batch norm keeps
        the statistics it was pre-trained with)."""
        return super().train(mode and not self.frozen)

    def forward(self, joints: torch.Tensor) -> torch.Tensor:
        if joints.ndim != 3 or tuple(joints.shape[1:]) != (
                self.num_keypoints, 3):
            raise ValueError(f'DepthRegularizer: joints must be (B, '
                             f'{self.num_keypoints}, 3), got '
                             f'{tuple(joints.shape)}')
        volume = self.fc(joints.flatten(1)).view(-1, self.base_channels, 4,
                                                 4)  # (B, C, 4, 4)
        return self.deconvs(volume)[:, 0]  # (B, H, W)
