"""DetNetDetector: what the three detectors of Zhou et al.'s DetNet share.

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.1:
the heatmaps H, the delta maps D and the location maps L are each predicted
by a 2-layer CNN (:func:`~handkit.models.layers.two_layer_cnn`) from the
feature volume F and what the detectors before it predicted.
``DetNetHeatmapHead``, ``DeltaMapHead`` and ``LocationMapHead`` derive from
it and add their outputs, loss and read-out.
"""
from typing import Optional

import torch

from handkit.models.heads.base_head import BaseHead
from handkit.models.layers import two_layer_cnn
from handkit.registry import MODELS


def coordinate_channels(feats: torch.Tensor) -> torch.Tensor:
    """(B, 2, h, w) coordinates of ``feats``' pixels: channel 0 is x,
    ``linspace(-1, 1, w)`` along each row, channel 1 y, ``linspace(-1, 1,
    h)`` down each column (minimal-hand ``network.py:131-144``: the first
    channel varies along the width, the second along the height)."""
    batch, _, height, width = feats.shape
    x = torch.linspace(-1.0, 1.0, width, dtype=feats.dtype,
                       device=feats.device)
    y = torch.linspace(-1.0, 1.0, height, dtype=feats.dtype,
                       device=feats.device)
    grid = torch.stack([x[None].expand(height, width),
                        y[:, None].expand(height, width)])
    return grid[None].expand(batch, 2, height, width)


class DetNetDetector(BaseHead):
    """A 2-layer CNN from ``cat(F, prior)`` to ``maps_per_joint`` maps per
    joint, and the detector's loss module.

    Args:
        in_channels: channels of the features F.
        num_keypoints: K.
        hidden_channels: width of the 3x3 convolution.
        prior_channels: channels of the prior; 0: F alone.
        maps_per_joint: 1 (H) or 3 (D and L: a 3D vector per pixel).
        loss: the detector's loss config (``loss_module``).
        loss_weight: weight of its loss (a plain attribute).
        coord_channels: append two coordinate channels to F, ``linspace(-1,
            1)`` across the width (x) and down the height (y), before the
            prior: the official DetNet concatenates them to the features
            that every detector reads (CalciferZh/minimal-hand
            ``network.py:131-150``, ``get_pose_tile``), 2 x 9 x hidden
            weights per detector; False: handkit's former F alone.
    """

    def __init__(self, in_channels: int, num_keypoints: int,
                 hidden_channels: int, prior_channels: int,
                 maps_per_joint: int, loss: dict,
                 loss_weight: float, coord_channels: bool = True) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.prior_channels = prior_channels
        self.maps_per_joint = maps_per_joint
        self.coord_channels = bool(coord_channels)
        self.layers = two_layer_cnn(in_channels + prior_channels
                                    + 2 * self.coord_channels,
                                    hidden_channels,
                                    num_keypoints * maps_per_joint)
        self.loss_module = MODELS.build(loss)
        self.loss_weight = float(loss_weight)

    def detect(self, feats: torch.Tensor,
               prior: Optional[torch.Tensor]) -> torch.Tensor:
        """The maps from ``feats`` (B, in_channels, h, w) and ``prior``
        (B, prior_channels, h, w) or None, both checked: (B, K, h, w) with
        one map per joint, else (B, K, maps_per_joint, h, w)."""
        self.check_prior(prior)
        self.check_features(feats)
        parts = [feats]
        if self.coord_channels:
            parts.append(coordinate_channels(feats))
        if prior is not None:
            parts.append(prior)
        inputs = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
        maps = self.layers(inputs)
        if self.maps_per_joint == 1:
            return maps
        batch, _, height, width = maps.shape
        return maps.view(batch, self.num_keypoints, self.maps_per_joint,
                         height, width)
