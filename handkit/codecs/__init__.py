"""Codecs: encode keypoints into training targets and decode predictions.

Each codec derives from :class:`BaseCodec` (``encode_inputs``, ``encode``,
``decode``; docs/architecture.md section 6), is registered in
``handkit.registry.CODECS`` and built from a config dict such as
``dict(type='LimbMask', kind='lpm', groups='G1G6')``.
"""
from .base import BaseCodec
from .bone_tree import BoneTree
from .canonical_frame import CanonicalFrame
from .depth_cube import DepthCube
from .depth_lifted_keypoints import DepthLiftedKeypoints
from .hand_mask import HandMask
from .integral_coordinates import IntegralCoordinates
from .keypoint_confidence_map import KeypointConfidenceMap
from .limb_mask import LimbMask
from .location_map import LocationMap
from .mano_params import HandModelParams, MANOParams, MaskDistanceField
from .mediapipe_landmarks import MediaPipeLandmarks
from .mediapipe_palm import MediaPipePalmAnchors
from .mesh_targets import CropDepthTarget, RootRelativeMesh
from .normalized_depth_map import NormalizedDepthMap
from .normalized_pose3d import NormalizedPose3D
from .root_relative_2d import RootRelative2D
from .score_map import GaussianScoreMap

__all__ = [
    'BaseCodec', 'BoneTree', 'CanonicalFrame', 'CropDepthTarget', 'DepthCube',
    'DepthLiftedKeypoints', 'GaussianScoreMap', 'HandMask', 'HandModelParams',
    'IntegralCoordinates', 'KeypointConfidenceMap', 'LimbMask', 'LocationMap',
    'MANOParams', 'MaskDistanceField', 'MediaPipeLandmarks',
    'MediaPipePalmAnchors', 'NormalizedDepthMap',
    'NormalizedPose3D', 'RootRelative2D', 'RootRelativeMesh'
]
