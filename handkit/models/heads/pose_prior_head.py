"""PosePriorHead: Zimmermann & Brox's PosePrior network (3D from score maps).

Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from Single RGB
Images", ICCV 2017, Section 4.3 and Figure 4: two parallel streams read
the 21 score maps and the hand side. One predicts the joints in the
canonical frame, ``w_c``; the other the viewpoint, a rotation ``R``
(three parameters, an axis-angle vector); the camera-frame joints are
``w_c R`` (the mirrored side mirrored back first). Each stream: six 3x3
convolutions (every second of stride 2), flattened, the hand side's
one-hot appended, fully-connected layers with leaky ReLU, a linear
output. From the public code (lmb-freiburg/hand3d,
``nets/PosePriorNetwork.py``, variant 'proposed', and
``training_lifting.py``):

* every convolution and hidden FC layer is followed by a leaky ReLU of
  slope 0.01 (``utils/general.py:28-33, 56-59, 133-136``);
* canonical stream: convolutions 32, 32, 64, 64, 128, 128, then FC 512,
  512, linear to 21 x 3;
* viewpoint stream: convolutions 64, 64, 128, 128, 256, 256, then FC 256,
  128, linear to the 3 axis-angle parameters; Rodrigues' formula gives
  ``R`` (``axis_angle_to_matrix``);
* dropout: their network defines it after each hidden FC layer (keep
  probability 0.8 in the canonical stream, 0.75 in the viewpoint one), but
  the released training script never turns it on: it builds the network
  with ``evaluation`` = True (``training_lifting.py:55``), under which
  ``NetworkOps.dropout`` keeps everything (``utils/general.py:139-147``).
  The default is therefore no dropout; ``canonical_dropout=0.2,
  view_dropout=0.25`` is the dropout their network defines, an option;
* losses: the mean squared error of the canonical joints and that of the
  nine entries of ``R`` (``MeanSquaredErrorLoss``), summed;
* inputs: in training the ground-truth score maps (their lifting is
  trained alone on them, 256 x 256 maps average-pooled 8 x 8 to 32 x 32);
  at test PoseNet's predicted maps.

The hand side: appending its one-hot to the flattened features makes the
first FC layer's output ``W x + w_side``. The head computes it for both
sides at once (a (2, C) table of ``w_side``), so ``predict_tensors`` holds
the two sides' predictions (an ONNX graph needs no side input) and
``loss`` / ``decode`` pick each sample's side from its meta ``hand_side``.
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from handkit.codecs.canonical_frame import (HAND_SIDES, axis_angle_to_matrix,
                                            side_indices)
from handkit.models.heads.base_head import BaseHead
from handkit.models.layers import conv_norm_relu, relu
from handkit.models.losses.combined import CombinedLoss
from handkit.models.weight_init import init_relu_convs
from handkit.registry import CODECS, MODELS

TRAIN_INPUTS = ('targets', 'predictions')
# The terms of ``losses`` and the CanonicalFrame targets they read, in the
# order ``loss`` reports them.
LOSS_TARGETS = dict(canonical='canonical_keypoints', rotation='rotation')


class SideConditionedStream(nn.Module):
    """Maps (B, K, h, w) -> (B, 2, out_features): one output per hand side.

    Pairs of 3x3 conv-ReLUs (stride 1, then 2) per width, flattened; the
    first FC layer adds the side's row of a (2, C) table (the one-hot
    input's weights); ReLU and dropout after each FC; a linear output.
    """

    def __init__(self, in_channels: int, heatmap_size: Tuple[int, int],
                 conv_channels: Sequence[int], fc_channels: Sequence[int],
                 dropout: float, out_features: int,
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.0) -> None:
        super().__init__()
        layers, channels = [], in_channels
        width, height = heatmap_size
        for out in conv_channels:
            layers += conv_norm_relu(channels, out, 3, norm_cfg,
                                     negative_slope)
            layers.append(nn.Conv2d(out, out, 3, stride=2, padding=1,
                                    bias=norm_cfg is None))
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, out)[1])
            layers.append(relu(negative_slope))
            channels = out
            width, height = (width + 1) // 2, (height + 1) // 2
        self.convs = init_relu_convs(nn.Sequential(*layers))
        flat = channels * width * height
        self.first_fc = nn.Linear(flat, fc_channels[0])
        bound = 1.0 / np.sqrt(flat + len(HAND_SIDES))
        self.side_weights = nn.Parameter(
            torch.empty(len(HAND_SIDES), fc_channels[0]).uniform_(-bound,
                                                                  bound))
        fcs = [relu(negative_slope), nn.Dropout(dropout)]
        for previous, out in zip(fc_channels[:-1], fc_channels[1:]):
            fcs += [nn.Linear(previous, out), relu(negative_slope),
                    nn.Dropout(dropout)]
        fcs.append(nn.Linear(fc_channels[-1], out_features))
        self.fcs = nn.Sequential(*fcs)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        features = self.convs(maps).flatten(1)  # (B, C h' w')
        # (B, 2, C): the first FC layer for a left and for a right hand
        hidden = self.first_fc(features)[:, None] + self.side_weights
        return self.fcs(hidden)  # (B, 2, out_features)


@MODELS.register_module()
class PosePriorHead(BaseHead):
    """Canonical joints and viewpoint from score maps and the hand side.

    Args:
        num_keypoints: K (21).
        heatmap_size: (width, height) of the score maps read (32 x 32).
        prior_channels: channels of the prior, PoseNet's K maps (the
            estimator fills it in).
        canonical_channels / canonical_fc / canonical_dropout: the
            canonical stream (32, 64, 128 / 512, 512 / 0: off, as in their
            released training; 0.2 is the rate their network defines).
        view_channels / view_fc / view_dropout: the viewpoint stream (64,
            128, 256 / 256, 128 / 0; their network defines 0.25).
        decoder: the config's one ``CanonicalFrame`` (root, mirrored
            side).
        score_codec: the config's one ``GaussianScoreMap``: reads the
            target maps on the map grid for ``train_inputs='targets'``.
        train_inputs: 'targets' (the paper: ground-truth score maps in
            training) or 'predictions' (the previous head's maps, detached,
            in training too); at test always the previous head's maps.
        target_map_dropout: chance that a target map is zeroed in training
            (their reader's optional ``scoremap_dropout``, off in their
            lifting training: 0).
        reference_bone_mm: the middle MCP -> PIP length (mm) that turns the
            normalised joints into ``keypoints_3d``.
        norm_cfg: None (the paper) or a norm after every convolution.
        negative_slope: of the leaky ReLUs (0.01, theirs; 0: handkit's
            former plain ReLU).
        losses: name -> loss config with its ``loss_weight``
            (:class:`~handkit.models.losses.CombinedLoss`): ``canonical``
            (the canonical joints) and ``rotation`` (the nine entries of
            ``R``), both ``MeanSquaredErrorLoss`` at weight 1 (theirs); a
            weight of 0 leaves a term and its target out.

    ``loss`` -> ``{'loss_canonical', 'loss_rotation'}`` from
    ``targets['canonical_keypoints']`` (B, K, 3) and ``targets['rotation']``
    (B, 3, 3). ``predict`` -> ``keypoints_3d`` (B, K, 3) mm and
    ``keypoints_3d_normalized`` (B, K, 3): root-relative (the codec's root),
    in middle MCP -> PIP bones, camera frame. It hands no prior on.
    """

    required_labels = ('hand_side', )

    def __init__(self, num_keypoints: int = 21,
                 heatmap_size: Sequence[int] = (32, 32),
                 prior_channels: int = 21,
                 canonical_channels: Sequence[int] = (32, 64, 128),
                 canonical_fc: Sequence[int] = (512, 512),
                 canonical_dropout: float = 0.0,
                 view_channels: Sequence[int] = (64, 128, 256),
                 view_fc: Sequence[int] = (256, 128),
                 view_dropout: float = 0.0,
                 decoder: dict = dict(type='CanonicalFrame'),
                 score_codec: dict = dict(type='GaussianScoreMap'),
                 train_inputs: str = 'targets',
                 target_map_dropout: float = 0.0,
                 reference_bone_mm: float = 33.0,
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.01,
                 losses: Mapping[str, dict] = dict(
                     canonical=dict(type='MeanSquaredErrorLoss',
                                    loss_weight=1.0),
                     rotation=dict(type='MeanSquaredErrorLoss',
                                   loss_weight=1.0))) -> None:
        super().__init__()
        if train_inputs not in TRAIN_INPUTS:
            raise ValueError(f'PosePriorHead: train_inputs must be one of '
                             f'{list(TRAIN_INPUTS)}, got {train_inputs!r}')
        if prior_channels != num_keypoints:
            raise ValueError(f'PosePriorHead reads {num_keypoints} score '
                             f'maps, got prior_channels={prior_channels}')
        if not reference_bone_mm > 0:
            raise ValueError(f'PosePriorHead: reference_bone_mm must be '
                             f'positive, got {reference_bone_mm!r}')
        self.num_keypoints = num_keypoints
        self.prior_channels = prior_channels
        size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.canonical = SideConditionedStream(
            num_keypoints, size, canonical_channels, canonical_fc,
            canonical_dropout, num_keypoints * 3, norm_cfg, negative_slope)
        self.view = SideConditionedStream(
            num_keypoints, size, view_channels, view_fc, view_dropout, 3,
            norm_cfg, negative_slope)
        self.decoder = CODECS.build(decoder)
        self.score_codec = CODECS.build(score_codec)
        self.train_inputs = train_inputs
        self.target_map_dropout = float(target_map_dropout)
        self.reference_bone_mm = float(reference_bone_mm)
        self.loss_module = CombinedLoss(losses, LOSS_TARGETS,
                                        'PosePriorHead')

    def run(self, maps: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(B, K, h, w) maps -> both sides' ``canonical_keypoints`` (B, 2,
        K, 3) and ``rotations`` (B, 2, 3, 3)."""
        maps = maps.float()
        canonical = self.canonical(maps).unflatten(-1,
                                                   (self.num_keypoints, 3))
        return {'canonical_keypoints': canonical,
                'rotations': axis_angle_to_matrix(self.view(maps))}

    def forward(self, feats, prior: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        self.check_prior(prior)
        return self.run(prior.detach())

    def loss(self, outputs: Dict[str, torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        targets = {name: self.require_target(batch, key,
                                             'the CanonicalFrame codec')
                   for name, key in LOSS_TARGETS.items()
                   if self.loss_module.active(name)}
        if self.train_inputs == 'targets':
            maps = self.score_codec.on_map_grid(self.require_target(
                batch, 'scoremaps', 'the PosePrior reads the target maps'))
            if self.target_map_dropout > 0:
                keep = torch.rand(maps.shape[:2], device=maps.device
                                  ) >= self.target_map_dropout
                maps = maps * keep[..., None, None].to(maps.dtype)
            outputs = self.run(maps)
        side = torch.as_tensor(self.sides(batch),
                               device=outputs['rotations'].device)
        rows = torch.arange(len(side), device=side.device)
        # each side's prediction: (B, K, 3) joints, (B, 3, 3) rotation
        predicted = dict(canonical=outputs['canonical_keypoints'][rows, side],
                         rotation=outputs['rotations'][rows, side])
        return {f'loss_{name}': self.loss_module(name, predicted[name],
                                                 target)
                for name, target in targets.items()}

    def sides(self, batch: Optional[dict]) -> np.ndarray:
        """(B,) side index (left 0, right 1) of each sample's meta
        ``hand_side``; a ValueError names the first sample without one."""
        metas = batch.get('metas') if isinstance(batch, dict) else None
        if not metas:
            raise ValueError(
                "PosePriorHead needs each sample's meta 'hand_side' ('left' "
                "/ 'right'), got no metas")
        for index, meta in enumerate(metas):
            if meta.get('hand_side') is None:
                raise ValueError(
                    f"PosePriorHead needs each sample's meta 'hand_side' "
                    f"('left' / 'right'); sample {index} "
                    f"({meta.get('img_path')}) has none: use a dataset that "
                    f"gives hand_side (PackHandInputs packs it), or pass "
                    f"inference(..., hand_side=)")
        return side_indices([meta['hand_side'] for meta in metas],
                            'PosePriorHead')

    def predict_tensors(self, outputs: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        return dict(outputs)

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        side = self.sides(batch)
        rows = np.arange(len(side))
        canonical = np.asarray(tensors['canonical_keypoints'])[rows, side]
        rotation = np.asarray(tensors['rotations'])[rows, side]
        normalized = self.decoder.decode(canonical, rotation,
                                         [HAND_SIDES[index]
                                          for index in side])
        return {'keypoints_3d': self.decoder.denormalize(
                    normalized, self.reference_bone_mm),
                'keypoints_3d_normalized': normalized}
