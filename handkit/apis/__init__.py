"""High-level APIs: build a trained model and run it on images."""
from .hand_inferencer import HandInferencer
from .inference import (detect_hand, inference, init_model,
                        inverse_kinematics, prepare_inputs)

__all__ = ['init_model', 'inference', 'prepare_inputs', 'detect_hand',
           'inverse_kinematics', 'HandInferencer']
