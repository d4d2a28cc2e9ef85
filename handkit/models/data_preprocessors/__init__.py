"""Data preprocessors: batch packed samples on the model's device."""
from .hand_data_preprocessor import HandDataPreprocessor

__all__ = ['HandDataPreprocessor']
