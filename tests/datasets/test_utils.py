"""The pieces the adapters share (handkit/datasets/utils.py), and the rule
that no adapter imports another."""
import ast
from pathlib import Path

import numpy as np
import pytest

from handkit.datasets import (BaseHandDataset, FreiHANDDataset,
                              OneHand10KDataset, STBDataset)
from handkit.datasets.panoptic import PanopticHandDataset
from handkit.datasets.utils import PCK_THRESHOLDS_MM, seeded_split

DATASETS = Path(__file__).resolve().parents[2] / 'handkit' / 'datasets'
ADAPTERS = {'coco', 'freihand', 'ganerated', 'nsrm', 'nyu', 'onehand10k',
            'panoptic', 'rhd', 'stb', 'synthetic_dataset', 'synthhands'}


def test_seeded_split_cuts_one_seeded_permutation():
    parts = seeded_split(10, 3, (2, 5, 3))
    order = np.random.default_rng(3).permutation(10)
    assert [len(part) for part in parts] == [2, 5, 3]
    np.testing.assert_array_equal(np.concatenate(parts), order)
    np.testing.assert_array_equal(parts[0], order[:2])
    with pytest.raises(ValueError, match=r'split sizes \[2, 5\] must be >= 0 '
                       'and sum to 10'):
        seeded_split(10, 3, (2, 5))


def test_panoptic_split_is_the_seeded_split_cut_80_10_10():
    parts = PanopticHandDataset.split_indices(20, split_seed=5)
    train, val, test = seeded_split(20, 5, (16, 2, 2))
    for name, part in (('train', train), ('val', val), ('test', test)):
        np.testing.assert_array_equal(parts[name], np.sort(part))


def test_adapters_take_the_metainfo_of_the_base():
    base = BaseHandDataset.METAINFO
    for adapter in (FreiHANDDataset, STBDataset):
        assert adapter.METAINFO['num_keypoints'] == base['num_keypoints']
        assert adapter.METAINFO['keypoint_names'] == base['keypoint_names']
        assert adapter.METAINFO['pck_thresholds_mm'] == PCK_THRESHOLDS_MM
    assert STBDataset.METAINFO['root_joint'] == 'palm_center'
    # OneHand10K's own PCK thresholds (NSRM Table 2)
    assert OneHand10KDataset.METAINFO['pck_thresholds'] == [
        0.10, 0.15, 0.20, 0.25, 0.30]


def test_no_adapter_imports_another():
    for name in sorted(ADAPTERS | {'utils', 'base'}):
        tree = ast.parse((DATASETS / f'{name}.py').read_text())
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}
        others = {module for module in imported
                  if module.startswith('handkit.datasets.')
                  and module.split('.')[2] in ADAPTERS - {name}}
        assert not others, f'{name}.py imports {sorted(others)}'
    tree = ast.parse((DATASETS / 'transforms' / 'depth.py').read_text())
    assert not {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)} & {
                    f'handkit.datasets.{adapter}' for adapter in ADAPTERS}
