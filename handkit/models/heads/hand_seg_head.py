"""HandSegHead: HandSegNet's hand / background segmentation (Zimmermann &
Brox, ICCV 2017, Section 4.1), and the hand crop derived from it.

Zimmermann and Brox, "Learning to Estimate 3D Hand Pose from Single RGB
Images", ICCV 2017: HandSegNet segments the hand in the whole image; the
crop that PoseNet sees is the box of the segmented hand. From the public
code (lmb-freiburg/hand3d; the paper describes the steps, not the numbers):

* after the encoder (``ZimmermannVGG(arch='handsegnet')``): a 1x1
  convolution to 512 channels with leaky ReLU (slope 0.01) and a 1x1
  convolution to 2 class
  scores, bilinearly upsampled to the image size
  (``ColorHandPose3DNetwork.inference_detection``);
* the loss: softmax cross-entropy of the two classes, averaged over every
  pixel of the batch (``training_handsegnet.py``;
  ``SegmentationCrossEntropyLoss``, the default ``loss``);
* the crop (``single_obj_scoremap``, ``calc_center_bb`` and
  ``inference``): the foreground is the rounded hand probability; the
  object kept is the one grown from the hand probability's maximum by
  21 x 21 dilations within the foreground; the crop is centred on its
  bounding box, 1.25 x the box's longer side; when no hand is found,
  centre (160, 160) px and 1.25 x 100 px (``utils/general.py:311-320``).

The target is the sample's ``hand_mask`` on the input grid, encoded by the
``HandMask`` codec at ``heatmap_size = input_size`` (``hand_masks`` (1, H,
W), the fraction of hand in each pixel: 0 or 1).
"""
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from handkit.models.heads.base_head import BaseHead
from handkit.models.layers import relu, upsample_on_grid
from handkit.models.weight_init import init_relu_convs
from handkit.registry import MODELS

# Foreground pixels this close (px) count as one object: the reach of
# their 21 x 21 dilation.
OBJECT_GAP_PX = 10
# Their crop when no hand is found: centre (160, 160) px and a 100 px box,
# which the crop then scales by 1.25 (lmb-freiburg/hand3d utils/general.py:
# 311-320; nets/ColorHandPose3DNetwork.py:119-120).
FALLBACK_CENTER_PX = (160.0, 160.0)
FALLBACK_BOX_PX = 100.0
FALLBACKS = ('official', 'image')


def crop_from_hand_mask(probability: np.ndarray, crop_scale: float = 1.25,
                        fallback: str = 'official'
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Hand probabilities (B, H, W) -> crop centres (B, 2) x, y px and
    crop sides (B,) px, Zimmermann & Brox's detection step.

    The foreground is ``probability >= 0.5``; the object is the foreground
    component holding the probability's maximum, pixels up to
    ``OBJECT_GAP_PX`` apart counted as connected (their growth by 21 x 21
    dilations); the crop is centred on its box and ``crop_scale`` x its
    longer side. A sample whose maximum is not foreground (no hand found)
    gets, with ``fallback='official'``, their constant crop: centre (160,
    160) px and ``crop_scale`` x 100 px (``utils/general.py:311-320``,
    whatever the image size); with 'image' (handkit's former choice, an
    option) the image centre and the image's longer side.
    """
    if fallback not in FALLBACKS:
        raise ValueError(f'crop_from_hand_mask: fallback must be one of '
                         f'{FALLBACKS}, got {fallback!r}')
    probability = np.asarray(probability, np.float32)
    if probability.ndim != 3:
        raise ValueError(f'crop_from_hand_mask: probability must be (B, H, '
                         f'W), got shape {probability.shape}')
    batch, height, width = probability.shape
    foreground = probability >= 0.5
    # Components of the foreground grown by half the gap, each image alone.
    reach = 2 * (OBJECT_GAP_PX // 2) + 1
    grown = ndimage.maximum_filter(foreground, size=(1, reach, reach))
    within_image = np.zeros((3, 3, 3), bool)
    within_image[1] = True  # 8-connected in (H, W), never across the batch
    labels, _ = ndimage.label(grown, structure=within_image)
    peak = probability.reshape(batch, -1).argmax(1)  # (B,)
    seed_label = labels.reshape(batch, -1)[np.arange(batch), peak]
    found = foreground.reshape(batch, -1)[np.arange(batch), peak]
    obj = foreground & (labels == seed_label[:, None, None])
    obj &= found[:, None, None]
    rows, cols = obj.any(2), obj.any(1)  # (B, H), (B, W)
    top, bottom = rows.argmax(1), height - 1 - rows[:, ::-1].argmax(1)
    left, right = cols.argmax(1), width - 1 - cols[:, ::-1].argmax(1)
    centre = np.stack([(left + right) / 2, (top + bottom) / 2], 1)
    side = crop_scale * np.maximum(right - left, bottom - top)
    if fallback == 'official':
        centre[~found] = FALLBACK_CENTER_PX
        side[~found] = crop_scale * FALLBACK_BOX_PX
    else:
        centre[~found] = ((width - 1) / 2, (height - 1) / 2)
        side[~found] = max(width, height)
    return centre.astype(np.float32), side.astype(np.float32)


@MODELS.register_module()
class HandSegHead(BaseHead):
    """Two-class segmentation logits (B, 2, H, W) at the input size.

    Args:
        in_channels: channels of the encoding (128).
        hidden_channels: width of the 1x1 convolution (512).
        stride: input pixels per feature pixel (8): the logits are
            upsampled by it.
        crop_scale: the crop side over the hand box's longer side (1.25).
        fallback: the crop when no hand is found: 'official' (their
            constant centre (160, 160) px, 1.25 x 100 px) or 'image'
            (handkit's former: the whole image), see
            :func:`crop_from_hand_mask`.
        negative_slope: of the leaky ReLU after the hidden 1x1
            convolution: 0.01, their ``conv_relu`` (``utils/general.py:
            28-33``); 0: handkit's former plain ReLU.
        loss: the segmentation loss (``SegmentationCrossEntropyLoss``,
            theirs).
        loss_weight: weight of ``loss_segmentation``.

    ``loss`` -> ``{'loss_segmentation'}`` from ``targets['hand_masks']``
    (``HandMask`` at the input size). ``predict`` -> ``hand_maps`` (B, 1,
    H, W) hand probability (kept with ``output_maps``; ``MaskIoUMetric(
    map_key='hand_maps')`` scores it), ``hand_mask`` (B, H, W) bool and
    ``hand_crop_center`` (B, 2) / ``hand_crop_size`` (B,) in input pixels
    (:func:`crop_from_hand_mask`). It hands no prior on.
    """

    def __init__(self, in_channels: int = 128, hidden_channels: int = 512,
                 stride: int = 8, crop_scale: float = 1.25,
                 fallback: str = 'official',
                 negative_slope: float = 0.01,
                 loss: dict = dict(type='SegmentationCrossEntropyLoss'),
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.stride = int(stride)
        self.crop_scale = float(crop_scale)
        if fallback not in FALLBACKS:
            raise ValueError(f'HandSegHead: fallback must be one of '
                             f'{FALLBACKS}, got {fallback!r}')
        self.fallback = fallback
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, 1), relu(negative_slope),
            nn.Conv2d(hidden_channels, 2, 1))
        init_relu_convs(self.layers, small_output=True)
        self.loss_module = MODELS.build(loss)
        self.loss_weight = float(loss_weight)

    def forward(self, feats: torch.Tensor,
                prior: Optional[torch.Tensor] = None) -> torch.Tensor:
        self.check_prior(prior)
        self.check_features(feats)
        logits = self.layers(feats)  # (B, 2, h, w)
        size = (feats.shape[2] * self.stride, feats.shape[3] * self.stride)
        return upsample_on_grid(logits, size)  # (B, 2, H, W)

    def loss(self, outputs: torch.Tensor,
             batch: dict) -> Dict[str, torch.Tensor]:
        target = self.require_target(batch, 'hand_masks',
                                     'the hand mask, HandMask codec')
        if target.shape[-2:] != outputs.shape[-2:]:
            raise ValueError(
                f'HandSegHead: the mask target is {tuple(target.shape[-2:])}'
                f' but the logits are {tuple(outputs.shape[-2:])}: encode '
                f'HandMask with heatmap_size = input_size')
        return {'loss_segmentation': self.loss_weight * self.loss_module(
            outputs, target)}

    def predict_tensors(self, outputs: torch.Tensor
                        ) -> Dict[str, torch.Tensor]:
        return {'hand_maps': outputs.float().softmax(1)[:, 1:]}

    def decode(self, tensors: Mapping[str, np.ndarray],
               batch: Optional[dict] = None) -> dict:
        hand_maps = np.asarray(tensors['hand_maps'], np.float32)
        centre, side = crop_from_hand_mask(hand_maps[:, 0], self.crop_scale,
                                           self.fallback)
        return {'hand_maps': hand_maps, 'hand_mask': hand_maps[:, 0] >= 0.5,
                'hand_crop_center': centre, 'hand_crop_size': side}
