"""PalmDetectionHead: the anchor classifiers and regressors of MediaPipe's
palm detector.

Zhang et al., "MediaPipe Hands: On-device Real-time Hand Tracking", CVPR
Workshops 2020, Section 2.1: a single-shot detector of palms (rigid,
square-ish boxes) on the FPN-like features of :class:`BlazePalm`, trained
with a focal loss "to support a large amount of anchors resulting from the
high scale variance"; the anchor scheme of Bazarevsky et al., "BlazeFace",
2019 (Section 2: 2 anchors per cell at 8 x 8 px, 6 at 16 x 16 px for a
128-px input; MediaPipe's palm detector: 192 px, 24 x 24 and 12 x 12 cells).

Per anchor the regressor predicts 18 numbers: the box (x centre, y centre,
width, height) and 7 palm keypoints (x, y), in input pixels relative to the
anchor; the classifier one logit. The outputs are laid out exactly as
``palm_detection_{full,lite}.tflite``'s: TFLite reshapes NHWC maps, so the
anchor index runs over (y, x, anchor) of the 24 x 24 grid (2 anchors per
cell, 1152 anchors), then of the 12 x 12 grid (6 per cell, 864): 2016.

Decoding (anchors, NMS, boxes in input pixels) is the
``MediaPipePalmAnchors`` codec's (``handkit/codecs/mediapipe_palm.py``),
which also encodes the training targets the loss reads.
"""
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.registry import CODECS, MODELS

NUM_COORDS = 18  # box (cx, cy, w, h) + 7 keypoints (x, y)


def sigmoid_focal_loss(logits: torch.Tensor, labels: torch.Tensor,
                       gamma: float = 2.0, alpha: float = 0.25
                       ) -> torch.Tensor:
    """Element-wise focal loss (Lin et al., RetinaNet, eq. 5) of logits
    against labels in [0, 1]; ``gamma=0`` and ``alpha<0`` give the binary
    cross-entropy."""
    cross_entropy = F.binary_cross_entropy_with_logits(
        logits, labels, reduction='none')
    if gamma:
        prob = torch.sigmoid(logits)
        p_t = prob * labels + (1 - prob) * (1 - labels)
        cross_entropy = cross_entropy * (1 - p_t) ** gamma
    if alpha >= 0:
        cross_entropy = cross_entropy * (alpha * labels + (1 - alpha) *
                                         (1 - labels))
    return cross_entropy


@MODELS.register_module()
class PalmDetectionHead(BaseHead):
    """1x1 classifier and regressor convs on each feature map of BlazePalm.

    Args:
        in_channels: channels of the backbone's maps, finest first
            ((128, 256) for BlazePalm).
        num_anchors: anchors per cell of each map ((2, 6)).
        num_coords: regressed numbers per anchor (18).
        decoder: config of the codec (``MediaPipePalmAnchors``); None builds
            a head that runs and trains but cannot decode.
        gamma, alpha: of the focal loss on the scores (``gamma=0,
            alpha=-1``: binary cross-entropy).
        huber_delta: of the Huber loss on the regressions (input pixels, as
            the targets).
        loss_weight: weight of the score loss.
        regression_loss_weight: weight of the regression loss.

    ``forward(feats)`` with ``feats = (p3, p4)`` returns ``{'boxes': (B,
    2016, 18), 'scores': (B, 2016, 1)}`` (raw logits), MediaPipe's
    ``Identity`` and ``Identity_1``.
    """

    def __init__(self, in_channels: Sequence[int] = (128, 256),
                 num_anchors: Sequence[int] = (2, 6),
                 num_coords: int = NUM_COORDS,
                 decoder: Optional[dict] = None, gamma: float = 2.0,
                 alpha: float = 0.25, huber_delta: float = 1.0,
                 loss_weight: float = 1.0,
                 regression_loss_weight: float = 1.0,
                 prior_channels: int = 0) -> None:
        super().__init__()
        if len(in_channels) != len(num_anchors):
            raise ValueError(f'PalmDetectionHead: one num_anchors per map, '
                             f'got in_channels={tuple(in_channels)} and '
                             f'num_anchors={tuple(num_anchors)}')
        if prior_channels:
            raise ValueError('PalmDetectionHead opens the cascade; it takes '
                             f'no prior (got prior_channels='
                             f'{prior_channels})')
        self.in_channels = tuple(in_channels)
        self.num_anchors = tuple(num_anchors)
        self.num_coords = num_coords
        self.classifiers = nn.ModuleList([
            nn.Conv2d(channels, anchors, 1)
            for channels, anchors in zip(in_channels, num_anchors)])
        self.regressors = nn.ModuleList([
            nn.Conv2d(channels, anchors * num_coords, 1)
            for channels, anchors in zip(in_channels, num_anchors)])
        self.decoder = CODECS.build(decoder) if decoder is not None else None
        self.gamma = float(gamma)
        self.alpha = float(alpha)
        self.huber_delta = float(huber_delta)
        self.loss_weight = float(loss_weight)
        self.regression_loss_weight = float(regression_loss_weight)

    def forward(self, feats: Sequence[torch.Tensor],
                prior: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        self.check_prior(prior)
        if len(feats) != len(self.classifiers):
            raise ValueError(f'PalmDetectionHead: expects '
                             f'{len(self.classifiers)} feature maps, got '
                             f'{len(feats)}')
        boxes, scores = [], []
        for feat, classifier, regressor, channels in zip(
                feats, self.classifiers, self.regressors, self.in_channels):
            if feat.ndim != 4 or feat.shape[1] != channels:
                raise ValueError(f'PalmDetectionHead: a feature map must be '
                                 f'(B, {channels}, h, w), got '
                                 f'{tuple(feat.shape)}')
            batch = feat.shape[0]
            # (B, A, h, w) -> NHWC (B, h, w, A) -> (B, h * w * A, 1)
            scores.append(classifier(feat).permute(0, 2, 3, 1).reshape(
                batch, -1, 1))
            # (B, A * 18, h, w) -> NHWC -> (B, h * w * A, 18)
            boxes.append(regressor(feat).permute(0, 2, 3, 1).reshape(
                batch, -1, self.num_coords))
        return {'boxes': torch.cat(boxes, 1), 'scores': torch.cat(scores, 1)}

    def loss(self, outputs: Mapping[str, torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        """Focal loss on every anchor's score, Huber on the matched
        anchors' regressions.

        Targets (the codec's ``encode``): ``palm_labels`` (B, N) in [0, 1],
        ``palm_label_weights`` (B, N) (0 for the anchors of a sample whose
        palm cannot be placed; all 1 when the target is absent),
        ``palm_regression`` (B, N, 18) and ``palm_regression_weights`` (B,
        N) (1 for an anchor matched to a palm). The weighted score loss is
        summed and divided by the number of positive anchors (at least 1); the
        regression loss is the Huber loss averaged over the 18 numbers and
        over the anchors by their weights.
        """
        labels = self.require_target(batch, 'palm_labels', 'anchor labels')
        regression = self.require_target(batch, 'palm_regression',
                                         'matched anchor offsets')
        weights = self.require_target(batch, 'palm_regression_weights',
                                      'which anchors are matched')
        boxes, scores = outputs['boxes'], outputs['scores']
        if labels.shape != scores.shape[:2]:
            raise ValueError(f'PalmDetectionHead: palm_labels must be '
                             f'{tuple(scores.shape[:2])}, got '
                             f'{tuple(labels.shape)}')
        if regression.shape != boxes.shape or weights.shape != labels.shape:
            raise ValueError(f'PalmDetectionHead: palm_regression must be '
                             f'{tuple(boxes.shape)} and '
                             f'palm_regression_weights {tuple(labels.shape)}'
                             f', got {tuple(regression.shape)} and '
                             f'{tuple(weights.shape)}')
        labels = labels.to(scores.dtype)
        weights = weights.to(boxes.dtype)
        label_weights = batch['targets'].get('palm_label_weights')
        label_weights = (torch.ones_like(labels) if label_weights is None
                         else label_weights.to(scores.dtype))
        num_positive = (labels * label_weights > 0.5).sum().clamp(min=1)
        score_loss = (sigmoid_focal_loss(scores[..., 0], labels, self.gamma,
                                         self.alpha)
                      * label_weights).sum() / num_positive
        huber = F.huber_loss(boxes, regression.to(boxes.dtype),
                             reduction='none', delta=self.huber_delta)
        regression_loss = ((huber.mean(-1) * weights).sum()
                           / weights.sum().clamp(min=1))
        return {'loss_palm_score': self.loss_weight * score_loss,
                'loss_palm_regression':
                self.regression_loss_weight * regression_loss}

    def predict_tensors(self, outputs: Mapping[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        """``boxes`` (B, 2016, 18) and ``scores`` (B, 2016, 1) logits:
        MediaPipe's two outputs."""
        return {'boxes': outputs['boxes'], 'scores': outputs['scores']}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> Dict[str, Any]:
        """Palms per sample through the codec: ``palm_boxes`` (list of (N_i,
        4) x1 y1 x2 y2), ``palm_keypoints`` (list of (N_i, 7, 2)), input
        pixels, ``palm_scores`` (list of (N_i,))."""
        if self.decoder is None:
            raise ValueError('PalmDetectionHead was built without a decoder '
                             "(decoder=dict(type='MediaPipePalmAnchors', "
                             '...)); it cannot decode')
        return self.decoder.decode(np.asarray(tensors['boxes'], np.float32),
                                   np.asarray(tensors['scores'], np.float32))
