"""The hand: its bones and kinematics (numpy and torch, no renderer).

:mod:`.bones` sums bone vectors into joints along the tree;
:mod:`.kinematics` holds the reference hand, forward kinematics, the rest
pose and the rest pose turned by joint rotations (IKNet's FK(Q));
:mod:`.mano_pose` writes the synthetic hand's finger chains as a MANO-format
hand's axis-angles. The synthetic generator, the hand-mesh layer, the models
and the APIs import them from here.
"""
from .bones import BONE_ANCESTORS, bones_to_joints
from .kinematics import (forward_kinematics, reference_rest_pose, rest_pose,
                         rotate_rest_pose)

__all__ = ['BONE_ANCESTORS', 'bones_to_joints', 'forward_kinematics',
           'reference_rest_pose', 'rest_pose', 'rotate_rest_pose']
