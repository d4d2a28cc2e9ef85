"""HeldOutSplit: one part of a seeded random split of a dataset.

For a run that trains on most samples of one dataset and reports on the
rest, e.g. the pre-training of Cai et al.'s depth regulariser (ECCV 2018;
``configs/cai/cai_depth_regularizer_pretrain_synthetic.py``): the training
and validation loaders each wrap the same dataset config, with
``part='train'`` and ``part='val'``, and get disjoint samples.
"""
from typing import Union

import torch
from torch.utils.data import Dataset

from handkit.registry import DATASETS

PARTS = ('train', 'val')


@DATASETS.register_module()
class HeldOutSplit(Dataset):
    """The ``part`` of ``dataset`` in a random split.

    The samples are ordered by ``torch.randperm`` with a generator seeded by
    ``seed``; the first ``max(1, round(val_fraction x N))`` are 'val', the
    others 'train'.

    Args:
        dataset: the dataset, or its config.
        val_fraction: the held-out share, in (0, 1).
        part: 'train' or 'val'.
        seed: seed of the order (the same in both loaders).
    """

    def __init__(self, dataset: Union[dict, Dataset], val_fraction: float,
                 part: str, seed: int = 0) -> None:
        if part not in PARTS:
            raise ValueError(f'HeldOutSplit: part must be one of {PARTS}, '
                             f'got {part!r}')
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f'HeldOutSplit: val_fraction must be in (0, 1), '
                             f'got {val_fraction!r}')
        self.dataset = (DATASETS.build(dataset) if isinstance(dataset, dict)
                        else dataset)
        size = len(self.dataset)
        num_val = max(1, int(round(val_fraction * size)))
        if num_val >= size:
            raise ValueError(f'HeldOutSplit: val_fraction={val_fraction} of '
                             f'{size} samples leaves none to train on')
        order = torch.randperm(
            size, generator=torch.Generator().manual_seed(seed)).tolist()
        self.indices = order[:num_val] if part == 'val' else order[num_val:]
        self.part = part

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    @property
    def pipeline(self):
        """The wrapped dataset's pipeline (what preflight checks)."""
        return self.dataset.pipeline

    def __len__(self) -> int:
        return len(self.indices)

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(self.indices[idx])

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[self.indices[idx]]
