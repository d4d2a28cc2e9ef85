"""A small synthetic MANO-structured hand model, and MANO's pickle
structure written without chumpy (for the hand-model tests).

``synthetic_model`` builds random arrays of MANO's layout (16 joints with
MANO's kinematic tree, V vertices), with skinning weights and pose blend
shapes local to the joints that move a vertex, so that rotating a joint
moves only the vertices of it and its descendants.

``write_mano_pickle`` writes the dict MANO_RIGHT.pkl holds, the way the real
file is built: ``shapedirs`` a ``chumpy.reordering.Select`` over a
``chumpy.ch.Ch`` (each pickled as its ``__dict__``, as chumpy's
``__getstate__`` gives it), ``J_regressor`` a scipy csc matrix,
``kintree_table`` with the root's parent as uint32 -1, pickle protocol 2.
The chumpy classes here are stand-ins registered as modules ``chumpy.ch``
and ``chumpy.reordering`` in ``sys.modules`` only while pickling.
"""
import pickle
import sys
import types

import numpy as np
import scipy.sparse

from handkit.models.hand_model import MANO_JOINT_NAMES, MANO_PARENTS
from handkit.models.hand_model.model_file import HandModelData

PARENTS = np.array(MANO_PARENTS, np.int64)
TIPS = np.array([5, 11, 17, 23, 29], np.int64)


def descendants(joint):
    """``joint`` and every joint below it in MANO's tree."""
    found = {joint}
    for child in range(1, len(PARENTS)):
        if PARENTS[child] in found:
            found.add(child)
    return sorted(found)


def synthetic_model(num_vertices=40, seed=0, side='right'):
    rng = np.random.default_rng(seed)
    num_joints = len(PARENTS)
    v_template = rng.normal(0, 0.05, (num_vertices, 3))
    # each vertex hangs on one joint and, half of the time, its parent
    owner = rng.integers(0, num_joints, num_vertices)
    owner[:num_joints] = np.arange(num_joints)  # every joint owns one
    weights = np.zeros((num_vertices, num_joints))
    weights[np.arange(num_vertices), owner] = rng.uniform(0.5, 1.0,
                                                          num_vertices)
    for v in range(num_vertices):
        if owner[v] > 0 and rng.random() < 0.5:
            weights[v, PARENTS[owner[v]]] = rng.uniform(0.1, 0.5)
    weights /= weights.sum(1, keepdims=True)
    # pose blend shapes of joint k only on the vertices that k moves
    posedirs = rng.normal(0, 0.01, (num_vertices, 3, 9 * (num_joints - 1)))
    for k in range(1, num_joints):
        moved = weights[:, descendants(k)].sum(1) > 0
        posedirs[~moved, :, 9 * (k - 1):9 * k] = 0.0
    regressor = rng.uniform(0, 1, (num_joints, num_vertices)) * (
        rng.random((num_joints, num_vertices)) < 0.3)
    regressor[np.arange(num_joints), np.arange(num_joints)] += 1.0
    regressor /= regressor.sum(1, keepdims=True)
    components = np.linalg.qr(rng.normal(size=(45, 45)))[0].T * 0.5
    return HandModelData(
        v_template=v_template,
        faces=rng.integers(0, num_vertices, (30, 3)),
        shapedirs=rng.normal(0, 0.01, (num_vertices, 3, 10)),
        posedirs=posedirs, weights=weights, J_regressor=regressor,
        kintree_parents=PARENTS.copy(), hands_components=components,
        hands_mean=rng.normal(0, 0.2, 45), tip_vertex_ids=TIPS.copy(),
        joint_order=MANO_JOINT_NAMES, side=side, source='synthetic')


def mirrored(data):
    """The left model of a right one: x mirrored (M = diag(-1, 1, 1)).

    A mirrored pose has axis-angle (x, -y, -z) per joint and rotations
    M R M, so entry (i, j) of a pose feature R - I changes sign by
    m_i m_j; the left posedirs carry that sign and the mirror of x.
    """
    mirror = np.array([-1.0, 1.0, 1.0])
    feature_sign = np.tile(np.outer(mirror, mirror).ravel(), 15)  # (135,)
    aa_sign = np.tile([1.0, -1.0, -1.0], 15)
    return HandModelData(
        v_template=data.v_template * mirror,
        faces=data.faces[:, ::-1].copy(),
        shapedirs=data.shapedirs * mirror[None, :, None],
        posedirs=data.posedirs * mirror[None, :, None]
        * feature_sign[None, None],
        weights=data.weights.copy(), J_regressor=data.J_regressor.copy(),
        kintree_parents=data.kintree_parents.copy(),
        hands_components=data.hands_components * aa_sign,
        hands_mean=data.hands_mean * aa_sign,
        tip_vertex_ids=data.tip_vertex_ids.copy(),
        joint_order=data.joint_order, side='left', source='mirrored',
        shapedirs_x_sign_fixed=True)


# ---------------------------------------------------------------------------
# MANO's pickle structure
# ---------------------------------------------------------------------------

class Ch:
    """Stand-in for chumpy.ch.Ch: pickled as its __dict__."""

    def __init__(self, x):
        self.__dict__.update(
            x=np.asarray(x, np.float64), _dirty_vars={'x'}, _itr=None,
            _depends_on_deps={}, _make_dense=False, _make_sparse=False)

    def __reduce_ex__(self, protocol):  # what object's default gives
        import copyreg
        return copyreg.__newobj__, (type(self), ), dict(self.__dict__)


class Select(Ch):
    """Stand-in for chumpy.reordering.Select (a, idxs, preferred_shape)."""

    def __init__(self, a, idxs, preferred_shape):
        self.__dict__.update(
            a=a, idxs=np.asarray(idxs, np.int64),
            preferred_shape=tuple(preferred_shape), _dirty_vars=set(),
            _itr=None, _depends_on_deps={}, _make_dense=False,
            _make_sparse=False)


class CscMatrix:
    """Stand-in for the old module path scipy.sparse.csc.csc_matrix."""

    def __init__(self, matrix):
        self.__dict__.update(data=matrix.data, indices=matrix.indices,
                             indptr=matrix.indptr, _shape=matrix.shape,
                             maxprint=50)

    def __reduce_ex__(self, protocol):
        import copyreg
        return copyreg.__newobj__, (type(self), ), dict(self.__dict__)


def _fake_modules():
    chumpy = types.ModuleType('chumpy')
    ch = types.ModuleType('chumpy.ch')
    reordering = types.ModuleType('chumpy.reordering')
    old_csc = types.ModuleType('scipy.sparse.csc')
    for cls, module, name in ((Ch, ch, 'Ch'), (Select, reordering, 'Select'),
                              (CscMatrix, old_csc, 'csc_matrix')):
        setattr(module, name, cls)
    return {'chumpy': chumpy, 'chumpy.ch': ch,
            'chumpy.reordering': reordering, 'scipy.sparse.csc': old_csc}


def mano_pickle_dict(data, old_scipy=False):
    """The dict of MANO_RIGHT.pkl built from ``data``'s arrays."""
    shape = data.shapedirs.shape
    # Select over a Ch holding the values in another order
    order = np.random.default_rng(1).permutation(data.shapedirs.size)
    flat = np.empty(data.shapedirs.size)
    flat[order] = data.shapedirs.ravel()
    csc = scipy.sparse.csc_matrix(data.J_regressor)
    kintree = np.stack([data.kintree_parents, np.arange(16)]).astype(
        np.int64)
    kintree[0, 0] = 4294967295  # uint32 -1, as in the release
    return {
        'v_template': data.v_template, 'f': data.faces.astype(np.uint32),
        'shapedirs': Select(Ch(flat), order, shape),
        'posedirs': data.posedirs, 'weights': data.weights,
        'J_regressor': CscMatrix(csc) if old_scipy else csc,
        'kintree_table': kintree,
        'hands_components': data.hands_components,
        'hands_mean': data.hands_mean,
        'hands_coeffs': np.zeros((3, 45)), 'J': data.J_regressor
        @ data.v_template, 'bs_style': 'lbs', 'bs_type': 'lrotmin'}


def write_mano_pickle(path, data, old_scipy=False, extra=None, drop=()):
    """Write ``data`` as MANO's .pkl (protocol 2, chumpy stand-ins),
    with ``extra`` entries added and the keys ``drop`` left out."""
    modules = _fake_modules()
    saved = {name: sys.modules.get(name) for name in modules}
    names = {}
    for cls, module, name in ((Ch, 'chumpy.ch', 'Ch'),
                              (Select, 'chumpy.reordering', 'Select'),
                              (CscMatrix, 'scipy.sparse.csc', 'csc_matrix')):
        names[cls] = (cls.__module__, cls.__qualname__)
        cls.__module__, cls.__qualname__ = module, name
    sys.modules.update(modules)
    try:
        content = mano_pickle_dict(data, old_scipy)
        content.update(extra or {})
        for key in drop:
            del content[key]
        with open(path, 'wb') as file:
            pickle.dump(content, file, protocol=2)
    finally:
        for cls, (module, name) in names.items():
            cls.__module__, cls.__qualname__ = module, name
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return path
