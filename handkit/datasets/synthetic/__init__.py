"""Procedural synthetic hands: a 3D hand model and a numpy/OpenCV renderer.

``render_hand(seed)`` returns one image with its depth map, mask, 2D/3D
keypoints, occlusion flags and camera intrinsics; ``SyntheticHandDataset``
(``handkit.datasets.synthetic_dataset``) serves such samples by index.
See docs/synthetic.md.
"""
from handkit.datasets.synthetic.hand_model import LIMITS, sample_hands
from handkit.datasets.synthetic.renderer import (MODALITIES,
                                                 OCCLUSION_TOLERANCE_MM,
                                                 render_hand)

__all__ = [
    'LIMITS', 'MODALITIES', 'OCCLUSION_TOLERANCE_MM', 'render_hand',
    'sample_hands'
]
