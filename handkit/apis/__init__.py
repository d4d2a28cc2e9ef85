"""High-level APIs: build a trained model and run it on images."""
from .inference import inference, init_model

__all__ = ['init_model', 'inference']
