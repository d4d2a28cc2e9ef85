"""The data pipeline: load, crop, augment, encode targets, pack.

Every class here is registered in ``handkit.registry.TRANSFORMS``; the order
and the keys each one reads and writes are fixed in docs/architecture.md,
section 2.
"""
from .depth import DepthCubeCrop, LoadDepth, LoadRHDDepth, LoadSTBDepth
from .formatting import PackHandInputs
from .geometric import HandCrop, RandomAffine, TopdownAffine
from .loading import LoadImage
from .mediapipe_roi import MediaPipeHandROI
from .photometric import CameraDegradation, PhotometricJitter
from .targets import GenerateTargets
from .weak_labels import SubsetLabels3D

__all__ = [
    'LoadImage', 'LoadDepth', 'LoadSTBDepth', 'LoadRHDDepth', 'DepthCubeCrop',
    'HandCrop', 'MediaPipeHandROI', 'RandomAffine', 'TopdownAffine', 'PhotometricJitter',
    'CameraDegradation',
    'GenerateTargets', 'PackHandInputs', 'SubsetLabels3D'
]
