"""MANO's model file and handkit's ``.npz`` copy of it, read as data only.

MANO (Romero, Tzionas and Black, "Embodied Hands: Modeling and Capturing
Hands and Bodies Together", SIGGRAPH Asia 2017) ships as ``MANO_RIGHT.pkl``
/ ``MANO_LEFT.pkl`` under a licence that lets each user download it after
registering at https://mano.is.tue.mpg.de; handkit never ships nor downloads
it. The file is a Python 2 pickle whose ``shapedirs`` is a chumpy object
(``chumpy.reordering.Select`` over a ``chumpy.ch.Ch``) and whose
``J_regressor`` is a ``scipy.sparse`` csc matrix. chumpy does not import on
numpy >= 1.24 / Python 3.11, so :func:`load_hand_model` reads the pickle
through :func:`handkit.fileio.load_data_pickle` with stand-in classes: a
chumpy object pickles its ``__dict__`` as its state (``Ch``: ``x``;
``Select``: ``a``, ``idxs``, ``preferred_shape``), which a stand-in keeps
and which becomes a numpy array once loaded; the csc matrix keeps ``data``,
``indices``, ``indptr`` and its shape and becomes a dense array. Any other
Python object in the file is refused in one line, before anything runs.

handkit's ``.npz`` format (read with ``allow_pickle=False``; written by
``tools/convert_mano.py``):

================== ============ =============================================
key                shape        meaning
================== ============ =============================================
v_template         (V, 3)       template vertices, metres (MANO: V = 778)
faces              (F, 3)       triangles, vertex indices (MANO: F = 1538)
shapedirs          (V, 3, S)    shape blend shapes (MANO: S = 10)
posedirs           (V, 3, P)    pose blend shapes, P = 9 x (J - 1) = 135
weights            (V, J)       skinning weights (MANO: J = 16)
J_regressor        (J, V)       joint regressor, dense
kintree_parents    (J,)         parent of each joint, -1 for the root
hands_components   (45, 45)     PCA pose basis, one component per row
hands_mean         (45,)        mean hand pose (axis-angle, 15 joints)
tip_vertex_ids     (5,)         fingertip vertices, thumb .. little
joint_order        (J,)         names of the J joints (MANO's order)
side               ()           'right' or 'left'
licence, source    ()           strings: the licence note, the source file
shapedirs_x_sign_fixed  ()      bool: the LEFT file's shapedirs x sign fix
================== ============ =============================================
"""
import os
import os.path as osp
import re
from dataclasses import dataclass, fields
from typing import Any, Dict, Optional, Sequence

import numpy as np

from handkit.errors import HandkitUserError
from handkit.fileio import UnsafeFileError, load_data_pickle

#: MANO's 16 joints, in the file's order (wrist, then index, middle,
#: little (MANO's "pinky"), ring, thumb; each base to end).
MANO_JOINT_NAMES = (
    'wrist', 'index_mcp', 'index_pip', 'index_dip', 'middle_mcp',
    'middle_pip', 'middle_dip', 'little_mcp', 'little_pip', 'little_dip',
    'ring_mcp', 'ring_pip', 'ring_dip', 'thumb_cmc', 'thumb_mcp', 'thumb_ip')
#: MANO's kinematic tree (``kintree_table[0]``, root -1).
MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)

#: Fingertip vertex ids (thumb, index, middle, ring, little) as each
#: library states them; a MANO ``.pkl`` gets Boukhayma et al.'s by default.
TIP_VERTEX_IDS = {
    'boukhayma': (745, 333, 444, 555, 672),
    'manopth': (745, 317, 444, 556, 673),
    'smplx': (744, 320, 443, 554, 671),
    'minimal_hand': (744, 333, 444, 555, 672),
}
DEFAULT_TIP_VERTEX_IDS = TIP_VERTEX_IDS['boukhayma']

MANO_LICENCE = (
    'MANO model (Romero, Tzionas and Black, SIGGRAPH Asia 2017), under the '
    'MANO licence of the Max Planck Institute for Intelligent Systems: each '
    'user downloads it after registering at https://mano.is.tue.mpg.de; not '
    'for redistribution')

SIDES = ('right', 'left')
NPZ_KEYS = ('v_template', 'faces', 'shapedirs', 'posedirs', 'weights',
            'J_regressor', 'kintree_parents', 'hands_components',
            'hands_mean', 'tip_vertex_ids', 'joint_order', 'side', 'licence',
            'source', 'shapedirs_x_sign_fixed')
PKL_KEYS = ('v_template', 'f', 'shapedirs', 'posedirs', 'weights',
            'J_regressor', 'kintree_table', 'hands_components', 'hands_mean')


class HandModelNotFoundError(HandkitUserError, FileNotFoundError):
    """The hand model file is not where ``model_path`` points."""

    def __str__(self) -> str:
        return str(self.args[0])


class HandModelFileError(HandkitUserError, ValueError):
    """The hand model file is not a MANO model (a key is missing, an array
    has the wrong shape, the pickle is unreadable)."""


def _about_mano(path: str, problem: str) -> str:
    """The one paragraph every missing / wrong model file error reads."""
    return (f'{path}: {problem}. handkit\'s hand-mesh layer needs the MANO '
            'hand model (Romero, Tzionas and Black, "Embodied Hands: '
            'Modeling and Capturing Hands and Bodies Together", SIGGRAPH '
            'Asia 2017): MANO_RIGHT.pkl or MANO_LEFT.pkl, or a handkit .npz '
            'made from it with tools/convert_mano.py. Its licence lets each '
            'user download it themselves after registering at '
            'https://mano.is.tue.mpg.de (handkit never ships or downloads '
            'it); then point the config key model_path (HandModelLayer('
            'model_path=...)) at the file.')


@dataclass
class HandModelData:
    """A MANO-structured hand model as numpy arrays (float64, int64)."""

    v_template: np.ndarray        # (V, 3)
    faces: np.ndarray             # (F, 3) int64
    shapedirs: np.ndarray         # (V, 3, S)
    posedirs: np.ndarray          # (V, 3, 9 (J - 1))
    weights: np.ndarray           # (V, J)
    J_regressor: np.ndarray       # (J, V) dense
    kintree_parents: np.ndarray   # (J,) int64, -1 for the root
    hands_components: np.ndarray  # (C, 3 (J - 1)) rows are components
    hands_mean: np.ndarray        # (3 (J - 1),)
    tip_vertex_ids: np.ndarray    # (5,) int64, thumb .. little
    joint_order: tuple            # J names
    side: str = 'right'
    licence: str = MANO_LICENCE
    source: str = ''
    shapedirs_x_sign_fixed: bool = False

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.kintree_parents.shape[0])

    def to_npz_arrays(self) -> Dict[str, np.ndarray]:
        """The ``.npz`` keys (module docstring) as arrays; no object
        arrays, so ``np.load(allow_pickle=False)`` reads them back."""
        arrays = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == 'joint_order':
                value = np.asarray(list(value), dtype=str)
            arrays[field.name] = np.asarray(value)
        return arrays

    def validate(self, path: str = '<hand model>') -> 'HandModelData':
        """Check shapes and values; :class:`HandModelFileError` (the MANO
        paragraph) names the first that does not fit."""

        def bad(what):
            raise HandModelFileError(_about_mano(path, what))

        num_v = self.v_template.shape[0] if self.v_template.ndim == 2 else -1
        if num_v < 1 or self.v_template.shape[1] != 3:
            bad(f'v_template must be (V, 3), got {self.v_template.shape}')
        num_j = self.kintree_parents.shape[0]
        expected = {
            'faces': (None, 3), 'shapedirs': (num_v, 3, None),
            'posedirs': (num_v, 3, 9 * (num_j - 1)),
            'weights': (num_v, num_j), 'J_regressor': (num_j, num_v),
            'hands_components': (None, 3 * (num_j - 1)),
            'hands_mean': (3 * (num_j - 1), ), 'tip_vertex_ids': (5, )}
        for name, shape in expected.items():
            actual = getattr(self, name).shape
            if len(actual) != len(shape) or any(
                    want is not None and want != got
                    for want, got in zip(shape, actual)):
                shown = tuple('*' if s is None else s for s in shape)
                bad(f'{name} must be {shown}, got {actual}')
        parents = self.kintree_parents
        if parents[0] != -1 or any(not 0 <= parents[j] < j
                                   for j in range(1, num_j)):
            bad('kintree_parents must start with the root (-1) and list '
                f'every joint after its parent, got {parents.tolist()}')
        for name in ('faces', 'tip_vertex_ids'):
            ids = getattr(self, name)
            if ids.size and (ids.min() < 0 or ids.max() >= num_v):
                bad(f'{name} holds vertex ids outside 0..{num_v - 1} '
                    f'(the model has {num_v} vertices)')
        if len(self.joint_order) != num_j:
            bad(f'joint_order names {len(self.joint_order)} joints, the '
                f'model has {num_j}')
        if self.side not in SIDES:
            bad(f"side must be 'right' or 'left', got {self.side!r}")
        return self


# ---------------------------------------------------------------------------
# Stand-ins for the Python objects of MANO's pickle
# ---------------------------------------------------------------------------

class _PickledState:
    """Keeps the state dict a pickle gives an object (``BUILD``); builds
    nothing and runs nothing."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise UnsafeFileError(f'{type(self).__name__}: unexpected '
                                  f'pickled state {type(state).__name__}')
        self.state = state


class ChumpyCh(_PickledState):
    """``chumpy.ch.Ch``: the array is ``state['x']``."""


class ChumpySelect(_PickledState):
    """``chumpy.reordering.Select``: ``a.ravel()[idxs]`` in the shape
    ``preferred_shape``."""


class SparseCsc(_PickledState):
    """``scipy.sparse`` csc matrix: ``data``, ``indices``, ``indptr`` and
    ``_shape`` (older scipy: ``shape``)."""


def _reconstructor(cls, base, state):
    """``copy_reg._reconstructor`` (pickle protocols 0 and 1) for the
    stand-ins only."""
    if cls not in (ChumpyCh, ChumpySelect, SparseCsc) or base is not object \
            or state is not None:
        raise UnsafeFileError('refused: copy_reg._reconstructor is allowed '
                              'only for chumpy / scipy.sparse stand-ins')
    return object.__new__(cls)


#: what MANO's pickle may name, and what handkit builds instead
MANO_PICKLE_GLOBALS = {
    ('chumpy.ch', 'Ch'): ChumpyCh,
    ('chumpy.reordering', 'Select'): ChumpySelect,
    ('scipy.sparse.csc', 'csc_matrix'): SparseCsc,
    ('scipy.sparse._csc', 'csc_matrix'): SparseCsc,
    # a Ch's bookkeeping (``_dirty_vars``) is a set; protocols 0 / 1 build
    # new-style objects through copy_reg._reconstructor(cls, object, None)
    ('__builtin__', 'set'): set,
    ('builtins', 'set'): set,
    ('copy_reg', '_reconstructor'): _reconstructor,
    ('copyreg', '_reconstructor'): _reconstructor,
    ('__builtin__', 'object'): object,
    ('builtins', 'object'): object,
}


def _as_array(value: Any, name: str) -> np.ndarray:
    """A loaded value (array, stand-in, list) as a numpy array."""
    if isinstance(value, ChumpyCh):
        if 'x' not in value.state:
            raise ValueError(f'{name}: a chumpy Ch without x')
        return _as_array(value.state['x'], name)
    if isinstance(value, ChumpySelect):
        state = value.state
        if 'a' not in state or 'idxs' not in state:
            raise ValueError(f'{name}: a chumpy Select without a / idxs')
        flat = _as_array(state['a'], name).ravel()
        result = flat[np.asarray(state['idxs'], np.int64).ravel()]
        shape = state.get('preferred_shape')
        return result.reshape(tuple(shape)) if shape is not None else result
    if isinstance(value, SparseCsc):
        state = value.state
        shape = state.get('_shape', state.get('shape'))
        if shape is None or not {'data', 'indices', 'indptr'} <= set(state):
            raise ValueError(f'{name}: a csc matrix without data / indices /'
                             ' indptr / shape')
        rows, cols = (int(s) for s in shape)
        indptr = np.asarray(state['indptr'], np.int64)
        indices = np.asarray(state['indices'], np.int64)
        data = np.asarray(state['data'], np.float64)
        if indptr.shape != (cols + 1, ) or indices.shape != data.shape:
            raise ValueError(f'{name}: an inconsistent csc matrix')
        dense = np.zeros((rows, cols), np.float64)
        column = np.repeat(np.arange(cols), np.diff(indptr))
        np.add.at(dense, (indices, column), data)
        return dense
    if isinstance(value, _PickledState):
        raise ValueError(f'{name}: unexpected {type(value).__name__}')
    return np.asarray(value)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def _side_from_name(path: str) -> Optional[str]:
    name = osp.basename(path).lower()
    found = [side for side in SIDES if re.search(rf'(^|[^a-z]){side}'
                                                 r'($|[^a-z])', name)]
    return found[0] if len(found) == 1 else None


def apply_left_shapedirs_fix(data: HandModelData) -> HandModelData:
    """MANO_LEFT.pkl's ``shapedirs`` has the wrong sign on x (smplx issue
    #48, dex-ycb-toolkit issue #28): negate it, and record that it was."""
    if data.side != 'left' or data.shapedirs_x_sign_fixed:
        return data
    shapedirs = data.shapedirs.copy()
    shapedirs[:, 0, :] *= -1
    data.shapedirs = shapedirs
    data.shapedirs_x_sign_fixed = True
    return data


def _tip_ids(value: Optional[Sequence[int]], default) -> np.ndarray:
    return np.asarray(default if value is None else value, np.int64).ravel()


def _load_pkl(path: str, tip_vertex_ids, side) -> HandModelData:
    try:
        raw = load_data_pickle(path, extra_globals=MANO_PICKLE_GLOBALS)
    except ValueError as error:  # not a readable pickle
        raise HandModelFileError(_about_mano(
            path, str(error).replace(f'{path} ', '', 1))) from None
    if not isinstance(raw, dict):
        raise HandModelFileError(_about_mano(
            path, f'it holds a {type(raw).__name__}, not the dict of arrays '
            'of a MANO model file'))
    missing = [key for key in PKL_KEYS if key not in raw]
    if missing:
        raise HandModelFileError(_about_mano(
            path, f"it has no {', '.join(missing)} (a MANO model file holds "
            f"{', '.join(PKL_KEYS)})"))
    try:
        arrays = {key: _as_array(raw[key], key) for key in PKL_KEYS}
    except ValueError as error:
        raise HandModelFileError(_about_mano(path, str(error))) from None
    kintree = arrays['kintree_table'].astype(np.int64)
    if kintree.ndim != 2 or kintree.shape[0] != 2:
        raise HandModelFileError(_about_mano(
            path, f'kintree_table must be (2, J), got {kintree.shape}'))
    parents = kintree[0].copy()
    # the root's parent is stored as uint32 -1 (4294967295)
    parents[(parents < 0) | (parents >= kintree.shape[1])] = -1
    # kintree_table[1] are the joint ids; parents indexed by joint id
    order = np.argsort(kintree[1])
    parents = parents[order]
    if side is None:
        side = _side_from_name(path)
        if side is None:
            raise HandModelFileError(_about_mano(
                path, 'its name says neither RIGHT nor LEFT (the MANO files '
                "are MANO_RIGHT.pkl and MANO_LEFT.pkl); pass side='right' "
                "or side='left'"))
    num_joints = parents.shape[0]
    joint_order = (MANO_JOINT_NAMES if num_joints == len(MANO_JOINT_NAMES)
                   else tuple(f'joint_{j}' for j in range(num_joints)))
    return HandModelData(
        v_template=arrays['v_template'].astype(np.float64),
        faces=arrays['f'].astype(np.int64),
        shapedirs=arrays['shapedirs'].astype(np.float64),
        posedirs=arrays['posedirs'].astype(np.float64),
        weights=arrays['weights'].astype(np.float64),
        J_regressor=arrays['J_regressor'].astype(np.float64),
        kintree_parents=parents,
        hands_components=arrays['hands_components'].astype(np.float64),
        hands_mean=arrays['hands_mean'].astype(np.float64).ravel(),
        tip_vertex_ids=_tip_ids(tip_vertex_ids, DEFAULT_TIP_VERTEX_IDS),
        joint_order=tuple(joint_order), side=side, licence=MANO_LICENCE,
        source=osp.basename(path), shapedirs_x_sign_fixed=False)


def _load_npz(path: str, tip_vertex_ids, side) -> HandModelData:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in NPZ_KEYS if key not in npz.files]
            if missing:
                raise HandModelFileError(_about_mano(
                    path, f"it has no {', '.join(missing)} (a handkit hand "
                    f"model .npz holds {', '.join(NPZ_KEYS)})"))
            arrays = {key: npz[key] for key in NPZ_KEYS}
    except HandModelFileError:
        raise
    except (ValueError, OSError, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(
            error).__name__
        raise HandModelFileError(_about_mano(
            path, f'it is not a readable .npz without pickled objects '
                  f'({reason})')) from None
    stored_side = str(arrays['side'])
    if side is not None and side != stored_side:
        raise HandModelFileError(_about_mano(
            path, f"it is a {stored_side} hand model, but side={side!r} "
            'was asked for'))
    return HandModelData(
        v_template=arrays['v_template'].astype(np.float64),
        faces=arrays['faces'].astype(np.int64),
        shapedirs=arrays['shapedirs'].astype(np.float64),
        posedirs=arrays['posedirs'].astype(np.float64),
        weights=arrays['weights'].astype(np.float64),
        J_regressor=arrays['J_regressor'].astype(np.float64),
        kintree_parents=arrays['kintree_parents'].astype(np.int64),
        hands_components=arrays['hands_components'].astype(np.float64),
        hands_mean=arrays['hands_mean'].astype(np.float64).ravel(),
        tip_vertex_ids=_tip_ids(tip_vertex_ids, arrays['tip_vertex_ids']),
        joint_order=tuple(str(name) for name in arrays['joint_order']),
        side=stored_side, licence=str(arrays['licence']),
        source=str(arrays['source']),
        shapedirs_x_sign_fixed=bool(arrays['shapedirs_x_sign_fixed']))


def load_hand_model(path: str, fix_left_shapedirs: bool = True,
                    tip_vertex_ids: Optional[Sequence[int]] = None,
                    side: Optional[str] = None) -> HandModelData:
    """Read MANO's ``.pkl`` (without chumpy) or handkit's ``.npz``.

    Args:
        path: ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` or a ``.npz`` of
            :func:`HandModelData.to_npz_arrays` (``tools/convert_mano.py``).
        fix_left_shapedirs: negate the x component of a left model's
            ``shapedirs`` (MANO_LEFT.pkl's sign error: smplx issue #48,
            dex-ycb-toolkit issue #28) unless the file records it as fixed;
            the result records ``shapedirs_x_sign_fixed``.
        tip_vertex_ids: the 5 fingertip vertices (thumb .. little); default:
            the ``.npz``'s own, and for a ``.pkl`` Boukhayma et al.'s
            (745, 333, 444, 555, 672) (:data:`TIP_VERTEX_IDS` lists other
            libraries' choices).
        side: 'right' / 'left'; a ``.pkl``'s default comes from its name
            (MANO_RIGHT / MANO_LEFT), a ``.npz`` states its own.

    Raises:
        HandModelNotFoundError: no file at ``path`` (the MANO paragraph).
        HandModelFileError: a missing key, a wrong shape, an unreadable
            file (the MANO paragraph, naming what is wrong).
        UnsafeFileError: the pickle names a Python object outside MANO's
            structure (one line; nothing ran).
    """
    path = os.fspath(path)
    if side is not None and side not in SIDES:
        raise ValueError(f"load_hand_model: side must be 'right' or 'left', "
                         f'got {side!r}')
    if not osp.isfile(path):
        problem = ('it is a folder, not a file' if osp.isdir(path) else
                   'no such file')
        raise HandModelNotFoundError(_about_mano(path, problem))
    with open(path, 'rb') as file:
        is_zip = file.read(4) == b'PK\x03\x04'
    if is_zip:
        data = _load_npz(path, tip_vertex_ids, side)
    else:
        data = _load_pkl(path, tip_vertex_ids, side)
    data.validate(path)
    if fix_left_shapedirs:
        data = apply_left_shapedirs_fix(data)
    return data
