"""The hand: its bones and kinematics (numpy and torch, no renderer).

:mod:`.bones` sums bone vectors into joints along the tree;
:mod:`.kinematics` holds the reference hand, forward kinematics, the rest
pose and the rest pose turned by joint rotations (IKNet's FK(Q)). The
synthetic generator, the models and the APIs import them from here.
"""
from .bones import BONE_ANCESTORS, bones_to_joints
from .kinematics import (forward_kinematics, reference_rest_pose, rest_pose,
                         rotate_rest_pose)

__all__ = ['BONE_ANCESTORS', 'bones_to_joints', 'forward_kinematics',
           'reference_rest_pose', 'rest_pose', 'rotate_rest_pose']
