"""Adapter for the Rendered Hand Pose Dataset (RHD; Zimmermann & Brox 2017).

RHD (introduced in the work the survey slides list as "Zimmermann &
Brox (RHD)") renders 20 characters performing 39 actions: 41,258 training
and 2,728 evaluation images of 320 x 320 px, each annotated with both hands.

Labels. ``anno_<set>.pickle`` maps a sample id to ``{'uv_vis': (42, 3)``
(u, v in px and a visibility flag), ``'xyz': (42, 3)`` (camera frame, metres),
``'K': (3, 3)}``. It is read as data (``handkit.fileio.load_data_pickle``):
a pickled object other than numpy's arrays stops the load in one line
before anything in it runs. Keypoints 0-20 are the left hand, 21-41 the right; within a
hand: wrist, then thumb, index, middle, ring, little, each finger *tip first*
(tip, DIP, PIP, MCP). ``RHD_TO_HANDKIT`` reverses every finger to handkit's
base-first order; xyz is converted to mm.

One data_info per sample. Which hand (``hands``):

* 'mask_pixels': the hand with more pixels in the sample's mask
  ``<set>/mask/<id>.png`` (labels 2-17 left, 18-33 right), the left hand
  only on a strict majority: Zimmermann & Brox's reader
  (lmb-freiburg/hand3d ``data/BinaryDbReader.py:213-233``), the hand the
  papers' RHD numbers score. It reads every mask once when the list is
  built (a missing mask folder or file stops the dataset with its path);
* 'visible_keypoints': the hand with more visible keypoints (the right
  hand on a tie), handkit's former choice, kept as an option (it picks
  the other hand on some evaluation images, docs/models_3d.md);
* 'auto' (the default): 'mask_pixels' when the set has its ``mask``
  folder, else 'visible_keypoints'; the dataset's ``hand_choice``
  attribute says which was used (not its metainfo, which a
  ``ConcatDataset`` requires to agree across its members);
* 'left' or 'right': always that hand.

Root joint. RHD labels the wrist; STB, in the same slot, the palm centre.
``root_joint='palm_center'`` puts the palm in joint 0 instead, as
Zimmermann & Brox's RHD reader does to train with STB (``use_wrist_coord=
False``): the midpoint of the wrist and the middle MCP in 3D and in 2D,
labelled when either is, and ``metainfo['root_joint'] = 'palm_center'``
(STB's), so that the two sets mean one joint by joint 0.

Masks. ``<set>/mask/<id>.png`` labels every pixel: 0 background, 1 the
person, 2-17 the left hand's parts, 18-33 the right hand's. With
``with_masks=True`` each sample gets that ``mask_path`` and
``mask_min_label=2``, so ``LoadImage`` reads ``hand_mask`` = the pixels of
either hand: the 2-class target of Zimmermann & Brox's HandSegNet.

Depth. ``<set>/depth/<id>.png`` is the depth of the same render, in the
colour camera: an 8-bit, 3-channel PNG, ``depth = (R * 256 + G) / 65535 *
5 m`` (the release's ``view_samples.py``). With ``with_depth=True`` each
sample gets that ``depth_path`` and, as ``segmentation_path``, its mask,
whose background (label 0) ``LoadRHDDepth`` sets to 0 (RHD gives the
background a far depth; ``handkit.datasets.utils.read_rhd_depth``): the
depth image of Cai et al.'s depth regulariser.
"""
import os.path as osp
from typing import List

import numpy as np

from handkit.datasets.base import AnnotationError, BaseHandDataset
from handkit.datasets.utils import PCK_THRESHOLDS_MM
from handkit.fileio import load_data_pickle
from handkit.registry import DATASETS
from handkit.skeleton import KEYPOINT_NAMES, NUM_KEYPOINTS, TIP_FIRST_ORDER

# handkit index i takes RHD keypoint RHD_TO_HANDKIT[i] of the chosen hand.
RHD_TO_HANDKIT = TIP_FIRST_ORDER
RHD_HAND_OFFSET = dict(left=0, right=NUM_KEYPOINTS)
RHD_IMAGE_SHAPE = (320, 320)
MIDDLE_MCP = KEYPOINT_NAMES.index('middle_mcp')
_RECORD_SHAPES = dict(uv_vis=(2 * NUM_KEYPOINTS, 3),
                      xyz=(2 * NUM_KEYPOINTS, 3), K=(3, 3))


@DATASETS.register_module()
class RHDDataset(BaseHandDataset):
    """RHD as released: ``training/`` and ``evaluation/`` folders.

    Args:
        data_root: folder holding ``training/`` and ``evaluation/``
            (``RHD_published_v2``).
        split: 'train' (``training``) or 'test' (``evaluation``).
        hands: 'auto', 'mask_pixels', 'visible_keypoints', 'left' or
            'right' (see the module docstring).
        root_joint: 'wrist' (RHD's) or 'palm_center' (the palm in joint
            0, see the module docstring).
        with_masks: also give each sample its hand-part ``mask_path`` (see
            the module docstring); a missing mask folder or file stops the
            dataset with the path at fault.
        with_depth: also give each sample its ``depth_path`` and its mask
            as ``segmentation_path`` (for ``LoadRHDDepth``, see the module
            docstring); a missing depth or mask folder or file stops the
            dataset with the path at fault.
        **kwargs: passed to ``BaseHandDataset`` / mmengine's ``BaseDataset``.

    Each ``data_info`` holds ``img_path``, ``img_id`` (the sample id),
    ``hand_side`` ('left' / 'right'), ``keypoints`` (21, 2) px as stored,
    ``keypoints_visible`` (21,) the stored flags (joint 0 the palm's with
    ``root_joint='palm_center'``), ``bbox`` (tightest box of
    the visible keypoints), ``img_shape`` (320, 320), ``keypoints_3d``
    (21, 3) mm in the camera frame, ``cam_K`` (3, 3); with ``with_masks``,
    ``mask_path`` and ``mask_min_label``; with ``with_depth``,
    ``depth_path`` and ``segmentation_path``.
    """

    # the optional labels (handkit.labels) this adapter gives, each with
    # how to ask for it: preflight's hint when a dataset lacks one
    label_hints = dict(depth='RHDDataset(with_depth=True) + LoadRHDDepth',
                       hand_mask='RHDDataset(with_masks=True)')
    METAINFO = dict(
        BaseHandDataset.METAINFO,
        dataset_name='rhd',
        pck_thresholds_mm=PCK_THRESHOLDS_MM,
    )
    LAYOUT = """
training/anno_training.pickle  ({id: {'uv_vis', 'xyz' (m), 'K'}})
training/color/00000.png ...
evaluation/anno_evaluation.pickle
evaluation/color/00000.png ...
<set>/mask/00000.png ...   (with_masks, with_depth: 0 bg, 1 person, 2-33 hands)
<set>/depth/00000.png ...  (with_depth=True: (R * 256 + G) / 65535 * 5 m)
"""
    SOURCE = ('Rendered Hand Pose Dataset, Zimmermann & Brox 2017, '
              'https://lmb.informatik.uni-freiburg.de/resources/datasets/'
              'RenderedHandposeDataset.en.html')
    SPLITS = ('train', 'test')
    SPLIT_SETS = dict(train='training', test='evaluation')
    HANDS = ('auto', 'mask_pixels', 'visible_keypoints', 'left', 'right')
    # right-hand parts: labels 18-33 (BinaryDbReader.py:216)
    MASK_MIN_RIGHT_LABEL = 18
    ROOT_JOINTS = ('wrist', 'palm_center')
    # hand-part labels: 2-17 left, 18-33 right (0 background, 1 person)
    MASK_MIN_HAND_LABEL = 2

    def __init__(self, data_root: str, split: str = 'train',
                 hands: str = 'auto', root_joint: str = 'wrist',
                 with_masks: bool = False, with_depth: bool = False,
                 **kwargs) -> None:
        if hands not in self.HANDS:
            raise ValueError(f'RHDDataset: hands must be one of {self.HANDS}, '
                             f'got {hands!r}')
        if root_joint not in self.ROOT_JOINTS:
            raise ValueError(f'RHDDataset: root_joint must be one of '
                             f'{self.ROOT_JOINTS}, got {root_joint!r}')
        self.hands = hands
        self.hand_choice = hands  # 'auto' resolved by load_data_list
        self.root_joint = root_joint
        self.with_masks = bool(with_masks)
        self.with_depth = bool(with_depth)
        super().__init__(split=split, data_root=data_root, **kwargs)
        if root_joint == 'palm_center':
            # after mmengine's metainfo loading, which would try a string
            # value as a file name
            self._metainfo['root_joint'] = root_joint

    @staticmethod
    def _record_arrays(record, source):
        """(uv_vis, xyz, K) float64 arrays of one sample, shapes checked."""
        if not isinstance(record, dict):
            raise AnnotationError(f'{source}: expected a dict, got '
                                  f'{type(record).__name__}')
        arrays = []
        for key, shape in _RECORD_SHAPES.items():
            if key not in record:
                raise AnnotationError(f'{source}: no key {key!r}')
            array = np.asarray(record[key], dtype=np.float64)
            if array.shape != shape:
                raise AnnotationError(f'{source}: {key!r} must be {shape}, '
                                      f'got {array.shape}')
            arrays.append(array)
        return arrays

    def load_data_list(self) -> List[dict]:
        self.check_exists(self.data_root, 'data_root folder')
        set_name = self.SPLIT_SETS[self.split]
        set_dir = self.check_exists(osp.join(self.data_root, set_name),
                                    f'{set_name} folder')
        anno_path = self.check_exists(
            osp.join(set_dir, f'anno_{set_name}.pickle'), 'annotation file')
        # read as data: a global other than numpy's array builders stops
        # the load before anything is called (UnsafeFileError)
        try:
            annotations = load_data_pickle(anno_path)
        except ValueError as error:
            raise AnnotationError(str(error)) from None
        if not isinstance(annotations, dict) or not annotations:
            raise AnnotationError(f'{anno_path}: expected a non-empty dict '
                                  f'sample id -> annotation')

        sample_ids = sorted(annotations)
        uv_vis, xyz, cam_k = (np.stack(arrays) for arrays in zip(*(
            self._record_arrays(annotations[sample_id],
                                f'{anno_path} sample {sample_id}')
            for sample_id in sample_ids)))  # (N, 42, 3), (N, 42, 3), (N, 3, 3)

        visible_all = uv_vis[..., 2] > 0  # (N, 42)
        choice = self.hands
        if choice == 'auto':
            choice = ('mask_pixels' if osp.isdir(osp.join(set_dir, 'mask'))
                      else 'visible_keypoints')
        self.hand_choice = choice
        masks = (self._sample_files(set_dir, 'mask', sample_ids)
                 if choice == 'mask_pixels' or self.with_masks
                 or self.with_depth else None)
        if choice == 'mask_pixels':
            pixels = np.array([self.mask_hand_pixels(path)
                               for path in masks])  # (N, 2)
            left_wins = pixels[:, 0] > pixels[:, 1]  # (N,)
        elif choice == 'visible_keypoints':
            left_wins = (visible_all[:, :NUM_KEYPOINTS].sum(axis=1)
                         > visible_all[:, NUM_KEYPOINTS:].sum(axis=1))
        if choice in ('mask_pixels', 'visible_keypoints'):
            offsets = np.where(left_wins, RHD_HAND_OFFSET['left'],
                               RHD_HAND_OFFSET['right'])
        else:
            offsets = np.full(len(sample_ids), RHD_HAND_OFFSET[self.hands])
        gather = offsets[:, None] + RHD_TO_HANDKIT[None]  # (N, 21)
        rows = np.arange(len(sample_ids))[:, None]
        keypoints = uv_vis[rows, gather, :2]  # (N, 21, 2)
        visible = uv_vis[rows, gather, 2].astype(np.float32)  # (N, 21)
        keypoints_3d = xyz[rows, gather] * 1000.0  # (N, 21, 3) mm
        if self.root_joint == 'palm_center':
            for points in (keypoints, keypoints_3d):
                points[:, 0] = 0.5 * (points[:, 0] + points[:, MIDDLE_MCP])
            visible[:, 0] = np.maximum(visible[:, 0], visible[:, MIDDLE_MCP])

        depths = (self._sample_files(set_dir, 'depth', sample_ids)
                  if self.with_depth else None)
        data_list = []
        for index, sample_id in enumerate(sample_ids):
            source = f'{anno_path} sample {sample_id}'
            points = self.check_keypoints(keypoints[index], source, 2)
            data_list.append(dict(
                img_path=osp.join(set_dir, 'color',
                                  f'{int(sample_id):05d}.png'),
                img_id=sample_id,
                hand_side=('left' if offsets[index] == RHD_HAND_OFFSET['left']
                           else 'right'),
                keypoints=points,
                keypoints_visible=visible[index],
                bbox=self.keypoint_box(points, visible[index]),
                img_shape=RHD_IMAGE_SHAPE,
                keypoints_3d=self.check_keypoints(keypoints_3d[index], source,
                                                  3),
                cam_K=cam_k[index].astype(np.float32)))
            if self.with_masks:
                data_list[-1].update(mask_path=masks[index],
                                     mask_min_label=self.MASK_MIN_HAND_LABEL)
            if self.with_depth:
                data_list[-1].update(depth_path=depths[index],
                                     segmentation_path=masks[index])
        return data_list

    @classmethod
    def mask_hand_pixels(cls, path: str) -> tuple:
        """(left, right) pixel counts of one RHD mask PNG: labels 2-17
        and 18-33 (``BinaryDbReader.py:214-221``)."""
        import cv2
        mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise AnnotationError(f'{path}: not a readable mask image')
        if mask.ndim == 3:
            mask = mask[..., 0]
        left = int(((mask >= cls.MASK_MIN_HAND_LABEL)
                    & (mask < cls.MASK_MIN_RIGHT_LABEL)).sum())
        return left, int((mask >= cls.MASK_MIN_RIGHT_LABEL).sum())

    def _sample_files(self, set_dir: str, kind: str,
                      sample_ids: List) -> List[str]:
        """``<set>/<kind>/<id>.png`` of each sample, each checked to exist
        (the folder first)."""
        folder = self.check_exists(osp.join(set_dir, kind), f'{kind} folder')
        return [self.check_exists(
            osp.join(folder, f'{int(sample_id):05d}.png'), f'{kind} file')
            for sample_id in sample_ids]
