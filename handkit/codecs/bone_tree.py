"""Bone-tree codec: 3D joints <-> the 20 bone vectors of the hand's tree.

ResUnet (Bekiri and Babahenini, Section II-A) regresses bones instead of
joints:

    B_i = J_i - J_parent(i)                                   (eq. 3)

for the 20 non-root joints ``i = 1..20`` (bone ``b`` ends at joint ``b + 1``,
``handkit.skeleton.PARENTS`` gives the parents, wrist = root). A joint is
recovered "by summing the local coordinates of all bones along the path" from
the wrist. That sum is one matrix product with the constant ancestor matrix
``BONE_ANCESTORS`` (21, 20): entry [j, b] is 1 when bone ``b`` lies on the path
root -> j, so ``joints_rel = BONE_ANCESTORS @ bones`` (root-relative joints;
:mod:`handkit.hand.bones`).
"""
from typing import Optional, Union

import numpy as np
import torch

from handkit.codecs.base import BaseCodec
from handkit.hand.bones import bones_to_joints
from handkit.registry import CODECS
from handkit.skeleton import NUM_KEYPOINTS, NUM_LIMBS, PARENTS

Array = Union[np.ndarray, torch.Tensor]


@CODECS.register_module()
class BoneTree(BaseCodec):
    """Encode 3D joints as bones (eq. 3) and decode bones back to joints.

    ``encode(keypoints_3d (21, 3), keypoints_visible=None)`` returns

    * ``bones`` float32 (20, 3): ``J_{b+1} - J_parent(b+1)`` in the joints'
      units (mm for every 3D format in handkit);
    * ``keypoints_3d_rel`` float32 (21, 3): joints minus the wrist;
    * ``bone_weights`` float32 (20,): 1 when both ends of the bone are
      labelled (all ones when ``keypoints_visible`` is None).

    ``decode(bones (..., 20, 3))`` returns root-relative joints (..., 21, 3)
    (numpy or torch, whichever it is given). ``decode(encode(j)['bones'])``
    equals ``encode(j)['keypoints_3d_rel']`` up to float rounding.
    """

    # results keys GenerateTargets passes to encode: the 3D joints (mm)
    encode_inputs = ('keypoints_3d', 'keypoints_visible')

    def encode(self, keypoints_3d: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        keypoints_3d = np.asarray(keypoints_3d, dtype=np.float32)
        if keypoints_3d.shape != (NUM_KEYPOINTS, 3):
            raise ValueError(f'BoneTree.encode: keypoints_3d must have shape '
                             f'({NUM_KEYPOINTS}, 3), got {keypoints_3d.shape}')
        if not np.isfinite(keypoints_3d).all():
            raise ValueError('BoneTree.encode: keypoints_3d holds NaN or inf')
        if keypoints_visible is None:
            bone_weights = np.ones(NUM_LIMBS, np.float32)
        else:
            visible = np.asarray(keypoints_visible, np.float32)
            if visible.shape != (NUM_KEYPOINTS, ):
                raise ValueError(
                    f'BoneTree.encode: keypoints_visible must have shape '
                    f'({NUM_KEYPOINTS},), got {visible.shape}')
            bone_weights = visible[1:] * visible[PARENTS[1:]]
        return {
            'bones': keypoints_3d[1:] - keypoints_3d[PARENTS[1:]],
            'keypoints_3d_rel': keypoints_3d - keypoints_3d[:1],
            'bone_weights': bone_weights.astype(np.float32),
        }

    def decode(self, bones: Array) -> Array:
        """Root-relative joints (..., 21, 3) from bones (..., 20, 3)."""
        return bones_to_joints(bones)
