"""Estimators: backbone, optional neck and a cascade of heads."""
from .cascade import CascadeEstimator

__all__ = ['CascadeEstimator']
