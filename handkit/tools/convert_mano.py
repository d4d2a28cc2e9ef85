"""Convert MANO's model file into handkit's ``.npz`` hand model.

    python tools/convert_mano.py MANO_RIGHT.pkl      # -> MANO_RIGHT.npz
    python tools/convert_mano.py MANO_LEFT.pkl out/left.npz --overwrite
    python tools/convert_mano.py MANO_RIGHT.pkl \
        --tip-vertex-ids 744 320 443 554 671

MANO (Romero et al., "Embodied Hands", SIGGRAPH Asia 2017) is licensed per
user: download ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` yourself after
registering at https://mano.is.tue.mpg.de; handkit never ships or downloads
it. The ``.pkl`` is read as data only, without chumpy
(:func:`handkit.models.hand_model.load_hand_model`); the ``.npz`` (the
format in docs/hand_model.md) then loads with ``allow_pickle=False``. A left
file's ``shapedirs`` x sign is fixed and recorded unless
``--no-fix-left-shapedirs``.

The output is written atomically; an existing one is refused without
``--overwrite``, and the input never (even with it). A wrong input is one
line, exit 2.
"""
import argparse
import os.path as osp
from typing import List, Optional

import numpy as np

from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import (OutputError, check_output_file,
                                    make_parent_dir)
from handkit.fileio import atomic_output
from handkit.models.hand_model import load_hand_model
from handkit.models.hand_model.model_file import TIP_VERTEX_IDS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert MANO's .pkl into handkit's .npz hand model")
    parser.add_argument('model', help='MANO_RIGHT.pkl or MANO_LEFT.pkl')
    parser.add_argument('out', nargs='?', help='the .npz to write '
                        '(default: the input with .npz)')
    parser.add_argument('--side', choices=('right', 'left'),
                        help='default: from the file name')
    parser.add_argument('--tip-vertex-ids', type=int, nargs=5,
                        metavar='ID', help='fingertip vertices, thumb .. '
                        'little (default: Boukhayma et al.\'s '
                        f"{' '.join(map(str, TIP_VERTEX_IDS['boukhayma']))})")
    parser.add_argument('--no-fix-left-shapedirs', action='store_true',
                        help="keep MANO_LEFT.pkl's shapedirs as released "
                        '(their x sign is wrong)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing output')
    return parser.parse_args(argv)


def convert(model: str, out: str, side: Optional[str] = None,
            tip_vertex_ids=None, fix_left_shapedirs: bool = True,
            overwrite: bool = False) -> str:
    """Check the output, read ``model``, write ``out``; return ``out``."""
    if not out.endswith('.npz'):
        raise OutputError(f'the output {out} must end with .npz')
    out = check_output_file(out, [model], overwrite=overwrite,
                            option='output')
    data = load_hand_model(model, fix_left_shapedirs=fix_left_shapedirs,
                           tip_vertex_ids=tip_vertex_ids, side=side)
    make_parent_dir(out)
    with atomic_output(out) as temporary:
        with open(temporary, 'wb') as file:
            np.savez(file, **data.to_npz_arrays())
    fixed = (', shapedirs x sign fixed' if data.shapedirs_x_sign_fixed
             else '')
    print(f'{model} -> {out}: {data.side} hand, {data.num_vertices} '
          f'vertices, {data.faces.shape[0]} faces, '
          f'{data.shapedirs.shape[-1]} shape directions, fingertips '
          f'{data.tip_vertex_ids.tolist()}{fixed}')
    return out


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    out = args.out or osp.splitext(args.model)[0] + '.npz'
    with user_errors_exit():
        return convert(args.model, out, side=args.side,
                       tip_vertex_ids=args.tip_vertex_ids,
                       fix_left_shapedirs=not args.no_fix_left_shapedirs,
                       overwrite=args.overwrite)
