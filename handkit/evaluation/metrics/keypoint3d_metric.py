"""3D keypoint metrics: EPE / 3D PCK / AUC 20-50 mm, and the NYU protocol.

:class:`Keypoint3DMetric` is the protocol of the ResUnet paper (Bekiri and
Babahenini, Section III.B "Metric Evaluation": EPE in mm for 3D and px for 2D,
PCK and the AUC between 20 and 50 mm). :class:`NYUMetric` is Li and Wang's NYU
protocol ("Results"): the mean 3D joint error and the fraction of frames whose
worst joint error is under a threshold. The numbers come from
``handkit.evaluation.functional3d``; these classes only collect the
estimator's per-sample predictions (docs/architecture.md, section 5).
"""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from handkit.evaluation.functional3d import (auc_3d, epe,
                                             nyu_success_fraction, pck_3d,
                                             root_relative)
from handkit.evaluation.metrics.table import Column, TabulatedMetric
from handkit.evaluation.metrics.table import sample_array
from handkit.evaluation.protocols import (PROTOCOLS, aligned_points,
                                          get_protocol, protocol_measures)
from handkit.registry import METRICS
from handkit.skeleton import NUM_KEYPOINTS, PARENTS

DEFAULT_PCK_THRESHOLDS_MM = (20, 25, 30, 35, 40, 45, 50)
# the 3D PCK columns of the printed table (a row without one shows '-')
TABLE_PCK_THRESHOLDS_MM = (20, 30, 40, 50)


def _evaluated_joints(metric, num_joints):
    """Indices of the joints a metric scores: its ``joint_indices``, else the
    dataset's ``eval_keypoint_indices`` metainfo, else all ``num_joints``."""
    indices = metric.joint_indices
    if indices is None:
        indices = (metric.dataset_meta or {}).get('eval_keypoint_indices')
    if indices is None:
        return np.arange(num_joints)
    indices = np.asarray(indices, np.int64)
    if indices.ndim != 1 or indices.min() < 0 or indices.max() >= num_joints:
        raise ValueError(f'{type(metric).__name__}: joint indices '
                         f'{indices.tolist()} do not fit predictions of '
                         f'{num_joints} joints')
    return indices


@METRICS.register_module()
class Keypoint3DMetric(TabulatedMetric):
    """EPE_3D (mm), 3D PCK, AUC over 20-50 mm and, with 2D predictions, EPE_2D.

    Reads ``pred_keypoints_3d`` and ``gt_keypoints_3d`` (J, 3) mm,
    ``gt_keypoints_visible`` (J,) (joints counted; all when absent) and, when
    both are present, ``pred_keypoints`` / ``gt_keypoints`` (J, 2) original
    pixels.

    Args:
        root_relative: subtract the root joint from prediction and ground
            truth first (ResUnet predicts wrist-relative joints; Bekiri and
            Babahenini).
        root_index: index of the root joint (0: handkit's wrist).
        pck_thresholds_mm: 3D PCK thresholds; default: the dataset's
            ``pck_thresholds_mm`` metainfo, else 20, 25, ..., 50.
        auc_range: (low, high) mm of the PCK curve whose normalised area is
            ``AUC_<low>-<high>``.
        mode: 'joints' compares joint positions; 'bone' compares the 20 bone
            vectors ``J_i - J_parent(i)`` (Bekiri and Babahenini, eq. 3;
            21-joint skeletons only), each counted when both its ends are
            labelled.
        mean_pose_baseline: also report ``EPE_3D_mean_pose``: the EPE of
            predicting, for every sample, the mean ground-truth pose of the
            evaluated set (root-relative when ``root_relative``). It is an
            oracle-mean baseline (it uses the test labels): a model that has
            learnt anything must be far below it.
        joint_indices: score only these joints (after the root is
            subtracted); default: the dataset's ``eval_keypoint_indices``
            metainfo (NYU's 14 protocol joints of a 36-joint model), else
            every joint.
        scale_bone: (a, b) joints, or None. Given, each root-relative
            prediction is scaled so that its bone a -> b is as long as the
            ground truth's: the root-and-scale alignment of Zimmermann &
            Brox ("Learning to Estimate 3D Hand Pose from Single RGB
            Images", ICCV 2017), the protocol of Zhou et al.'s STB / RHD
            AUC ((0, 9): wrist -> middle MCP). Needs ``root_relative`` and
            mode 'joints', and takes no ``mean_pose_baseline`` (a constant
            pose has no scale of its own to align: the mean of differently
            turned hands has a short bone, which the alignment would
            inflate); give the metric a ``prefix`` (e.g. 'aligned') to
            report it beside an unaligned one, which has the baseline.
        protocol: 'handkit' (the above); a paper's preset
            (``handkit.evaluation.protocols.PROTOCOLS``:
            'zimmermann_brox_rhd', 'zimmermann_brox_stb', 'zhou_rhd',
            'zhou_stb'), which fixes root, scale bone, alignment, joints and
            threshold grid as the official code has them and scores
            ``pred_keypoints_3d_normalized`` times the ground truth's bone,
            as is (``EPE_3D``, ``EPE_3D_median``, the preset's AUCs,
            ``PCK3D@<t>mm``; ``mean_pose_baseline`` predicts the mean
            scale-free pose times each hand's own bone). A preset needs 21
            joints and takes no ``scale_bone``, ``root_index`` or ``mode``.

    Metrics: ``EPE_3D``, ``AUC_20-50``, ``PCK3D@<t>mm`` per threshold (in
    [0, 1]), ``EPE_2D`` (px, with 2D predictions) and ``EPE_3D_mean_pose``
    (a preset: ``EPE_3D_median`` and its AUCs); Python floats.

    Table (``format_rows``): EPE_3D (mm), the AUC over ``auc_range`` and
    the 3D PCK (%) at 20, 30, 40, 50 mm, a row labelled ``<name>
    [<prefix>]`` with a prefix; a preset's protocol line above it; under
    it the 2D EPE (unprefixed: a second protocol scores the same 2D
    predictions), a preset's median EPE and other AUCs and the mean-pose
    baseline.
    """

    default_prefix = ''
    MODES = ('joints', 'bone')
    PROTOCOLS = ('handkit', ) + tuple(PROTOCOLS)
    # dataset labels it scores against (handkit.engine.preflight)
    required_labels = ('keypoints_3d', )

    def __init__(self, root_relative: bool = True, root_index: int = 0,
                 pck_thresholds_mm: Optional[Sequence[float]] = None,
                 auc_range: Sequence[float] = (20, 50),
                 mode: str = 'joints', mean_pose_baseline: bool = False,
                 joint_indices: Optional[Sequence[int]] = None,
                 scale_bone: Optional[Sequence[int]] = None,
                 protocol: str = 'handkit', **kwargs) -> None:
        super().__init__(**kwargs)
        if protocol not in self.PROTOCOLS:
            raise ValueError(f'Keypoint3DMetric: protocol must be one of '
                             f'{self.PROTOCOLS}, got {protocol!r}')
        self.preset = (get_protocol(protocol) if protocol in PROTOCOLS
                       else None)
        if protocol != 'handkit' and (
                not root_relative or root_index != 0 or mode != 'joints'
                or scale_bone is not None):
            raise ValueError(
                f'Keypoint3DMetric(protocol={protocol!r}) sets the root and '
                'the scale bone itself: it needs '
                "root_relative=True, root_index=0, mode='joints' and no "
                f'scale_bone; got root_relative={root_relative}, root_index='
                f'{root_index}, mode={mode!r}, scale_bone={scale_bone!r}')
        self.protocol = protocol
        # a preset scores the normalised read-out (its official code scales
        # the network's normalised output by the true bone)
        self.from_normalized = self.preset is not None
        if scale_bone is not None and (
                not root_relative or mode != 'joints' or mean_pose_baseline
                or len(scale_bone) != 2 or scale_bone[0] == scale_bone[1]):
            raise ValueError(
                f'Keypoint3DMetric: scale_bone must be two different joints '
                f"(a, b) and needs root_relative=True, mode='joints' and "
                f'mean_pose_baseline=False; got {scale_bone!r} with '
                f'root_relative={root_relative}, mode={mode!r}, '
                f'mean_pose_baseline={mean_pose_baseline}')
        if mode not in self.MODES:
            raise ValueError(f'Keypoint3DMetric: mode must be one of '
                             f'{self.MODES}, got {mode!r}')
        if mode == 'bone' and joint_indices is not None:
            raise ValueError("Keypoint3DMetric: mode='bone' compares all 20 "
                             'bones; it takes no joint_indices')
        if len(auc_range) != 2 or not auc_range[1] > auc_range[0]:
            raise ValueError(f'Keypoint3DMetric: auc_range must be (low, '
                             f'high) mm with high > low, got {auc_range!r}')
        self.root_relative = root_relative
        self.root_index = root_index
        self.pck_thresholds_mm = (None if pck_thresholds_mm is None else
                                  [float(t) for t in pck_thresholds_mm])
        self.auc_range = (float(auc_range[0]), float(auc_range[1]))
        self.mode = mode
        self.mean_pose_baseline = mean_pose_baseline
        self.joint_indices = joint_indices
        self.scale_bone = (None if scale_bone is None else
                           (int(scale_bone[0]), int(scale_bone[1])))

    def process(self, data_batch: Any,
                data_samples: Sequence[dict]) -> None:
        name = type(self).__name__
        for sample in data_samples:
            gt = sample_array(sample, 'gt_keypoints_3d', name)
            record = dict(
                pred=sample_array(sample, 'pred_keypoints_3d', name),
                gt=gt,
                visible=np.asarray(sample.get('gt_keypoints_visible',
                                              np.ones(len(gt))), np.float64))
            if self.from_normalized:
                record['pred_normalized'] = sample_array(
                    sample, 'pred_keypoints_3d_normalized', name)
            if 'pred_keypoints' in sample and 'gt_keypoints' in sample:
                record['pred_2d'] = sample_array(sample, 'pred_keypoints',
                                                  name)
                record['gt_2d'] = sample_array(sample, 'gt_keypoints', name)
            self.results.append(record)

    def resolved_thresholds(self) -> List[float]:
        if self.pck_thresholds_mm is not None:
            return self.pck_thresholds_mm
        meta = self.dataset_meta or {}
        return [float(t) for t in meta.get('pck_thresholds_mm',
                                           DEFAULT_PCK_THRESHOLDS_MM)]

    def _scale_to_gt(self, pred, gt):
        """Root-relative (N, J, 3) ``pred`` scaled so its ``scale_bone``
        is as long as ``gt``'s (a zero-length predicted bone stays)."""
        first, second = self.scale_bone
        if max(first, second) >= pred.shape[1]:
            raise ValueError(f'Keypoint3DMetric: scale_bone {self.scale_bone}'
                             f' does not fit {pred.shape[1]} joints')

        def length(joints):
            return np.linalg.norm(joints[:, second] - joints[:, first],
                                  axis=-1)

        pred_length = length(pred)
        ratio = np.where(pred_length > 0, length(gt) / np.maximum(
            pred_length, 1e-12), 1.0)
        return pred * ratio[:, None, None]

    def _compared(self, pred, gt, visible):
        """What is compared: (N, M, 3) points and their (N, M) mask."""
        if self.root_relative:
            pred = root_relative(pred, self.root_index)
            gt = root_relative(gt, self.root_index)
        if self.scale_bone is not None:
            pred = self._scale_to_gt(pred, gt)
        if self.mode == 'joints':
            joints = _evaluated_joints(self, pred.shape[1])
            return pred[:, joints], gt[:, joints], visible[:, joints]
        if pred.shape[1] != NUM_KEYPOINTS:
            raise ValueError(f"Keypoint3DMetric(mode='bone') needs "
                             f'{NUM_KEYPOINTS} joints, got {pred.shape[1]}')
        child, parent = np.arange(1, NUM_KEYPOINTS), PARENTS[1:]
        return (pred[:, child] - pred[:, parent],
                gt[:, child] - gt[:, parent],
                visible[:, child] * visible[:, parent])

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred = np.stack([r['pred'] for r in results])
        gt = np.stack([r['gt'] for r in results])
        visible = np.stack([r['visible'] for r in results])
        if pred.shape != gt.shape:
            raise ValueError(f'Keypoint3DMetric: pred_keypoints_3d '
                             f'{pred.shape[1:]} and gt_keypoints_3d '
                             f'{gt.shape[1:]} differ')
        num_joints = pred.shape[1]
        if self.preset is not None:
            metrics = self._preset(results, gt, visible)
        else:
            metrics = self._handkit(pred, gt, visible)
        if all('pred_2d' in r for r in results):
            joints = (_evaluated_joints(self, num_joints)
                      if self.mode == 'joints' else np.arange(num_joints))
            metrics['EPE_2D'] = epe(
                np.stack([r['pred_2d'] for r in results])[:, joints],
                np.stack([r['gt_2d'] for r in results])[:, joints],
                np.stack([r['visible'] for r in results])[:, joints])
        return metrics

    def _preset(self, results, gt, visible):
        """A paper's preset (``handkit.evaluation.protocols``)."""
        preset = self.preset
        if gt.shape[1] != NUM_KEYPOINTS:
            raise ValueError(f'Keypoint3DMetric(protocol={preset.name!r}) '
                             f'needs {NUM_KEYPOINTS} joints, got '
                             f'{gt.shape[1]}')
        if preset.palm_midpoint and (self.dataset_meta or {}).get(
                'root_joint') == 'palm_center':
            raise ValueError(
                f'Keypoint3DMetric(protocol={preset.name!r}) makes the palm '
                f"of a wrist-rooted hand, but the dataset's joint 0 is "
                f"already the palm (metainfo root_joint='palm_center'): "
                f"use 'zimmermann_brox_stb' or the dataset's root_joint="
                f"'wrist'")
        normalized = np.stack([r['pred_normalized'] for r in results])
        pred_points, gt_points, points_visible, scale = aligned_points(
            preset, normalized, gt, visible)
        thresholds = self.resolved_thresholds()
        metrics = protocol_measures(preset, pred_points, gt_points,
                                    points_visible, thresholds)
        if self.mean_pose_baseline:
            unit = gt_points / np.maximum(scale, 1e-12)[:, None, None]
            weights = points_visible[..., None]
            mean_pose = (unit * weights).sum(0) / np.maximum(
                weights.sum(0), 1)
            metrics['EPE_3D_mean_pose'] = protocol_measures(
                preset, mean_pose[None] * scale[:, None, None], gt_points,
                points_visible)['EPE_3D']
        return metrics

    def _auc_key(self, values: Dict[str, float]) -> str:
        """The table's AUC: over ``auc_range`` (a preset's AUC_20-50), else
        the first one reported."""
        low, high = self.auc_range
        key = f'AUC_{low:g}-{high:g}'
        return key if key in values else next(
            (name for name in values if name.startswith('AUC_')), key)

    def columns(self, values: Dict[str, float]) -> List[Column]:
        if 'EPE_3D' not in values:
            return []
        auc = self._auc_key(values)
        return [Column('EPE_3D(mm)', 'EPE_3D'), Column(auc, auc, digits=4)
                ] + [Column(f'PCK3D@{t:g}mm', f'PCK3D@{t:g}mm', 100.0)
                     for t in TABLE_PCK_THRESHOLDS_MM]

    def title(self) -> List[str]:
        if self.preset is None:
            return []
        rows = f'[{self.prefix}] rows' if self.prefix else 'unprefixed rows'
        return [f'protocol: {self.protocol} ({rows}; {self.preset.paper})']

    def notes(self, values: Dict[str, float]) -> List[str]:
        notes = [f"EPE_2D {values['EPE_2D']:.2f} px"] if (
            'EPE_2D' in values and not self.prefix) else []
        auc = self._auc_key(values)
        others = [key for key in values
                  if key.startswith('AUC_') and key != auc]
        if self.preset is not None and others:
            notes.append(f"median EPE_3D {values['EPE_3D_median']:.2f} mm"
                         + ''.join(f'   {key} {values[key]:.4f}'
                                   for key in others))
        if 'EPE_3D_mean_pose' in values:
            notes.append(f"mean-pose EPE_3D {values['EPE_3D_mean_pose']:.2f}"
                         ' mm (oracle baseline)')
        if not notes:
            return []
        return [f'[{self.prefix}] ' * bool(self.prefix) + '   '.join(notes)]

    def _handkit(self, pred, gt, visible):
        pred, gt, visible = self._compared(pred, gt, visible)
        thresholds = self.resolved_thresholds()
        low, high = self.auc_range
        metrics = {'EPE_3D': epe(pred, gt, visible),
                   f'AUC_{low:g}-{high:g}': auc_3d(pred, gt, visible, low,
                                                   high)}
        for threshold, value in zip(thresholds,
                                    pck_3d(pred, gt, visible, thresholds)):
            metrics[f'PCK3D@{threshold:g}mm'] = float(value)
        if self.mean_pose_baseline:
            weights = visible[..., None]
            mean_pose = (gt * weights).sum(0) / np.maximum(weights.sum(0), 1)
            metrics['EPE_3D_mean_pose'] = epe(
                np.broadcast_to(mean_pose, gt.shape), gt, visible)
        return metrics


@METRICS.register_module()
class NYUMetric(TabulatedMetric):
    """Li and Wang's NYU protocol: mean 3D error and frames within thresholds.

    Reads ``pred_keypoints_3d`` and ``gt_keypoints_3d`` (J, 3) mm (camera
    frame, not root-relative: the protocol's error is absolute given the
    hand centre).

    Args:
        thresholds_mm: thresholds of the success curve.
        joint_indices: score only these joints; default: the dataset's
            ``eval_keypoint_indices`` metainfo (the 14 protocol joints when
            a model regresses NYU's 36), else every joint.

    Metrics: ``mean_error`` (mm, over every scored joint of every frame) and
    ``frames_within_<t>mm`` (fraction of frames whose maximum joint error is
    <= t); Python floats.
    """

    default_prefix = ''
    required_labels = ('keypoints_3d', )

    def __init__(self,
                 thresholds_mm: Sequence[float] = (10, 20, 30, 40, 50, 60, 70,
                                                   80),
                 joint_indices: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.thresholds_mm = [float(t) for t in thresholds_mm]
        self.joint_indices = joint_indices

    def process(self, data_batch: Any,
                data_samples: Sequence[dict]) -> None:
        name = type(self).__name__
        for sample in data_samples:
            self.results.append((
                sample_array(sample, 'pred_keypoints_3d', name),
                sample_array(sample, 'gt_keypoints_3d', name)))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt = (np.stack(column) for column in zip(*results))
        joints = _evaluated_joints(self, pred.shape[1])
        pred, gt = pred[:, joints], gt[:, joints]
        metrics = {'mean_error': epe(pred, gt)}
        fractions = nyu_success_fraction(pred, gt, self.thresholds_mm)
        for threshold, value in zip(self.thresholds_mm, fractions):
            metrics[f'frames_within_{threshold:g}mm'] = float(value)
        return metrics

    def columns(self, values: Dict[str, float]) -> List[Column]:
        """The mean error (mm), then the % of frames within each
        threshold."""
        if 'mean_error' not in values:
            return []
        return [Column('mean_error(mm)', 'mean_error')] + [
            Column(f'{t:g}mm', f'frames_within_{t:g}mm', 100.0)
            for t in self.thresholds_mm]
