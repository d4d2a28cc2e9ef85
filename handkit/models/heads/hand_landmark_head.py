"""HandLandmarkHead: the fully connected outputs of MediaPipe's hand
landmark model.

Zhang et al., "MediaPipe Hands: On-device Real-time Hand Tracking", CVPR
Workshops 2020, Section 2.2: on the hand crop the model regresses 21 hand
landmarks (x, y in the crop's pixels and a relative depth z), the
probability that a hand is present (the "hand flag", which triggers the
palm detector again when tracking is lost) and the handedness; MediaPipe's
2021 models (``hand_landmark_{full,lite}.tflite``) add 21 world landmarks
in metres, relative to the hand's centre. The features are those of
:class:`BlazeHandLandmark` (after Bazarevsky et al., "BlazeFace", 2019),
averaged over H and W.

``predict_tensors`` equals the TFLite model's four outputs (``Identity`` ..
``Identity_3``): ``landmarks`` (B, 63) in input pixels, ``presence`` (B, 1)
and ``handedness`` (B, 1) after the graph's own sigmoid, ``world_landmarks``
(B, 63) metres. Decoding is the ``MediaPipeLandmarks`` codec's
(``handkit/codecs/mediapipe_landmarks.py``).
"""
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.models.losses.combined import CombinedLoss
from handkit.registry import CODECS, MODELS

# The terms of ``losses``, in the order ``loss`` reports them.
LOSS_NAMES = ('landmarks', 'presence', 'handedness')


@MODELS.register_module()
class HandLandmarkHead(BaseHead):
    """Global average pool, then four fully connected layers.

    Args:
        in_channels: of the backbone's map (1152 'full', 672 'lite').
        num_keypoints: 21.
        input_size: (W, H) of the input; the landmark loss divides the
            pixel coordinates by it (z by W).
        decoder: config of the codec (``MediaPipeLandmarks``); None builds a
            head that runs and trains but cannot decode.
        losses: name -> loss config with its ``loss_weight``
            (:class:`~handkit.models.losses.CombinedLoss`), each reported
            as ``loss_<name>``: ``landmarks`` (``WeightedL1Loss``),
            ``presence`` and ``handedness`` (``BinaryCrossEntropyLoss``),
            all at weight 1; a weight of 0 leaves a term and its targets
            out.

    ``forward`` returns the raw outputs: ``landmarks`` (B, 3K),
    ``presence_logits`` (B, 1), ``handedness_logits`` (B, 1),
    ``world_landmarks`` (B, 3K).
    """

    #: ``predict_tensors`` name -> MediaPipe's TFLite output of the same
    #: values (the converter, the TFLite export and ``LiteRTModel``)
    tflite_outputs = {'landmarks': 'Identity', 'presence': 'Identity_1',
                      'handedness': 'Identity_2',
                      'world_landmarks': 'Identity_3'}

    def __init__(self, in_channels: int = 1152, num_keypoints: int = 21,
                 input_size: Sequence[int] = (224, 224),
                 decoder: Optional[dict] = None,
                 losses: Mapping[str, dict] = dict(
                     landmarks=dict(type='WeightedL1Loss', loss_weight=1.0),
                     presence=dict(type='BinaryCrossEntropyLoss',
                                   loss_weight=1.0),
                     handedness=dict(type='BinaryCrossEntropyLoss',
                                     loss_weight=1.0)),
                 prior_channels: int = 0) -> None:
        super().__init__()
        if prior_channels:
            raise ValueError('HandLandmarkHead opens the cascade; it takes '
                             f'no prior (got prior_channels='
                             f'{prior_channels})')
        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.input_size = tuple(int(side) for side in input_size)
        # the order of MediaPipe's graph: handedness, presence ("hand
        # flag"), landmarks, world landmarks
        self.handedness = nn.Linear(in_channels, 1)
        self.presence = nn.Linear(in_channels, 1)
        self.landmarks = nn.Linear(in_channels, 3 * num_keypoints)
        self.world_landmarks = nn.Linear(in_channels, 3 * num_keypoints)
        self.decoder = CODECS.build(decoder) if decoder is not None else None
        self.loss_module = CombinedLoss(losses, LOSS_NAMES,
                                        'HandLandmarkHead')

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        self.check_prior(prior)
        self.check_features(feats)
        pooled = feats.mean((2, 3))  # (B, C, h, w) -> (B, C): TFLite's MEAN
        return {
            'landmarks': self.landmarks(pooled),               # (B, 63)
            'presence_logits': self.presence(pooled),          # (B, 1)
            'handedness_logits': self.handedness(pooled),      # (B, 1)
            'world_landmarks': self.world_landmarks(pooled),   # (B, 63)
        }

    def loss(self, outputs: Mapping[str, torch.Tensor],
             batch: dict) -> Dict[str, torch.Tensor]:
        """L1 on the landmarks, cross-entropy on presence and handedness.

        Targets: ``landmark_coords`` (B, 21, 3) input pixels (x, y, z),
        ``landmark_weights`` (B, 21) for x and y, ``landmark_z_weights``
        (B, 21) for z (0 where the data has no depth; when the target is
        absent, ``landmark_weights``), ``hand_presence`` (B, 1) in [0, 1],
        ``handedness`` (B, 1) in [0, 1], the raw output's target (1: the
        model's label 'Left' of ``handedness.txt``, MediaPipe's mirrored
        convention: a right hand in an ordinary photo; the codec
        ``MediaPipeLandmarks`` encodes it) and ``handedness_weight`` (B, 1)
        (0 where unknown). The landmark error is in units of the input size
        (x / W, y / H, z / W), averaged over the weighted coordinates; the
        handedness cross-entropy is averaged over its weights (at least
        1).
        """
        terms = self.loss_module
        pred = outputs['landmarks']
        batch_size = pred.shape[0]

        def per_sample(name: str) -> torch.Tensor:
            """The (B, 1) target ``name`` in the outputs' dtype."""
            target = self.require_target(batch, name)
            if tuple(target.shape) != (batch_size, 1):
                raise ValueError(f'HandLandmarkHead: {name} must be '
                                 f'({batch_size}, 1), got '
                                 f'{tuple(target.shape)}')
            return target.to(pred.dtype)

        losses = {}
        if terms.active('landmarks'):
            coords = self.require_target(batch, 'landmark_coords',
                                         '(B, 21, 3) input pixels')
            weights = self.require_target(batch, 'landmark_weights')
            expected = (batch_size, self.num_keypoints, 3)
            if tuple(coords.shape) != expected or tuple(weights.shape) != \
                    expected[:2]:
                raise ValueError(f'HandLandmarkHead: landmark_coords must be '
                                 f'{expected} and landmark_weights '
                                 f'{expected[:2]}, got {tuple(coords.shape)} '
                                 f'and {tuple(weights.shape)}')
            width, height = self.input_size
            scale = pred.new_tensor([width, height, width])
            z_weights = batch['targets'].get('landmark_z_weights', weights)
            weights = torch.stack([weights, weights, z_weights.reshape(
                weights.shape)], -1).to(pred.dtype)  # (B, 21, 3)
            losses['loss_landmarks'] = terms(
                'landmarks', pred.view(expected) / scale,
                coords.to(pred.dtype) / scale, weights)
        if terms.active('presence'):
            losses['loss_presence'] = terms(
                'presence', outputs['presence_logits'],
                per_sample('hand_presence'))
        if terms.active('handedness'):
            losses['loss_handedness'] = terms(
                'handedness', outputs['handedness_logits'],
                per_sample('handedness'), per_sample('handedness_weight'))
        return losses

    def predict_tensors(self, outputs: Mapping[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        """MediaPipe's outputs: ``landmarks`` (B, 63) input px,
        ``presence`` and ``handedness`` (B, 1) probabilities,
        ``world_landmarks`` (B, 63) metres."""
        return {
            'landmarks': outputs['landmarks'],
            'presence': torch.sigmoid(outputs['presence_logits']),
            'handedness': torch.sigmoid(outputs['handedness_logits']),
            'world_landmarks': outputs['world_landmarks'],
        }

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> Dict[str, Any]:
        """Through the codec: ``keypoints`` (B, 21, 2) input px, ``scores``
        (B, 21), ``keypoints_z``, ``presence``, ``handedness``,
        ``world_keypoints`` (B, 21, 3) metres."""
        if self.decoder is None:
            raise ValueError('HandLandmarkHead was built without a decoder '
                             "(decoder=dict(type='MediaPipeLandmarks', "
                             '...)); it cannot decode')
        return self.decoder.decode(
            *(np.asarray(tensors[name], np.float32)
              for name in ('landmarks', 'presence', 'handedness',
                           'world_landmarks')))
