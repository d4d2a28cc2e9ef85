"""The papers' 3D evaluation protocols: one named preset per paper and set.

A preset states every setting a paper's numbers depend on: the root joint,
the bone that gives the prediction its scale, how the prediction is aligned,
the joints scored, the threshold grid and its AUC ranges, and which hand of
a multi-hand image is scored. ``Keypoint3DMetric(protocol=<name>)`` applies
one; configs select it instead of spreading flags over metrics. Each setting
cites the official code it was read from (docs/models_3d.md, "Evaluation
protocols").

Zimmermann & Brox (lmb-freiburg/hand3d, ICCV 2017):

* ground truth: their readers' 21 joints of one hand; on RHD the palm (the
  midpoint of wrist and middle MCP) replaces the wrist, labelled when either
  is (``data/BinaryDbReader.py:140-144``, ``203-207``; ``use_wrist_coord=
  False`` in ``eval_full.py:45-46``); on STB joint 0 is STB's palm point,
  kept as is (``data/BinaryDbReaderSTB.py:131-137``, ``194``);
* root: point 0, subtracted from the ground truth (``eval_full.py:83-84``);
* scale: the ground truth's middle MCP -> PIP bone, their keypoints 12 -> 11,
  handkit's 9 -> 10 (``BinaryDbReader.py:238-241``,
  ``BinaryDbReaderSTB.py:194-198``);
* alignment: the network's normalised, root-relative output times that
  length, *as is*, not re-rooted (``eval_full.py:80-81``): its root, the
  palm, is the origin;
* measures: ``EvalUtil`` (``utils/general.py:522-611``): per keypoint over
  the frames where it is visible, the mean and median error and the PCK
  (``<=``) on ``linspace(0, 50 mm, 20)``, then averaged over keypoints; the
  AUC is the trapezoid area over the grid normalised by its range; the
  "20-50 mm" AUC takes the grid from index 8 (21.05 mm) on
  (``eval_full.py:92-100``, ``utils/general.py:654-659``);
* hand: RHD scores the hand with more mask pixels, left on a strict
  majority (``BinaryDbReader.py:213-233``); STB has one left hand
  (``BinaryDbReaderSTB.py:187-188``).

Zhou et al. (CalciferZh/minimal-hand, CVPR 2020), which publishes no
evaluation script, only its curves and their AUC:

* alignment: DetNet's read-out is relative to the middle MCP (M0) and in
  units of the wrist -> M0 bone (``wrappers.py:61-64``); the prediction is
  that read-out times the ground truth's wrist -> M0 length (handkit's
  0 -> 9, on STB palm point -> middle MCP), rooted where the read-out is:
  the ground truth is made M0-relative;
* grid: 16 thresholds ``linspace(20, 50, 16)`` mm, the AUC the trapezoid
  area divided by the range (``plot.py:14-24``);
* measures and hand choice, not in their code: Zimmermann & Brox's (the
  per-keypoint ``EvalUtil`` averages and, on RHD, the hand with more mask
  pixels), the protocol whose numbers their Table 1 compares with.
"""
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class EvalProtocol:
    """One paper's 3D evaluation settings (see the module docstring).

    Attributes:
        name: the preset's name.
        paper: the paper and its official code.
        palm_midpoint: the ground truth's joint 0 becomes the midpoint of
            joints 0 and 9 (labelled when either is) before anything else.
        root: the joint subtracted from the ground truth; the prediction
            (``pred_keypoints_3d_normalized``) is taken as is.
        prediction_root_at_origin: the prediction's joint ``root`` is the
            origin (the network's root estimate; handkit's palm-rooted
            models have no palm output, their origin is their palm).
        scale_bone: (a, b): the prediction is the normalised read-out times
            the ground truth's ``|J_b - J_a|``.
        grid_mm: the PCK thresholds the AUCs integrate.
        auc_ranges: metric name -> first grid index of that AUC.
        hand_choice: how a multi-hand image's scored hand is chosen:
            'mask_pixels' (RHD: the hand with more mask pixels) or
            'single_left' (STB: its one left hand).
        dataset: the data set the preset is written for.
        sources: setting -> official file:line.
    """

    name: str
    paper: str
    palm_midpoint: bool
    root: int
    prediction_root_at_origin: bool
    scale_bone: Tuple[int, int]
    grid_mm: Tuple[float, ...]
    auc_ranges: Mapping[str, int]
    hand_choice: str
    dataset: str
    joints: str = 'all 21, each over the frames where it is visible'
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def grid(self) -> np.ndarray:
        return np.asarray(self.grid_mm, np.float64)


_ZB_GRID = tuple(float(t) for t in np.linspace(0.0, 50.0, 20))
_ZHOU_GRID = tuple(float(t) for t in np.linspace(20.0, 50.0, 16))
_ZB_AUCS = {'AUC_0-50': 0, 'AUC_20-50': 8}
_ZB_SOURCES = dict(
    root='eval_full.py:83-84 (gt -= gt[0])',
    scale_bone='BinaryDbReader.py:238-241 / BinaryDbReaderSTB.py:194-198 '
               '(their 12 -> 11)',
    alignment='eval_full.py:80-81 (pred *= keypoint_scale, not re-rooted)',
    grid='utils/general.py:570-611 (EvalUtil.get_measures(0, 0.05, 20)); '
         'eval_full.py:98-100 (grid[8:] for 20-50 mm)',
)
_ZHOU_SOURCES = dict(
    root='wrappers.py:61-64 (read-out relative to M0)',
    scale_bone='wrappers.py:61-64 (read-out in wrist -> M0 bones)',
    alignment='wrappers.py:61-64 (read-out x ground-truth bone)',
    grid='plot.py:14-24 (linspace(20, 50, 16), trapezoid / range)',
    measures='not in their code: EvalUtil of hand3d utils/general.py:'
             '522-611',
)

PROTOCOLS: Dict[str, EvalProtocol] = {
    'zimmermann_brox_rhd': EvalProtocol(
        name='zimmermann_brox_rhd',
        paper='Zimmermann & Brox, ICCV 2017 (lmb-freiburg/hand3d)',
        palm_midpoint=True, root=0, prediction_root_at_origin=True,
        scale_bone=(9, 10), grid_mm=_ZB_GRID, auc_ranges=_ZB_AUCS,
        hand_choice='mask_pixels', dataset='rhd',
        sources=dict(_ZB_SOURCES,
                     palm='BinaryDbReader.py:140-144, 203-207',
                     hand_choice='BinaryDbReader.py:213-233')),
    'zimmermann_brox_stb': EvalProtocol(
        name='zimmermann_brox_stb',
        paper='Zimmermann & Brox, ICCV 2017 (lmb-freiburg/hand3d)',
        palm_midpoint=False, root=0, prediction_root_at_origin=False,
        scale_bone=(9, 10), grid_mm=_ZB_GRID, auc_ranges=_ZB_AUCS,
        hand_choice='single_left', dataset='stb',
        sources=dict(_ZB_SOURCES,
                     palm='BinaryDbReaderSTB.py:131-137, 194 (joint 0 '
                          'is the palm)',
                     hand_choice='BinaryDbReaderSTB.py:187-188')),
    'zhou_rhd': EvalProtocol(
        name='zhou_rhd',
        paper='Zhou et al., CVPR 2020 (CalciferZh/minimal-hand)',
        palm_midpoint=False, root=9, prediction_root_at_origin=False,
        scale_bone=(0, 9), grid_mm=_ZHOU_GRID, auc_ranges={'AUC_20-50': 0},
        hand_choice='mask_pixels', dataset='rhd',
        sources=dict(_ZHOU_SOURCES,
                     hand_choice='not in their code: hand3d '
                                 'BinaryDbReader.py:213-233')),
    'zhou_stb': EvalProtocol(
        name='zhou_stb',
        paper='Zhou et al., CVPR 2020 (CalciferZh/minimal-hand)',
        palm_midpoint=False, root=9, prediction_root_at_origin=False,
        scale_bone=(0, 9), grid_mm=_ZHOU_GRID, auc_ranges={'AUC_20-50': 0},
        hand_choice='single_left', dataset='stb',
        sources=dict(_ZHOU_SOURCES,
                     hand_choice='STB films one left hand')),
}


def get_protocol(name: str) -> EvalProtocol:
    """The preset called ``name`` (KeyError naming the presets)."""
    if name not in PROTOCOLS:
        raise KeyError(f'no evaluation protocol {name!r}; the presets are '
                       f'{sorted(PROTOCOLS)}')
    return PROTOCOLS[name]


def aligned_points(protocol: EvalProtocol, pred_normalized: np.ndarray,
                   gt: np.ndarray, visible: Optional[np.ndarray] = None
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pred, gt, visible, scale) as the preset compares them.

    Args:
        pred_normalized: (N, 21, 3) the model's root-relative read-out in
            ``scale_bone`` units (``pred_keypoints_3d_normalized``).
        gt: (N, 21, 3) ground-truth joints, mm.
        visible: (N, 21) or None (all).

    Returns:
        (N, 21, 3) prediction and ground truth in mm, both relative to the
        preset's root, the (N, 21) bool visibility and the (N,) bone length.
    """
    gt = np.array(gt, np.float64)
    pred = np.array(pred_normalized, np.float64)
    if gt.ndim != 3 or gt.shape[1:] != (21, 3) or pred.shape != gt.shape:
        raise ValueError(f'protocol {protocol.name!r}: prediction and ground '
                         f'truth must both be (N, 21, 3); got {pred.shape} '
                         f'and {gt.shape}')
    visible = (np.ones(gt.shape[:2], bool) if visible is None
               else np.asarray(visible) > 0).copy()
    if protocol.palm_midpoint:
        gt[:, 0] = 0.5 * (gt[:, 0] + gt[:, 9])
        visible[:, 0] |= visible[:, 9]
    gt = gt - gt[:, protocol.root:protocol.root + 1]
    first, second = protocol.scale_bone
    scale = np.linalg.norm(gt[:, second] - gt[:, first], axis=-1)
    pred = pred * scale[:, None, None]
    if protocol.prediction_root_at_origin:
        pred[:, protocol.root] = 0.0
    return pred, gt, visible, scale


def protocol_measures(protocol: EvalProtocol, pred: np.ndarray,
                      gt: np.ndarray, visible: np.ndarray,
                      thresholds_mm: Sequence[float] = ()) -> dict:
    """The preset's numbers for aligned (N, 21, 3) points in mm.

    Per keypoint over the frames where it is visible: mean and median
    error and the PCK (``<=``) at each grid threshold; then the mean over
    the keypoints seen at all (``EvalUtil.get_measures``). Each AUC is the
    trapezoid area of the keypoint-averaged curve from its first grid index
    on, divided by that range.

    Returns:
        dict: ``EPE_3D``, ``EPE_3D_median``, the preset's AUCs and
        ``PCK3D@<t>mm`` at each of ``thresholds_mm``; NaN when nothing is
        visible.
    """
    errors = np.linalg.norm(np.asarray(pred, np.float64)
                            - np.asarray(gt, np.float64), axis=-1)
    visible = np.asarray(visible, bool)
    counts = visible.sum(0)
    scored = counts > 0
    thresholds = [float(t) for t in thresholds_mm]
    names = (['EPE_3D', 'EPE_3D_median'] + list(protocol.auc_ranges)
             + [f'PCK3D@{t:g}mm' for t in thresholds])
    if not scored.any():
        return dict.fromkeys(names, float('nan'))
    masked = np.where(visible, errors, np.nan)[:, scored]  # (N, K)
    grid = protocol.grid
    levels = np.concatenate([grid, np.asarray(thresholds, np.float64)])
    correct = (masked[None] <= levels[:, None, None]).sum(1)  # (T, K)
    curve = (correct / counts[scored]).mean(1)
    grid_curve = curve[:len(grid)]
    values = {'EPE_3D': float(np.nanmean(masked, 0).mean()),
              'EPE_3D_median': float(np.nanmedian(masked, 0).mean())}
    for name, first in protocol.auc_ranges.items():
        values[name] = float(np.trapezoid(grid_curve[first:], grid[first:])
                             / (grid[-1] - grid[first]))
    for threshold, value in zip(thresholds, curve[len(grid):]):
        values[f'PCK3D@{threshold:g}mm'] = float(value)
    return values


def protocol_banner(evaluator_cfg) -> str:
    """'protocol: <name> (<prefix> rows)' lines of a test evaluator config's
    presets, for ``tools/test.py`` to print above its table ('' if none)."""
    if evaluator_cfg is None:
        return ''
    if isinstance(evaluator_cfg, Mapping) and 'metrics' in evaluator_cfg:
        evaluator_cfg = evaluator_cfg['metrics']
    if isinstance(evaluator_cfg, Mapping):
        evaluator_cfg = [evaluator_cfg]
    lines = []
    for metric in evaluator_cfg:
        name = metric.get('protocol') if isinstance(metric, Mapping) else None
        if name in PROTOCOLS:
            prefix = metric.get('prefix')
            rows = f'[{prefix}] rows' if prefix else 'unprefixed rows'
            lines.append(f'protocol: {name} ({rows}; '
                         f'{PROTOCOLS[name].paper})')
    return '\n'.join(lines)
