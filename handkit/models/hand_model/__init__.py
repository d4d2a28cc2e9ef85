"""The hand-mesh layer: MANO's model file read as data
(:mod:`.model_file`) and the differentiable mesh (:mod:`.layer`,
registered in ``MODELS`` as ``HandModelLayer``). docs/hand_model.md."""
from .layer import HandModelLayer
from .model_file import (DEFAULT_TIP_VERTEX_IDS, MANO_JOINT_NAMES,
                         MANO_PARENTS, TIP_VERTEX_IDS, HandModelData,
                         HandModelFileError, HandModelNotFoundError,
                         apply_left_shapedirs_fix, load_hand_model)

__all__ = ['DEFAULT_TIP_VERTEX_IDS', 'HandModelData', 'HandModelFileError',
           'HandModelLayer', 'HandModelNotFoundError', 'MANO_JOINT_NAMES',
           'MANO_PARENTS', 'TIP_VERTEX_IDS', 'apply_left_shapedirs_fix',
           'load_hand_model']
