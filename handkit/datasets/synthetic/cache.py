"""Render a synthetic split once, keep it on disk, read it back memory-mapped.

Rendering a hand costs 5-10 ms of a core; a training step on two cores must
not wait for it, and every epoch of every run would render the same hands
again (a sample is a pure function of its seed). handkit renders the
samples of one ``(seed, split, count, renderer arguments)`` once
(:func:`ensure_cache`), in parallel over the cores, with a progress bar,
into a folder of ``.npy`` arrays under ``cache_dir``; later runs (and every
data loader worker) memory-map them (:func:`read_cache`). The folder name is
a hash of those arguments and of the renderer's source, so changing the
renderer renders anew.

Layout of one entry ``<cache_dir>/<hash>/``: ``image.npy`` (N, H, W, 3)
uint8 BGR ('rgb'), ``depth.npy`` (N, H, W) float32 mm ('depth') or both
('rgbd'), the label arrays of :data:`ARRAYS` and ``args.json``; an entry
of mesh hands (``render_args['hand'] == 'mesh'``,
:func:`handkit.datasets.synthetic.mesh_renderer.render_mesh_hand`) also
holds the mesh arrays of :data:`MESH_ARRAYS`. Capsule entries carry no
``hand`` argument, so their keys are those of before the mesh mode.

Every build of a dataset checks its entry, under the entry's file lock,
before using it (:func:`check_entry`): ``args.json`` parses and holds the
arguments the entry's hash was made from; every array of :data:`ARRAYS`
exists, is a plain ``.npy`` (read without unpickling anything), has N
samples, the per-sample shape and dtype of the table and a complete file,
and the label arrays of :data:`FINITE` hold no NaN or inf. An entry that
fails is reported in one line on stderr and rendered again (a derived cache
can always be rebuilt); a fresh render that fails is a ValueError.

An entry is written into a hidden temporary folder
(:func:`handkit.fileio.atomic_output`) and renamed over the entry only when
complete and checked, under a file lock, so concurrent runs never read half
a cache; an error or a full disk (:class:`handkit.fileio.DiskFullError`)
leaves no temporary and the previous entry as it was, and a killed run's
temporary is removed by the next :func:`ensure_cache` of the folder.
"""
import contextlib
import fcntl
import hashlib
import inspect
import itertools
import json
import multiprocessing
import os
import os.path as osp
import re
import shutil
import sys
from functools import partial
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import ProgressBar

from handkit.datasets.synthetic import hand_model, renderer
from handkit.fileio import (atomic_output, pid_alive,
                            remove_stale_temporaries)
from handkit.hand import kinematics

# What an entry's arrays hold, as ``renderer.render_hand`` returns them for
# one sample: per-sample shape ('H' and 'W' are the render arguments' image
# height and width) and dtype. Every array has the sample count N in front.
ARRAYS: Dict[str, Tuple[tuple, np.dtype]] = {
    'image': (('H', 'W', 3), np.dtype(np.uint8)),
    'depth': (('H', 'W'), np.dtype(np.float32)),
    'mask': (('H', 'W'), np.dtype(np.bool_)),
    'keypoints': ((21, 2), np.dtype(np.float32)),
    'keypoints_3d': ((21, 3), np.dtype(np.float32)),
    'keypoints_visible': ((21, ), np.dtype(np.float32)),
    'occluded': ((21, ), np.dtype(np.bool_)),
    'cam_K': ((3, 3), np.dtype(np.float32)),
    'is_left': ((), np.dtype(np.bool_)),
}
# The mesh hands' arrays, besides those of ARRAYS ('V': the open hand's
# vertex count). A table of its own: every field of ARRAYS is in every
# entry, these only in mesh-hand entries.
MESH_ARRAYS: Dict[str, Tuple[tuple, np.dtype]] = {
    'vertices': (('V', 3), np.dtype(np.float32)),
    'hand_pose': ((45, ), np.dtype(np.float32)),
    'hand_shape': ((10, ), np.dtype(np.float32)),
    'global_orient': ((3, ), np.dtype(np.float32)),
    'transl': ((3, ), np.dtype(np.float32)),
}
# The label arrays read in full when an entry is checked: no NaN or inf.
FINITE = ('keypoints', 'keypoints_3d', 'keypoints_visible', 'cam_K',
          'vertices', 'hand_pose', 'hand_shape', 'global_orient', 'transl')
HANDS = ('capsule', 'mesh')

# Fields stored per modality, besides the image or depth.
_FIELDS = ('mask', 'keypoints', 'keypoints_3d', 'keypoints_visible',
           'occluded', 'cam_K', 'is_left')
_MESH_FIELDS = tuple(MESH_ARRAYS)
_PIXELS = dict(rgb=('image', ), depth=('depth', ), rgbd=('image', 'depth'))
_CHUNK = 64  # samples per rendering task
# The temporary folder of handkit before handkit.fileio: ``<entry>.<pid>.tmp``.
_OLD_TEMPORARY = re.compile(r'[0-9a-f]{16}\.(?P<pid>\d+)\.tmp')


def renderer_fingerprint(hand: str = 'capsule') -> str:
    """Hash of the hand's kinematics', the hand model's and the renderer's
    source code; for mesh hands also of the mesh renderer, its pose mapping,
    the rasteriser, the hand-mesh layer's loader and the open hand's
    files."""
    digest = hashlib.sha1()
    if hand == 'mesh':
        from handkit import rasterizer
        from handkit.datasets.synthetic import mesh_renderer
        from handkit.hand import mano_pose
        from handkit.models.hand_model import layer, model_file
        paths = [module.__file__ for module in (
            hand_model, renderer, rasterizer, mesh_renderer, mano_pose,
            layer, model_file, kinematics)] + [
                layer.open_hand_path(side) for side in ('right', 'left')]
    else:
        paths = [module.__file__ for module in (hand_model, renderer,
                                                kinematics)]
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]


def _hand(render_args: dict) -> str:
    hand = render_args.get('hand', 'capsule')
    if hand not in HANDS:
        raise ValueError(f'hand must be one of {HANDS}, got {hand!r}')
    return hand


def _names(render_args: dict) -> Tuple[str, ...]:
    """The arrays an entry of these render arguments holds."""
    names = _PIXELS[render_args.get('modality', 'rgb')] + _FIELDS
    return names + _MESH_FIELDS if _hand(render_args) == 'mesh' else names


def _render_chunk(seeds: Sequence[int],
                  render_args: dict) -> Dict[str, np.ndarray]:
    if _hand(render_args) == 'mesh':
        from handkit.datasets.synthetic.mesh_renderer import render_mesh_hand
        args = {key: value for key, value in render_args.items()
                if key != 'hand'}
        samples = [render_mesh_hand(seed, **args) for seed in seeds]
    else:
        samples = [renderer.render_hand(seed, **render_args)
                   for seed in seeds]
    return {key: np.stack([sample[key] for sample in samples])
            for key in _names(render_args)}


def _cores() -> int:
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _remove_stale(cache_dir: str) -> None:
    """Remove the temporaries of killed renders: ``.<entry>.<pid>.tmp``
    (handkit.fileio) and the older ``<entry>.<pid>.tmp``."""
    remove_stale_temporaries(cache_dir)
    for name in os.listdir(cache_dir):
        match = _OLD_TEMPORARY.fullmatch(name)
        if match and not pid_alive(int(match['pid'])):
            shutil.rmtree(osp.join(cache_dir, name), ignore_errors=True)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_array(path: str, count: int, shape: tuple, dtype: np.dtype,
                 finite: bool) -> Optional[str]:
    """What is wrong with one ``.npy`` array of an entry, or None."""
    if not osp.isfile(path):
        return 'missing'
    try:  # the header only: nothing in it is unpickled or executed
        with open(path, 'rb') as file:
            version = np.lib.format.read_magic(file)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(file)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(file)
            else:
                return f'.npy format version {version} is not handkit\'s'
            offset = file.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError,
            MemoryError) as error:
        return f'not a .npy array ({_first_line(error)})'
    got_shape, _, got_dtype = header
    if got_dtype != dtype:
        return f'dtype {got_dtype}, expected {dtype}'
    if len(got_shape) != len(shape) + 1:
        return f'shape {got_shape}, expected {(count, ) + shape}'
    if got_shape[0] != count:
        return f'{got_shape[0]} samples, expected {count}'
    if tuple(got_shape[1:]) != shape:
        return (f'per-sample shape {tuple(got_shape[1:])}, expected '
                f'{shape}')
    size = offset + int(np.prod(got_shape)) * dtype.itemsize
    if osp.getsize(path) != size:
        return f'{osp.getsize(path)} bytes, expected {size}'
    if finite:
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            return f'not a .npy array ({_first_line(error)})'
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            return f'{bad} of {np.size(array)} values are NaN or inf'
    return None


def check_entry(entry: str, args: dict) -> Optional[str]:
    """What is wrong with a cache entry made from ``args`` (``'<file>: <what
    is wrong>'``, the first problem found), or None when it is sound.

    Reads ``args.json``, every array's header and the label arrays of
    :data:`FINITE`; the pixels are not read.
    """
    if not osp.isdir(entry):
        return f'{osp.basename(entry)}: not a folder'
    try:
        with open(osp.join(entry, 'args.json')) as file:
            stored = json.load(file)
    except FileNotFoundError:
        return 'args.json: missing'
    except (ValueError, OSError) as error:  # JSONDecodeError, bad UTF-8
        return f'args.json: not valid JSON ({_first_line(error)})'
    if not isinstance(stored, dict):
        return 'args.json: not a JSON object'
    stored.pop('description', None)
    expected = json.loads(json.dumps(args))
    expected.pop('description', None)
    differ = sorted(key for key in set(stored) | set(expected)
                    if stored.get(key) != expected.get(key))
    if differ:
        return (f'args.json: made from other arguments ({", ".join(differ)} '
                'differ)')
    render_args = args['render_args']
    width, height = renderer.check_image_size(
        render_args['image_size'] if 'image_size' in render_args else
        inspect.signature(renderer.render_hand).parameters[
            'image_size'].default)
    sizes = dict(H=height, W=width)
    if _hand(render_args) == 'mesh':
        from handkit.datasets.synthetic.mesh_renderer import num_vertices
        sizes['V'] = num_vertices()
    for name in _names(render_args):
        shape, dtype = ARRAYS[name] if name in ARRAYS else MESH_ARRAYS[name]
        shape = tuple(sizes.get(size, size) for size in shape)
        problem = _check_array(osp.join(entry, f'{name}.npy'), args['count'],
                               shape, dtype, name in FINITE)
        if problem:
            return f'{name}.npy: {problem}'
    return None


def ensure_cache(cache_dir: str, seeds: Sequence[int], render_args: dict,
                 description: str = '') -> str:
    """The cache entry (a folder) of ``render_hand(seed, **render_args)``
    for every seed (``render_mesh_hand`` with ``render_args['hand'] ==
    'mesh'``).

    Under the entry's file lock: removes killed renders' temporaries, checks
    the entry (:func:`check_entry`) and renders it if it is missing or fails
    the check (one line on stderr then); read it with :func:`read_cache`.

    Raises:
        ValueError: a freshly rendered entry fails the check.
        handkit.fileio.DiskFullError: the disk filled up while rendering;
            no temporary is left and the previous entry is unchanged.
    """
    render_args = {key: list(value) if isinstance(value, tuple) else value
                   for key, value in render_args.items()}
    args = dict(seeds_sha1=hashlib.sha1(
        np.asarray(seeds, np.uint64).tobytes()).hexdigest(),
        count=len(seeds), render_args=render_args,
        renderer=renderer_fingerprint(_hand(render_args)))
    key = hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()
    entry = osp.join(cache_dir, key[:16])
    os.makedirs(cache_dir, exist_ok=True)
    with open(entry + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be rendering
        _remove_stale(cache_dir)
        if osp.lexists(entry):
            problem = check_entry(entry, args)
            if problem is None:
                return entry
            print(f'handkit: cache entry {entry} fails its check '
                  f'({problem}); rendering it again', file=sys.stderr,
                  flush=True)
            if not osp.isdir(entry):  # a folder cannot replace a file
                os.remove(entry)
        _render(entry, seeds, render_args,
                dict(args, description=description))
    return entry


def read_cache(entry: str, modality: str,
               hand: str = 'capsule') -> Dict[str, np.ndarray]:
    """dict field -> read-only (N, ...) memory-mapped array of an entry
    (checked by :func:`ensure_cache`); ``hand='mesh'`` adds the mesh
    arrays."""
    return {name: np.load(osp.join(entry, f'{name}.npy'), mmap_mode='r',
                          allow_pickle=False)
            for name in _names(dict(modality=modality, hand=hand))}


def _render(entry, seeds, render_args, args):
    chunks = [list(seeds[start:start + _CHUNK])
              for start in range(0, len(seeds), _CHUNK)]
    print(f'handkit: rendering {len(seeds)} synthetic hands '
          f"{args['description']}once into {entry} (reused by later runs)",
          flush=True)
    render = partial(_render_chunk, render_args=render_args)
    with atomic_output(entry) as temporary:
        os.makedirs(temporary)
        # The first chunk (one sample for an empty split) gives the dtypes
        # and shapes; the chunks are appended to the files as the worker
        # processes finish them, in order, so memory holds a few chunks,
        # never the split. Plain writes, not a memory map: a full disk is
        # an OSError (ENOSPC), never a SIGBUS.
        first = render(chunks[0] if chunks else [0])
        with contextlib.ExitStack() as files:
            outputs = {}
            for name, value in first.items():
                outputs[name] = files.enter_context(
                    open(osp.join(temporary, f'{name}.npy'), 'wb'))
                np.lib.format.write_array_header_1_0(outputs[name], dict(
                    descr=np.lib.format.dtype_to_descr(value.dtype),
                    fortran_order=False,
                    shape=(len(seeds), ) + value.shape[1:]))
            progress = ProgressBar(len(seeds))
            try:
                with multiprocessing.get_context('fork').Pool(
                        max(1, min(_cores(), 8))) as pool:
                    rest = pool.imap(render, chunks[1:])
                    for result in itertools.chain(
                            [first] if chunks else [], rest):
                        for name, output in outputs.items():
                            output.write(np.ascontiguousarray(
                                result[name], first[name].dtype).tobytes())
                        progress.update(len(result['keypoints']))
            finally:
                print(flush=True)  # ends the progress bar's line
        with open(osp.join(temporary, 'args.json'), 'w') as file:
            json.dump(args, file, indent=1)
        problem = check_entry(temporary, args)
        if problem:
            raise ValueError(
                f'handkit: the freshly rendered cache entry {entry} fails '
                f'its check ({problem}); the renderer and '
                'handkit.datasets.synthetic.cache.ARRAYS disagree')
