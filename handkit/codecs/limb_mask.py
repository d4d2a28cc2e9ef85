"""Limb masks (LDM / LPM) with G1 / G6 composition: NSRM's structure targets.

Encodes one hand's keypoints as masks of its 20 limbs (NSRM paper, Section
3.1, eq. 1-3), coalesced into limb groups by a per-pixel max (Section 3.2,
eq. 4). The maps are an auxiliary training target, so there is no decode.

Keypoints are converted to map coordinates (input pixels / stride, see
:mod:`handkit.codecs.keypoint_confidence_map`) first; ``sigma`` and ``width``
are in map pixels.
"""
from typing import Optional, Sequence

import numpy as np

from handkit.codecs.base import BaseCodec
from handkit.codecs.utils import (check_choice, check_keypoints,
                                  check_positive, check_size)
from handkit.registry import CODECS
from handkit.skeleton import (LIMB_GROUPS, LIMBS, NUM_KEYPOINTS,
                              group_membership)

KINDS = ('lpm', 'ldm')
DISTANCES = ('squared', 'linear')
# LPM exponents are floored here: exp(-87) = 1.6e-38 is still a normal
# float32; below it np.exp returns denormals about ten times slower. Composed
# values at the floor are then set to exactly 0.
_EXPONENT_FLOOR = np.float32(-87.0)
_FLOOR_VALUE = np.exp(_EXPONENT_FLOOR)


@CODECS.register_module()
class LimbMask(BaseCodec):
    """Limb Deterministic / Probabilistic Masks composed into limb groups.

    For a limb from keypoint A to keypoint B and a map pixel p:

    * LDM (eq. 1-2): 1 when the projection ``(p - A).(B - A)`` lies in
      ``[0, |AB|^2]`` and the perpendicular distance from p to the line AB is
      ``<= width`` (both inclusive), else 0: a rectangle, no round caps.
    * LPM (eq. 3): ``exp(-D^2 / (2 sigma^2))`` (``distance='squared'``, what
      the authors' code computes) or ``exp(-D / (2 sigma^2))``
      (``distance='linear'``, eq. 3 as printed), with D the Euclidean
      distance from p to the closest point of the segment AB.

    A zero-length limb (A == B) is the disk of radius ``width`` (LDM) or the
    Gaussian blob around the point (LPM). A limb with an invisible or
    unlabelled end point has no mask (the OneHand10K rule, Section 4.1):
    its map is zero, and since a zero there would teach "no limb" where the
    limb may well be, every group channel holding such a limb gets weight 0
    in ``limb_mask_weights`` (the structure loss then leaves it out). Each
    output channel is the per-pixel max over the limbs of one group (eq. 4),
    groups as in :mod:`handkit.skeleton`.

    Args:
        kind: 'lpm' or 'ldm'.
        groups: 'G1' (1 channel), 'G6' (6) or 'G1G6' (7).
        input_size: (width, height) of the network input, in pixels.
        heatmap_size: (width, height) of the masks.
        sigma: sigma_LPM of eq. 3, in map pixels (LPM only).
        width: sigma_LDM of eq. 1, the half-width of the rectangle, in map
            pixels (LDM only).
        distance: 'squared' or 'linear', the D term of eq. 3 (LPM only).
    """

    SETTINGS = ('kind', 'groups', 'input_size', 'heatmap_size', 'sigma',
                'width', 'distance')

    def __init__(self, kind: str = 'lpm', groups: str = 'G1',
                 input_size: Sequence[int] = (368, 368),
                 heatmap_size: Sequence[int] = (46, 46), sigma: float = 1.0,
                 width: float = 1.0, distance: str = 'squared') -> None:
        self.kind = check_choice(kind, 'kind', KINDS)
        self.groups = check_choice(groups, 'groups', tuple(LIMB_GROUPS))
        self.distance = check_choice(distance, 'distance', DISTANCES)
        self.input_size = check_size(input_size, 'input_size')
        self.heatmap_size = check_size(heatmap_size, 'heatmap_size')
        self.sigma = check_positive(sigma, 'sigma')
        self.width = check_positive(width, 'width')
        self.stride = (np.array(self.input_size, np.float32) /
                       np.array(self.heatmap_size, np.float32))
        self.num_channels = len(LIMB_GROUPS[groups])
        # eq. 4 groups as limb indices, one array per output channel
        membership = group_membership(groups)  # (C, 20)
        self._group_limbs = [np.flatnonzero(row) for row in membership]
        map_width, map_height = self.heatmap_size
        # grid shaped to broadcast against one value per limb: (20, H, W)
        self._grid_x = np.arange(map_width, dtype=np.float32)[None, None, :]
        self._grid_y = np.arange(map_height, dtype=np.float32)[None, :, None]

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Keypoints in input pixels -> composed limb masks.

        Args:
            keypoints: (21, 2) x, y in input pixels, handkit order.
            keypoints_visible: (21,) or None (all visible).

        Returns:
            dict: ``limb_masks`` float32 (C, H, W), C = 1, 6 or 7, and
            ``limb_mask_weights`` float32 (C,): 1 for a group whose limbs
            all have both end points visible, 0 for a group with a limb
            that has no mask.
        """
        keypoints, weights = check_keypoints(keypoints, keypoints_visible,
                                             NUM_KEYPOINTS)
        points = keypoints / self.stride  # (21, 2) map coordinates
        start, end = points[LIMBS[:, 0]], points[LIMBS[:, 1]]  # (20, 2)
        limb_valid = weights[LIMBS].min(axis=1)  # (20,)
        delta = end - start  # (20, 2)
        length2 = (delta**2).sum(axis=1)  # (20,)
        delta_x, delta_y = delta[:, 0, None, None], delta[:, 1, None, None]
        from_x = self._grid_x - start[:, 0, None, None]  # (20, 1, W)
        from_y = self._grid_y - start[:, 1, None, None]  # (20, H, 1)
        projection = from_x * delta_x + from_y * delta_y  # (20, H, W)
        if self.kind == 'ldm':
            limb_maps = self._deterministic(from_x, from_y, projection,
                                            delta_x, delta_y, length2)
        else:
            limb_maps = self._probabilistic(from_x, from_y, projection,
                                            delta_x, delta_y, length2)
        limb_maps[limb_valid == 0] = 0
        # eq. 4, a loop over at most 7 groups: a (C, 20, H, W) membership
        # product measured 3x slower for G1G6 at 46 x 46
        limb_masks = np.stack(
            [limb_maps[limbs].max(axis=0) for limbs in self._group_limbs])
        if self.kind == 'lpm':
            limb_masks[limb_masks <= _FLOOR_VALUE] = 0
        weights = np.array([limb_valid[limbs].min()
                            for limbs in self._group_limbs], np.float32)
        return dict(limb_masks=limb_masks,
                    limb_mask_weights=(weights > 0).astype(np.float32))

    def _deterministic(self, from_x, from_y, projection, delta_x, delta_y,
                       length2):
        """eq. 1-2 as a (20, H, W) float32 0/1 array."""
        length2 = length2[:, None, None]
        cross = from_x * delta_y - from_y * delta_x  # |AB| * distance to line
        # perpendicular distance <= width, squared and times |AB|^2 so that
        # axis-aligned and grid-aligned limbs meet the bound exactly
        inside = cross * cross <= self.width**2 * length2
        inside &= (projection >= 0) & (projection <= length2)
        zero_length = length2[:, 0, 0] == 0
        if zero_length.any():
            # the rectangle degenerates: use the disk of radius width
            distance2 = from_x[zero_length]**2 + from_y[zero_length]**2
            inside[zero_length] = distance2 <= self.width**2
        return inside.astype(np.float32)

    def _probabilistic(self, from_x, from_y, projection, delta_x, delta_y,
                       length2):
        """eq. 3 as a (20, H, W) float32 array."""
        # parameter of the closest point on the segment, 0 for a zero length
        inverse_length2 = np.divide(1.0, length2, out=np.zeros_like(length2),
                                    where=length2 > 0)
        along = projection * inverse_length2[:, None, None]
        np.clip(along, 0, 1, out=along)
        # offset from the closest point of the segment, in place: (20, H, W)
        off_x = along * delta_x
        np.subtract(from_x, off_x, out=off_x)
        off_y = np.multiply(along, delta_y, out=along)
        np.subtract(from_y, off_y, out=off_y)
        off_x *= off_x
        off_y *= off_y
        exponent = np.add(off_x, off_y, out=off_x)  # D^2
        if self.distance == 'linear':
            np.sqrt(exponent, out=exponent)
        exponent *= np.float32(-0.5 / self.sigma**2)
        np.maximum(exponent, _EXPONENT_FLOOR, out=exponent)
        return np.exp(exponent, out=exponent)
