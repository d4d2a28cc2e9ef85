"""Inverse kinematics: 3D joints -> joint rotations (Zhou et al.'s IKNet)."""
from .iknet import (IKNet, bone_vectors, mirror_quaternions,
                    quaternion_to_matrix)

__all__ = ['IKNet', 'bone_vectors', 'mirror_quaternions',
           'quaternion_to_matrix']
