"""handkit's models: backbones, heads, losses, estimators, data preprocessors
and the inverse-kinematics network.

Importing this package registers every model class in
``handkit.registry.MODELS``.
"""
from . import backbones
from . import data_preprocessors
from . import estimators
from . import hand_model
from . import heads
from . import ik
from . import losses

__all__ = ['backbones', 'data_preprocessors', 'estimators', 'hand_model',
           'heads', 'ik', 'losses']
