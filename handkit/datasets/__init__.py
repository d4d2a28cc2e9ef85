"""Dataset adapters: one per on-disk format (docs/datasets.md,
docs/datasets_3d.md)."""
from .base import (AnnotationError, BaseHandDataset, DataRootNotFoundError,
                   load_json, pipeline_steps)
from .coco import CocoHandDataset
from .freihand import FreiHANDDataset
from .ganerated import GANeratedDataset
from .ge_real_world import GeRealWorldDataset
from .held_out_split import HeldOutSplit
from .nsrm import NSRMHandDataset
from .nyu import NYUHandDataset
from .onehand10k import OneHand10KDataset
from .panoptic import PanopticHandDataset
from .rhd import RHDDataset
from .stb import STBDataset
from .synthetic_dataset import SyntheticHandDataset
from .synthetic_ik import SyntheticIKDataset
from .synthhands import SynthHandsDataset

__all__ = [
    'AnnotationError', 'BaseHandDataset', 'DataRootNotFoundError',
    'load_json', 'pipeline_steps', 'CocoHandDataset', 'FreiHANDDataset',
    'GANeratedDataset', 'GeRealWorldDataset', 'HeldOutSplit',
    'NSRMHandDataset', 'NYUHandDataset', 'OneHand10KDataset',
    'PanopticHandDataset', 'RHDDataset', 'STBDataset',
    'SyntheticHandDataset', 'SyntheticIKDataset', 'SynthHandsDataset'
]
