"""The open hand's template drawn in three orthographic views
(matplotlib, Agg canvas): its wireframe, the regressed joints and the
fingertip vertices (``tools/build_open_hand.py --figure``,
docs/images/open_hand.png).
"""
import os
import os.path as osp

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from handkit.fileio import atomic_write
from handkit.models.hand_model.model_file import HandModelData

#: (title, horizontal axis, vertical axis) of each view, hand frame
VIEWS = (('palm side: x (radial) right, y (distal) up', 0, 1),
         ('side: z (palmar) right, y up', 2, 1),
         ('end-on: x right, z (palmar) up', 0, 2))


def draw_open_hand(data: HandModelData, path: str) -> None:
    """The open hand's template (``data``, one side) in three orthographic
    views (palm side, side, end-on) with its joints and fingertips, as a PNG
    at ``path`` (folders are created)."""
    points = data.v_template * 1000.0
    joints = data.J_regressor @ data.v_template * 1000.0
    tips = points[data.tip_vertex_ids]
    edges = np.unique(np.sort(np.concatenate(
        [data.faces[:, [0, 1]], data.faces[:, [1, 2]],
         data.faces[:, [2, 0]]]), 1), axis=0)
    figure = Figure(figsize=(15, 6.2))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    for axis, (title, u, v) in zip(axes, VIEWS):
        axis.add_collection(LineCollection(
            points[edges][..., [u, v]], colors='0.45', linewidths=0.25))
        for child, parent in enumerate(data.kintree_parents):
            if parent >= 0:
                axis.plot(joints[[parent, child], u],
                          joints[[parent, child], v], color='tab:red',
                          lw=1.5)
        axis.scatter(joints[:, u], joints[:, v], s=14, color='tab:red',
                     zorder=3, label=f'{data.num_joints} joints '
                     '(J_regressor)')
        axis.scatter(tips[:, u], tips[:, v], s=18, color='tab:blue',
                     zorder=3, label='fingertip vertices')
        axis.set_title(title)
        axis.set_xlabel('xyz'[u] + ' (mm)')
        axis.set_ylabel('xyz'[v] + ' (mm)')
        axis.set_aspect('equal')
        axis.autoscale()
    axes[0].legend(loc='lower left', fontsize=8)
    figure.suptitle(f'handkit open hand ({data.side}): '
                    f'{data.num_vertices} vertices, {len(data.faces)} '
                    'triangles, MakeHuman / MPFB2 (CC0)')
    figure.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with atomic_write(path, 'wb') as file:
        figure.savefig(file, format='png', dpi=80)
