"""CMU Panoptic hand dataset adapter: both public releases of the hand data.

The NSRM paper (Section 4.1, Table 1) uses the 14,817 Panoptic Studio images
of ``hand143_panopticdb``, crops a square of 2.2 x the tightest keypoint box
around each hand (done later by the ``HandCrop`` transform, not here) and
divides the hands at random into training (80%), validation (10%) and testing
(10%). This adapter reads either release and reproduces that seeded split.
"""
import glob
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np

from handkit.datasets.base import (AnnotationError, BaseHandDataset,
                                   load_json)
from handkit.datasets.utils import seeded_split
from handkit.registry import DATASETS

HAND143_FILE = 'hands_v143_14817.json'
# Sub-folders of the hand_labels releases: manual_train/, manual_test/ (manual
# annotations) and synth1/ ... synth4/ (hand_labels_synth).
HAND_LABELS_FOLDERS = ('manual_*', 'synth*')


def _require(record, key, source):
    """``record[key]``, or an AnnotationError naming the source and key."""
    if not isinstance(record, dict) or key not in record:
        raise AnnotationError(f'{source}: missing key {key!r}')
    return record[key]


@DATASETS.register_module()
class PanopticHandDataset(BaseHandDataset):
    """CMU Panoptic hands (Simon et al., CVPR 2017), as used by NSRM.

    Two on-disk layouts, both from
    http://domedb.perception.cs.cmu.edu/handdb.html:

    * ``hand_labels``: ``manual_train/``, ``manual_test/`` (and ``synth*/``)
      folders, each ``NAME.jpg`` with ``NAME.json`` beside it holding
      ``hand_pts`` (21 x [x, y, visible]) and ``is_left`` (0 / 1);
    * ``hand143_panopticdb``: ``hands_v143_14817.json`` whose ``root`` list
      holds ``img_paths`` (e.g. ``imgs/00000000.jpg``) and ``joint_self``
      (21 x [x, y, visible]) per hand.

    Keypoints are already in handkit's order. A keypoint whose third column is
    0 keeps its coordinates but counts as unlabelled. Every sample of the
    release goes into one seeded permutation that is cut 80/10/10 into train,
    val and test (Section 4.1, Table 1): for the 14,817 hands of
    hand143_panopticdb this gives 11,853 / 1,482 / 1,482, as the paper. The
    manual_train / manual_test division of hand_labels is not used.

    Args:
        data_root: folder holding one of the two layouts.
        layout: 'auto' (by which files exist), 'hand_labels' or
            'hand143_panopticdb'.
        split: 'train', 'val' or 'test'.
        split_seed: seed of ``np.random.default_rng`` for the permutation.
        split_ratios: fractions (train, val, test), summing to 1.
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path``, ``img_id``, ``keypoints`` (21, 2),
    ``keypoints_visible`` (21,), ``bbox`` (tightest labelled-keypoint box),
    ``hand_side`` ('left' / 'right', hand_labels only) and ``img_shape``
    (h, w) where hand143_panopticdb states ``img_height`` / ``img_width``.
    """

    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='panoptic',
    )
    LAYOUT = f"""
either hand143_panopticdb:
  {HAND143_FILE}   ("root": [{{"img_paths", "joint_self"}}, ...])
  imgs/00000000.jpg ...
or hand_labels (hand_labels_synth likewise, with synth1/ ... synth4/):
  manual_train/NAME.jpg + NAME.json   ({{"hand_pts": 21 x [x, y, v], "is_left"}})
  manual_test/NAME.jpg + NAME.json
"""
    SOURCE = ('CMU Panoptic hand database, '
              'http://domedb.perception.cs.cmu.edu/handdb.html '
              '(hand143_panopticdb.tar or hand_labels.zip).')
    LAYOUTS = ('auto', 'hand_labels', 'hand143_panopticdb')

    def __init__(self,
                 data_root: str,
                 layout: str = 'auto',
                 split: str = 'train',
                 split_seed: int = 0,
                 split_ratios: Sequence[float] = (0.8, 0.1, 0.1),
                 **kwargs) -> None:
        if layout not in self.LAYOUTS:
            raise ValueError(f'PanopticHandDataset: layout must be one of '
                             f'{self.LAYOUTS}, got {layout!r}')
        self.layout = layout
        self.split_seed = split_seed
        self.split_ratios = self._check_ratios(split_ratios)
        super().__init__(split=split, data_root=data_root, **kwargs)

    @staticmethod
    def _check_ratios(split_ratios):
        ratios = np.asarray(split_ratios, dtype=np.float64)
        if (ratios.shape != (3, ) or (ratios < 0).any()
                or not np.isclose(ratios.sum(), 1.0)):
            raise ValueError(
                'PanopticHandDataset: split_ratios must be three '
                'non-negative fractions (train, val, test) summing to 1, '
                f'got {split_ratios!r}')
        return ratios

    @staticmethod
    def split_indices(num_samples: int, split_seed: int = 0,
                      split_ratios: Sequence[float] = (0.8, 0.1, 0.1)
                      ) -> Dict[str, np.ndarray]:
        """Seeded train / val / test division of ``num_samples`` samples.

        A permutation from ``np.random.default_rng(split_seed)``: its first
        ``floor(0.8 n)`` entries are train, the next up to ``floor(0.9 n)``
        val, the rest test (Section 4.1; floor reproduces Table 1).

        Returns:
            dict: 'train', 'val', 'test' -> sorted int64 index arrays.
        """
        ratios = PanopticHandDataset._check_ratios(split_ratios)
        # The small slack keeps e.g. (0.7 + 0.2) * 10 = 8.999... from
        # flooring to 8.
        ends = np.floor(np.cumsum(ratios)[:2] * num_samples + 1e-6).astype(int)
        sizes = np.diff(np.concatenate([[0], ends, [num_samples]]))
        parts = seeded_split(num_samples, split_seed, sizes)
        return {
            name: np.sort(part)
            for name, part in zip(('train', 'val', 'test'), parts)
        }

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        hand143_path = osp.join(self.data_root, HAND143_FILE)
        layout = self.layout
        if layout == 'auto':
            # Without either layout, report the hand143 file as missing: the
            # error's layout text then describes both.
            use_hand_labels = (not osp.isfile(hand143_path)
                               and bool(self._hand_labels_folders()))
            layout = 'hand_labels' if use_hand_labels else 'hand143_panopticdb'
        if layout == 'hand_labels':
            samples = self._load_hand_labels()
        else:
            samples = self._load_hand143(hand143_path)
        chosen = self.split_indices(len(samples), self.split_seed,
                                    self.split_ratios)[self.split]
        self.split_origin = (f'of {len(samples)} hands (split_ratios '
                             f'{tuple(self.split_ratios.tolist())})')
        return [samples[index] for index in chosen]

    def _hand_labels_folders(self):
        folders = []
        for pattern in HAND_LABELS_FOLDERS:
            folders += glob.glob(osp.join(self.data_root, pattern))
        return sorted(folder for folder in folders if osp.isdir(folder))

    def _sample(self, hand_points, source, img_path, img_id):
        """data_info of one hand from its 21 x [x, y, visible] list."""
        points = self.check_keypoints(hand_points, source, num_coords=3)
        keypoints = np.ascontiguousarray(points[:, :2])
        visible = (points[:, 2] > 0).astype(np.float32)
        return dict(img_path=img_path,
                    img_id=img_id,
                    keypoints=keypoints,
                    keypoints_visible=visible,
                    bbox=self.keypoint_box(keypoints, visible))

    def _load_hand_labels(self):
        folders = self._hand_labels_folders()
        if not folders:
            self.check_exists(osp.join(self.data_root, 'manual_train'),
                              'hand_labels folder')
        json_paths = [
            path for folder in folders
            for path in sorted(glob.glob(osp.join(folder, '*.json')))
        ]
        if not json_paths:
            self.check_exists(osp.join(folders[0], '*.json'),
                              'hand_labels annotation files (NAME.json)')
        samples = []
        for json_path in json_paths:
            record = load_json(json_path)
            stem = osp.splitext(json_path)[0]
            sample = self._sample(_require(record, 'hand_pts', json_path),
                                  json_path,
                                  img_path=stem + '.jpg',
                                  img_id=osp.relpath(stem, self.data_root))
            if 'is_left' in record:
                sample['hand_side'] = 'left' if record['is_left'] else 'right'
            samples.append(sample)
        return samples

    def _load_hand143(self, json_path):
        self.check_exists(json_path, 'annotation file')
        records = _require(load_json(json_path), 'root', json_path)
        if not isinstance(records, list):
            raise AnnotationError(
                f"{json_path}: 'root' must be a list of hand records, got "
                f'{type(records).__name__}')
        samples = []
        for index, record in enumerate(records):
            source = f'{json_path}: root[{index}]'
            img_path = _require(record, 'img_paths', source)
            sample = self._sample(_require(record, 'joint_self', source),
                                  f'{source} ({img_path!r})',
                                  img_path=osp.join(self.data_root, img_path),
                                  img_id=index)
            if 'img_height' in record and 'img_width' in record:
                sample['img_shape'] = (int(record['img_height']),
                                       int(record['img_width']))
            samples.append(sample)
        return samples
