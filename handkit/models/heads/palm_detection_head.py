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
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.models.losses.combined import CombinedLoss
from handkit.registry import CODECS, MODELS

NUM_COORDS = 18  # box (cx, cy, w, h) + 7 keypoints (x, y)
# The terms of ``losses``, in the order ``loss`` reports them.
LOSS_NAMES = ('palm_score', 'palm_regression')


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
        losses: name -> loss config with its ``loss_weight``
            (:class:`~handkit.models.losses.CombinedLoss`), each reported
            as ``loss_<name>``: ``palm_score``, the focal loss on the
            scores (``SigmoidFocalLoss(gamma=2, alpha=0.25)``; ``gamma=0,
            alpha=-1``: binary cross-entropy), and ``palm_regression``, the
            Huber loss on the regressions (``WeightedHuberLoss(delta=1)``,
            input pixels as the targets), both at weight 1; a weight of 0
            leaves a term and its targets out.

    ``forward(feats)`` with ``feats = (p3, p4)`` returns ``{'boxes': (B,
    2016, 18), 'scores': (B, 2016, 1)}`` (raw logits), MediaPipe's
    ``Identity`` and ``Identity_1``.
    """

    #: ``predict_tensors`` name -> MediaPipe's TFLite output of the same
    #: values (the converter, the TFLite export and ``LiteRTModel``)
    tflite_outputs = {'boxes': 'Identity', 'scores': 'Identity_1'}

    def __init__(self, in_channels: Sequence[int] = (128, 256),
                 num_anchors: Sequence[int] = (2, 6),
                 num_coords: int = NUM_COORDS,
                 decoder: Optional[dict] = None,
                 losses: Mapping[str, dict] = dict(
                     palm_score=dict(type='SigmoidFocalLoss', gamma=2.0,
                                     alpha=0.25, loss_weight=1.0),
                     palm_regression=dict(type='WeightedHuberLoss',
                                          delta=1.0, loss_weight=1.0)),
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
        self.loss_module = CombinedLoss(losses, LOSS_NAMES,
                                        'PalmDetectionHead')

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
        terms = self.loss_module
        boxes, scores = outputs['boxes'], outputs['scores']
        anchors = tuple(scores.shape[:2])  # (B, N)
        losses = {}
        if terms.active('palm_score'):
            labels = self.require_target(batch, 'palm_labels',
                                         'anchor labels')
            if tuple(labels.shape) != anchors:
                raise ValueError(f'PalmDetectionHead: palm_labels must be '
                                 f'{anchors}, got {tuple(labels.shape)}')
            labels = labels.to(scores.dtype)
            label_weights = batch['targets'].get('palm_label_weights')
            label_weights = (torch.ones_like(labels) if label_weights is None
                             else label_weights.to(scores.dtype))
            losses['loss_palm_score'] = terms('palm_score', scores[..., 0],
                                              labels, label_weights)
        if terms.active('palm_regression'):
            regression = self.require_target(batch, 'palm_regression',
                                             'matched anchor offsets')
            weights = self.require_target(batch, 'palm_regression_weights',
                                          'which anchors are matched')
            if regression.shape != boxes.shape or tuple(
                    weights.shape) != anchors:
                raise ValueError(f'PalmDetectionHead: palm_regression must '
                                 f'be {tuple(boxes.shape)} and '
                                 f'palm_regression_weights {anchors}, got '
                                 f'{tuple(regression.shape)} and '
                                 f'{tuple(weights.shape)}')
            losses['loss_palm_regression'] = terms(
                'palm_regression', boxes, regression.to(boxes.dtype),
                weights.to(boxes.dtype))
        return losses

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
