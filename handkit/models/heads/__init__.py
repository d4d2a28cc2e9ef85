"""Heads: features (+ the previous head's outputs) -> maps, losses, preds."""
from .base_head import BaseHead
from .bone_tree_head import BoneTreeHead
from .delta_map_head import DeltaMapHead
from .depth_regularizer import DepthRegularizer
from .detnet_heatmap_head import DetNetHeatmapHead
from .graph_mesh_head import GraphMeshHead, WeakGraphMeshHead
from .hand_landmark_head import HandLandmarkHead
from .hand_seg_head import HandSegHead
from .keypoint_map_head import KeypointMapHead
from .latent_heatmap_head import LatentHeatmapHead
from .local_regression_head import LocalRegressionHead
from .location_map_head import LocationMapHead
from .mano_regression_head import MANORegressionHead
from .palm_detection_head import PalmDetectionHead
from .pose3d_regression_head import Pose3DRegressionHead
from .pose_prior_head import PosePriorHead
from .posenet_head import PoseNetHead
from .structure_mask_head import StructureMaskHead

__all__ = [
    'BaseHead', 'BoneTreeHead', 'DeltaMapHead', 'DepthRegularizer',
    'DetNetHeatmapHead', 'GraphMeshHead', 'HandLandmarkHead', 'HandSegHead',
    'KeypointMapHead', 'LatentHeatmapHead', 'LocalRegressionHead',
    'LocationMapHead', 'MANORegressionHead', 'PalmDetectionHead',
    'Pose3DRegressionHead', 'PosePriorHead', 'PoseNetHead',
    'StructureMaskHead', 'WeakGraphMeshHead'
]
