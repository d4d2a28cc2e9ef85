"""SyntheticHandDataset: procedural hands, rendered by index.

``load_data_list`` holds one light record per sample (its id and seed).
Without a ``cache_dir``, ``get_data_info`` renders the sample, so data loader
workers render in parallel; with one, the whole split is rendered once into
the cache (``handkit.datasets.synthetic.cache``) and read back
memory-mapped, so no epoch and no later run renders again. The returned
``data_info`` already carries the decoded image, so a synthetic pipeline
starts at ``HandCrop`` (no ``LoadImage``). ``hand='mesh'`` renders the
open hand mesh instead of the capsule hand
(``handkit.datasets.synthetic.mesh_renderer``). See docs/synthetic.md for
the hand model and the renderers.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from handkit.datasets.base import BaseHandDataset
from handkit.datasets.synthetic.cache import ensure_cache, read_cache
from handkit.datasets.synthetic.hand_model import FILL_RANGE
from handkit.datasets.synthetic.renderer import check_image_size, render_hand
from handkit.registry import DATASETS

SPLIT_KEYS = {'train': 0, 'val': 1, 'test': 2}


def sample_seed(seed: int, split: str, index: int) -> int:
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
    box of the visible keypoints, ``occluded`` (21,) bool, ``hand_mask``
    (H, W) bool (the visible palm and finger pixels), ``hand_side`` ('left'
    / 'right'), plus ``sample_idx`` and ``sample_seed``; with ``with_depth``
    (rgb), also ``depth`` (H, W) float32 mm of the same rendered scene.
    With ``hand='mesh'`` also ``vertices`` (V, 3) float32 mm camera frame,
    ``hand_pose`` (45,) axis-angle (MANO's 15 joints, MANO's order),
    ``hand_shape`` (10,), ``global_orient`` (3,) and ``transl`` (3,) mm:
    ``HandModelLayer(side=hand_side, pose_type='axis_angle',
    output_scale=1000)`` of them gives ``vertices``.

    Args:
        num_samples: number of samples (>= 0).
        hand: 'capsule' (the procedural capsule hand, ``render_hand``) or
            'mesh' (the open hand mesh, ``render_mesh_hand``); cached apart.
        split: 'train', 'val' or 'test'.
        seed: base seed (int >= 0).
        image_size: int or (width, height).
        modality: 'rgb' or 'depth'.
        with_depth: with 'rgb', also give the depth map of the same scene
            (hand, forearm and occluders; 0 = background), e.g. for a
            depth regulariser: the renderer's 'rgbd' modality, cached apart
            from plain 'rgb'; 'depth' has it anyway.
        occlusion: 0..1, amount of random occluders in front of the hand.
        fill_range: range of the keypoint box's longest side over the shorter
            image side.
        left_ratio: chance of a left hand (a mirrored right hand); 0 renders
            right hands only.
        pose_mix: weights of the pose styles, e.g. ``dict(open=1)`` for open
            hands only; None: ``hand_model.POSE_MIX``.
        max_view_angle: None (every viewpoint) or the largest angle (degrees)
            between the palm normal and the viewing axis.
        background: 'shapes' (a gradient, noise blobs and a few shapes) or
            'clutter' (1/f colour fields under dead leaves, muted colours,
            straight edges, sometimes out of focus:
            ``renderer._clutter``); the same seed draws the same hand over
            either, cached apart.
        cache_dir: folder of the rendered-once cache, shared by every split,
            size and run (entries are keyed by all the arguments above and
            the renderer's source); None renders every sample on the fly.
        pipeline: transforms, starting at ``HandCrop``.
        test_mode: mmengine's flag.
        **kwargs: passed to ``BaseHandDataset`` (e.g. ``metainfo``,
            ``indices``, ``lazy_init``).
    """

    # the optional labels (handkit.labels) this adapter gives, each with
    # how to ask for it: preflight's hint when a dataset lacks one
    label_hints = dict(depth='SyntheticHandDataset(with_depth=True)',
                       occluded='SyntheticHandDataset',
                       hand_mask='SyntheticHandDataset')
    METAINFO = dict(BaseHandDataset.METAINFO, dataset_name='synthetic',
                    pck_thresholds=[0.04, 0.06, 0.08, 0.10, 0.12])

    def __init__(self,
                 num_samples: int = 1000,
                 hand: str = 'capsule',
                 split: str = 'train',
                 seed: int = 0,
                 image_size: Union[int, Tuple[int, int]] = (256, 256),
                 modality: str = 'rgb',
                 with_depth: bool = False,
                 occlusion: float = 0.3,
                 fill_range: Tuple[float, float] = FILL_RANGE,
                 left_ratio: float = 0.5,
                 pose_mix: Optional[Dict[str, float]] = None,
                 max_view_angle: Optional[float] = None,
                 background: str = 'shapes',
                 cache_dir: Optional[str] = None,
                 pipeline: Union[Sequence[Optional[dict]],
                                 Mapping[str, Optional[dict]]] = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        name = type(self).__name__
        if isinstance(num_samples, bool) or not isinstance(
                num_samples, (int, np.integer)) or num_samples < 0:
            raise ValueError(f'{name}: num_samples must be an int >= 0, got '
                             f'{num_samples!r}')
        if isinstance(seed, bool) or not isinstance(
                seed, (int, np.integer)) or seed < 0:
            raise ValueError(f'{name}: seed must be an int >= 0, got {seed!r}')
        if modality not in ('rgb', 'depth'):
            raise ValueError(f"{name}: modality must be 'rgb' or 'depth' "
                             f'(with_depth=True adds depth to rgb), got '
                             f'{modality!r}')
        if not 0.0 <= occlusion <= 1.0:
            raise ValueError(f'{name}: occlusion must be in [0, 1], got '
                             f'{occlusion!r}')
        if hand not in ('capsule', 'mesh'):
            raise ValueError(f"{name}: hand must be 'capsule' or 'mesh', got "
                             f'{hand!r}')
        self.hand = hand
        try:
            self.image_size = check_image_size(image_size)
        except ValueError as error:
            raise ValueError(f'{name}: {error}') from None
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        if with_depth and modality == 'rgb':
            modality = 'rgbd'
        self.modality = modality
        self.occlusion = float(occlusion)
        self.fill_range = tuple(fill_range)
        if not 0.0 <= left_ratio <= 1.0:
            raise ValueError(f'{name}: left_ratio must be in [0, 1], got '
                             f'{left_ratio!r}')
        self.render_args = dict(image_size=self.image_size,
                                modality=modality, occlusion=self.occlusion,
                                fill_range=self.fill_range,
                                left_ratio=float(left_ratio),
                                pose_mix=None if pose_mix is None else dict(
                                    pose_mix),
                                max_view_angle=max_view_angle)
        try:  # bad pose_mix / max_view_angle / background: one line now
            render_hand(0, **dict(self.render_args, image_size=(8, 8),
                                  background=background))
        except ValueError as error:
            raise ValueError(f'{name}: {error}') from None
        if hand == 'mesh':  # capsule entries keep their keys: no 'hand'
            self.render_args['hand'] = 'mesh'
        if background != 'shapes':  # nor 'shapes' entries a 'background'
            self.render_args['background'] = background
        self.cache_dir = cache_dir
        self._cache_entry, self._cache = None, None
        if self.num_samples == 0:
            # mmengine cannot serialise an empty data list.
            kwargs['serialize_data'] = False
        super().__init__(
            split=split, pipeline=pipeline, test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """One record per sample: ids and the seed, no pixels.

        With a ``cache_dir``, the split is rendered into the cache here if
        it is not there yet.
        """
        data_list = [
            dict(img_id=index,
                 img_path=f'synthetic://{self.split}/{index:06d}',
                 sample_seed=sample_seed(self.seed, self.split, index))
            for index in range(self.num_samples)
        ]
        if self.cache_dir is not None:
            self._cache_entry = ensure_cache(
                self.cache_dir, [info['sample_seed'] for info in data_list],
                self.render_args, description=f'({self.split} split) ')
        return data_list

    def _sample(self, data_info):
        """The rendered arrays of one sample: from the cache, or rendered."""
        if self._cache_entry is None:
            if self.hand == 'mesh':
                from handkit.datasets.synthetic.mesh_renderer import \
                    render_mesh_hand
                args = dict(self.render_args)
                del args['hand']
                return render_mesh_hand(data_info['sample_seed'], **args)
            return render_hand(data_info['sample_seed'], **self.render_args)
        if self._cache is None:  # opened lazily, once per process
            self._cache = read_cache(self._cache_entry, self.modality,
                                     self.hand)
        index = data_info['img_id']
        return {name: np.array(array[index])
                for name, array in self._cache.items()}

    def __getstate__(self):
        # Memory maps are reopened in each process, never pickled.
        return dict(self.__dict__, _cache=None)

    def get_data_info(self, idx: int) -> dict:
        """Sample ``idx`` (docs/architecture.md, section 1)."""
        data_info = super().get_data_info(idx)
        sample = self._sample(data_info)
        keypoints = sample['keypoints']
        visible = sample['keypoints_visible']
        height, width = sample['mask'].shape
        if self.modality in ('rgb', 'rgbd'):
            data_info['img'] = sample['image']
        if self.modality in ('depth', 'rgbd'):
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
            hand_mask=sample['mask'],
            hand_side='left' if sample['is_left'] else 'right',
        )
        if self.hand == 'mesh':
            data_info.update({name: sample[name] for name in (
                'vertices', 'hand_pose', 'hand_shape', 'global_orient',
                'transl')})
        return data_info
