"""Dataset adapters: one per on-disk format (see docs/datasets.md)."""
from .base import (AnnotationError, BaseHandDataset, DataRootNotFoundError,
                   pipeline_steps)
from .coco import CocoHandDataset
from .nsrm import NSRMHandDataset
from .onehand10k import OneHand10KDataset
from .panoptic import PanopticHandDataset

__all__ = [
    'AnnotationError', 'BaseHandDataset', 'DataRootNotFoundError',
    'pipeline_steps', 'CocoHandDataset', 'NSRMHandDataset',
    'OneHand10KDataset', 'PanopticHandDataset'
]
