"""SyntheticHandDataset: procedural hands rendered on the fly, by index.

Nothing is read from disk: ``load_data_list`` holds one light record per
sample (its id and seed) and ``get_data_info`` renders the sample, so data
loader workers render in parallel. The returned ``data_info`` already carries
the decoded image, so a synthetic pipeline starts at ``HandCrop`` (no
``LoadImage``). See docs/synthetic.md for the hand model and the renderer.
"""
import numpy as np

from handkit.datasets.base import BaseHandDataset
from handkit.datasets.synthetic.hand_model import FILL_RANGE
from handkit.datasets.synthetic.renderer import (MODALITIES,
                                                 check_image_size, render_hand)
from handkit.registry import DATASETS

SPLIT_KEYS = {'train': 0, 'val': 1, 'test': 2}


def sample_seed(seed, split, index):
    """The seed of sample ``index`` of ``split``: a 64-bit int.

    Derived with ``np.random.SeedSequence(seed, spawn_key=(split, index))``,
    so the splits of one seed draw from independent streams and never share a
    sample.
    """
    sequence = np.random.SeedSequence(
        seed, spawn_key=(SPLIT_KEYS[split], int(index)))
    return int(sequence.generate_state(1, np.uint64)[0])


@DATASETS.register_module()
class SyntheticHandDataset(BaseHandDataset):
    """Procedural hands with 2D and 3D keypoints and depth.

    A sample is a pure function of ``(seed, split, index)``: the same
    arguments give the same images on every machine and in every worker.
    ``data_root`` is not used.

    ``data_info`` keys: ``img`` (H, W, 3) uint8 BGR for 'rgb' or ``depth``
    (H, W) float32 mm, 0 = background, for 'depth' (with ``depth_path``);
    ``img_path`` ``'synthetic://<split>/<index:06d>'``, ``img_id`` (the
    index), ``img_shape`` and ``ori_shape`` (h, w), ``keypoints`` (21, 2),
    ``keypoints_visible`` (21,) (0 outside the image), ``keypoints_3d``
    (21, 3) mm camera frame, ``cam_K`` (3, 3), ``bbox`` (4,) the tightest
    box of the visible keypoints, ``occluded`` (21,) bool, plus
    ``sample_idx`` and ``sample_seed``.

    Args:
        num_samples: number of samples (>= 0).
        split: 'train', 'val' or 'test'.
        seed: base seed (int >= 0).
        image_size: int or (width, height).
        modality: 'rgb' or 'depth'.
        occlusion: 0..1, amount of random occluders in front of the hand.
        fill_range: range of the keypoint box's longest side over the shorter
            image side.
        pipeline: transforms, starting at ``HandCrop``.
        test_mode: mmengine's flag.
        **kwargs: passed to ``BaseHandDataset`` (e.g. ``metainfo``,
            ``indices``, ``lazy_init``).
    """

    METAINFO = dict(BaseHandDataset.METAINFO, dataset_name='synthetic',
                    pck_thresholds=[0.04, 0.06, 0.08, 0.10, 0.12])

    def __init__(self,
                 num_samples=1000,
                 split='train',
                 seed=0,
                 image_size=(256, 256),
                 modality='rgb',
                 occlusion=0.3,
                 fill_range=FILL_RANGE,
                 pipeline=(),
                 test_mode=False,
                 **kwargs):
        name = type(self).__name__
        if isinstance(num_samples, bool) or not isinstance(
                num_samples, (int, np.integer)) or num_samples < 0:
            raise ValueError(f'{name}: num_samples must be an int >= 0, got '
                             f'{num_samples!r}')
        if isinstance(seed, bool) or not isinstance(
                seed, (int, np.integer)) or seed < 0:
            raise ValueError(f'{name}: seed must be an int >= 0, got {seed!r}')
        if modality not in MODALITIES:
            raise ValueError(f'{name}: modality must be one of {MODALITIES}, '
                             f'got {modality!r}')
        if not 0.0 <= occlusion <= 1.0:
            raise ValueError(f'{name}: occlusion must be in [0, 1], got '
                             f'{occlusion!r}')
        try:
            self.image_size = check_image_size(image_size)
        except ValueError as error:
            raise ValueError(f'{name}: {error}') from None
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.modality = modality
        self.occlusion = float(occlusion)
        self.fill_range = tuple(fill_range)
        if self.num_samples == 0:
            # mmengine cannot serialise an empty data list.
            kwargs['serialize_data'] = False
        super().__init__(
            split=split, pipeline=pipeline, test_mode=test_mode,
            **kwargs)

    def load_data_list(self):
        """One record per sample: ids and the seed, no pixels."""
        return [
            dict(img_id=index,
                 img_path=f'synthetic://{self.split}/{index:06d}',
                 sample_seed=sample_seed(self.seed, self.split, index))
            for index in range(self.num_samples)
        ]

    def get_data_info(self, idx):
        """Render sample ``idx`` (docs/architecture.md, section 1)."""
        data_info = super().get_data_info(idx)
        sample = render_hand(data_info['sample_seed'], self.image_size,
                             self.modality, self.occlusion, self.fill_range)
        keypoints = sample['keypoints']
        visible = sample['keypoints_visible']
        height, width = sample['depth'].shape
        if self.modality == 'rgb':
            data_info['img'] = sample['image']
        else:
            data_info['depth'] = sample['depth']
            data_info['depth_path'] = data_info['img_path']
        data_info.update(
            img_shape=(height, width),
            ori_shape=(height, width),
            keypoints=keypoints,
            keypoints_visible=visible,
            keypoints_3d=sample['keypoints_3d'],
            cam_K=sample['cam_K'],
            bbox=self.keypoint_box(keypoints, visible),
            occluded=sample['occluded'],
        )
        return data_info
