"""High-level APIs: build a trained model and run it on images."""
from .inference import inference, init_model, prepare_inputs

__all__ = ['init_model', 'inference', 'prepare_inputs']
