"""Build (or check) the pinned mesh hierarchy of Ge et al.'s graph CNN.

::

    python tools/build_mesh_hierarchy.py            # the open hand's file
    python tools/build_mesh_hierarchy.py --check    # rebuild, compare bytes
    python tools/build_mesh_hierarchy.py --model data/mano/MANO_RIGHT.npz \\
        --out data/mano/MANO_RIGHT_hierarchy.npz    # for a MANO file

The coarsening (:mod:`handkit.models.hand_model.mesh_hierarchy`) is
deterministic (a fixed seed and tie rule, exact arithmetic), and the file a
zip of stored members with a fixed date, so a rebuild is the same byte for
byte; ``--check`` exits 0, or 1 naming the first difference.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

from handkit.engine.errors import user_errors_exit
from handkit.fileio import atomic_write
from handkit.models.hand_model.mesh_hierarchy import (DEFAULT_LEVELS,
                                                      DEFAULT_SEED,
                                                      HIERARCHY_PATH,
                                                      hierarchy_bytes,
                                                      hierarchy_for_model)
from handkit.models.hand_model.pinned_files import first_difference


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build the graph coarsening hierarchy (Defferrard et al. "
        "2016) of a hand model's mesh for Ge et al.'s graph CNN")
    parser.add_argument('--model', help='hand model file (.npz / MANO .pkl; '
                        'default: the open hand)')
    parser.add_argument('--out', default=HIERARCHY_PATH,
                        help='the hierarchy file (default: the packaged '
                        'open_hand_right_hierarchy.npz)')
    parser.add_argument('--levels', type=int, default=DEFAULT_LEVELS,
                        help='coarsenings (default 4, as the release)')
    parser.add_argument('--seed', type=int, default=DEFAULT_SEED)
    parser.add_argument('--check', action='store_true',
                        help='rebuild in memory and compare with --out, '
                        'byte for byte (exit 0, or 1 naming the first '
                        'difference)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    with user_errors_exit():
        arrays, model = hierarchy_for_model(args.model, args.levels,
                                            args.seed)
        data = hierarchy_bytes(arrays)
        sizes = ' -> '.join(f'{real} ({padded})' for real, padded in zip(
            arrays['sizes'], arrays['padded_sizes']))
        if args.check:
            if not osp.isfile(args.out):
                print(f'{args.out}: missing; run `python '
                      f'tools/build_mesh_hierarchy.py`')
                return 1
            with open(args.out, 'rb') as file:
                committed = file.read()
            if committed != data:
                print(f'{args.out} differs from a rebuild from {model}: '
                      f'{first_difference(data, committed)}')
                return 1
            print(f'{args.out}: identical to a rebuild from {model}')
            return 0
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with atomic_write(args.out, 'wb') as file:
            file.write(data)
        print(f'{args.out}: {len(data):,} bytes; nodes per level, real '
              f'(with fake): {sizes}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
