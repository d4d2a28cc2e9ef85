"""Estimators: backbone, optional neck and a cascade of heads; and the
depth regulariser trained on its own (the first stage of Cai et al.'s
frozen-regulariser ablation)."""
from .cascade import CascadeEstimator
from .depth_regularizer_pretrainer import DepthRegularizerPretrainer

__all__ = ['CascadeEstimator', 'DepthRegularizerPretrainer']
