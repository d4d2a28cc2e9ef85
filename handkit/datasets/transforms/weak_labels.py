"""Weak supervision: keep the 3D labels of a fixed fraction of the samples.

Cai, Ge, Cai and Yuan, "Weakly-supervised 3D Hand Pose Estimation from
Monocular RGB Images", ECCV 2018, train on data of which only part has 3D
labels; the rest has 2D joints and a depth image. ``SubsetLabels3D`` makes
such a split of any fully-labelled training set: a sample keeps its 3D label
when a uniform number drawn from ``(seed, sample index)`` is below
``fraction``, so the labelled subset is the same in every epoch, worker and
run, and the fraction of a large set is ``fraction`` (a binomial draw: 10 %
of 8,000 samples is 800 +- 27). The sample's ``targets['joints_3d_weight']``
(from the ``NormalizedPose3D`` codec) becomes 0 for the others, which the 3D
loss then ignores.
"""
import numpy as np
from mmcv.transforms import BaseTransform

from handkit.registry import TRANSFORMS


def keeps_3d_label(seed: int, index: int, fraction: float) -> bool:
    """Whether sample ``index`` keeps its 3D label (deterministic)."""
    draw = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(int(index), ))).random()
    return bool(draw < fraction)


@TRANSFORMS.register_module()
class SubsetLabels3D(BaseTransform):
    """Zero the 3D weight of the samples outside the labelled fraction.

    Args:
        fraction: share of the samples that keep their 3D label, in [0, 1].
        seed: seed of the draw (another seed, another subset).

    Reads ``results['sample_idx']`` (mmengine's dataset index) and
    multiplies ``results['targets']['joints_3d_weight']`` by 0 or 1; place
    it after ``GenerateTargets``.
    """

    def __init__(self, fraction: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        if isinstance(fraction, bool) or not 0.0 <= fraction <= 1.0:
            raise ValueError(f'SubsetLabels3D: fraction must be in [0, 1], '
                             f'got {fraction!r}')
        self.fraction = float(fraction)
        self.seed = int(seed)

    def transform(self, results: dict) -> dict:
        weights = results.get('targets', {}).get('joints_3d_weight')
        if weights is None:
            raise KeyError(f"SubsetLabels3D: results have no targets"
                           f"['joints_3d_weight'] (run GenerateTargets with "
                           f"the NormalizedPose3D codec first; sample "
                           f"{results.get('img_path')})")
        if 'sample_idx' not in results:
            raise KeyError(f"SubsetLabels3D: results have no 'sample_idx' "
                           f"(sample {results.get('img_path')})")
        keep = keeps_3d_label(self.seed, results['sample_idx'], self.fraction)
        results['targets']['joints_3d_weight'] = (
            np.asarray(weights, np.float32) * np.float32(keep))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(fraction={self.fraction}, '
                f'seed={self.seed})')
