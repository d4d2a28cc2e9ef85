"""Time the 2D codecs on one hand, as the data pipeline calls them.

Encodes one hand (21 random keypoints in a 368 x 368 input) into 46 x 46
targets, and decodes a batch of 32 predicted maps; prints the median over
``--runs`` calls of each, beside its target. The target that matters: KCM +
LPM G1G6, the NSRM training targets of one sample, well under 1 ms.

    OMP_NUM_THREADS=1 python benchmarks/bench_codecs.py [--runs 2000]
"""
import argparse
import platform
import time

import numpy as np

from handkit.codecs.keypoint_confidence_map import KeypointConfidenceMap
from handkit.codecs.limb_mask import LimbMask

INPUT_SIZE = (368, 368)
HEATMAP_SIZE = (46, 46)
BATCH_SIZE = 32


def median_seconds(function, runs):
    """Median wall time of ``function()`` over ``runs`` calls (warmed up)."""
    for _ in range(10):
        function()
    times = np.empty(runs)
    for run in range(runs):
        start = time.perf_counter()
        function()
        times[run] = time.perf_counter() - start
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=2000,
                        help='timed calls per row (default 2000)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    keypoints = rng.uniform(0, INPUT_SIZE[0], size=(21, 2)).astype(np.float32)
    visible = np.ones(21, np.float32)
    sizes = dict(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE)
    kcm = KeypointConfidenceMap(**sizes)
    lpm_g1g6 = LimbMask(kind='lpm', groups='G1G6', **sizes)
    lpm_g1 = LimbMask(kind='lpm', groups='G1', **sizes)
    ldm_g1g6 = LimbMask(kind='ldm', groups='G1G6', **sizes)
    batch_keypoints = rng.uniform(0, INPUT_SIZE[0], size=(BATCH_SIZE, 21, 2))
    heatmaps = np.stack(
        [kcm.encode(hand)['heatmaps'] for hand in batch_keypoints])

    def kcm_and_lpm():
        kcm.encode(keypoints, visible)
        lpm_g1g6.encode(keypoints, visible)

    # (what, function, target in ms or None)
    rows = [
        ('encode KCM + LPM G1G6 (one hand)', kcm_and_lpm, 1.0),
        ('encode KCM (one hand)', lambda: kcm.encode(keypoints, visible),
         None),
        ('encode LPM G1 (one hand)',
         lambda: lpm_g1.encode(keypoints, visible), None),
        ('encode LDM G1G6 (one hand)',
         lambda: ldm_g1g6.encode(keypoints, visible), None),
        (f'decode KCM (batch of {BATCH_SIZE})',
         lambda: kcm.decode(heatmaps), None),
    ]
    print(f'handkit codecs, {HEATMAP_SIZE[0]}x{HEATMAP_SIZE[1]} maps from '
          f'{INPUT_SIZE[0]}x{INPUT_SIZE[1]} input; median of {args.runs} '
          f'runs; numpy {np.__version__}, {platform.processor() or "cpu"}')
    print(f'{"what":<36} {"median ms":>10} {"target ms":>10}')
    for what, function, target in rows:
        milliseconds = 1e3 * median_seconds(function, args.runs)
        verdict = ('-' if target is None else
                   f'< {target:g} ' + ('ok' if milliseconds < target
                                       else 'MISSED'))
        print(f'{what:<36} {milliseconds:>10.3f} {verdict:>10}')


if __name__ == '__main__':
    main()
