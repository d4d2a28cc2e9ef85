"""Render a synthetic split once, keep it on disk, read it back memory-mapped.

Rendering a hand costs 5-10 ms of a core; a training step on two cores must
not wait for it, and every epoch of every run would render the same hands
again (a sample is a pure function of its seed). handkit renders the
samples of one ``(seed, split, count, renderer arguments)`` once (:func:`ensure_cache`), in parallel over the cores, with a
progress bar, into a folder of ``.npy`` arrays under ``cache_dir``; later
runs (and every data loader worker) memory-map them (:func:`read_cache`).
The folder name is a hash of those arguments and of the renderer's source,
so changing the renderer renders anew.

Layout of one entry ``<cache_dir>/<hash>/``: ``image.npy`` (N, H, W, 3)
uint8 BGR ('rgb'), ``depth.npy`` (N, H, W) float32 mm ('depth') or both
('rgbd'),
``mask.npy`` (N, H, W) bool, ``keypoints.npy`` (N, 21, 2),
``keypoints_3d.npy`` (N, 21, 3), ``keypoints_visible.npy`` (N, 21),
``occluded.npy`` (N, 21) bool, ``cam_K.npy`` (N, 3, 3), ``is_left.npy``
(N,) bool and ``args.json``.
An entry is written into a temporary folder and renamed when complete, under
a file lock, so concurrent runs never read half a cache.
"""
import fcntl
import hashlib
import itertools
import json
import multiprocessing
import os
import os.path as osp
import shutil
from functools import partial
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
from mmengine.utils import ProgressBar

from handkit.datasets.synthetic import hand_model, renderer

# Fields stored per modality, besides the image or depth.
_FIELDS = ('mask', 'keypoints', 'keypoints_3d', 'keypoints_visible',
           'occluded', 'cam_K', 'is_left')
_PIXELS = dict(rgb=('image', ), depth=('depth', ), rgbd=('image', 'depth'))
_CHUNK = 64  # samples per rendering task


def renderer_fingerprint() -> str:
    """Hash of the hand model's and renderer's source code."""
    digest = hashlib.sha1()
    for module in (hand_model, renderer):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


def _render_chunk(seeds: Sequence[int],
                  render_args: dict) -> Dict[str, np.ndarray]:
    samples = [renderer.render_hand(seed, **render_args) for seed in seeds]
    return {key: np.stack([sample[key] for sample in samples])
            for key in _PIXELS[render_args['modality']] + _FIELDS}


def _cores() -> int:
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def ensure_cache(cache_dir: str, seeds: Sequence[int], render_args: dict,
                 description: str = '') -> str:
    """The cache entry (a folder) of ``render_hand(seed, **render_args)``
    for every seed.

    Renders them first if ``cache_dir`` has no entry for these arguments;
    read it with :func:`read_cache`.
    """
    render_args = {key: list(value) if isinstance(value, tuple) else value
                   for key, value in render_args.items()}
    args = dict(seeds_sha1=hashlib.sha1(
        np.asarray(seeds, np.uint64).tobytes()).hexdigest(),
        count=len(seeds), render_args=render_args,
        renderer=renderer_fingerprint())
    key = hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()
    entry = osp.join(cache_dir, key[:16])
    if not osp.isfile(osp.join(entry, 'args.json')):
        os.makedirs(cache_dir, exist_ok=True)
        with open(entry + '.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be rendering
            if not osp.isfile(osp.join(entry, 'args.json')):
                _render(entry, seeds, render_args,
                        dict(args, description=description))
    return entry


def read_cache(entry: str, modality: str) -> Dict[str, np.ndarray]:
    """dict field -> read-only (N, ...) memory-mapped array of an entry."""
    return {name: np.load(osp.join(entry, f'{name}.npy'), mmap_mode='r')
            for name in _PIXELS[modality] + _FIELDS}


def _render(entry, seeds, render_args, args):
    temporary = f'{entry}.{os.getpid()}.tmp'
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    chunks = [list(seeds[start:start + _CHUNK])
              for start in range(0, len(seeds), _CHUNK)]
    print(f'handkit: rendering {len(seeds)} synthetic hands '
          f"{args['description']}once into {entry} (reused by later runs)",
          flush=True)
    render = partial(_render_chunk, render_args=render_args)
    try:
        # The first chunk (one sample for an empty split) gives the dtypes
        # and shapes; the others are written as the worker processes
        # finish them, so memory holds a few chunks, never the split.
        first = render(chunks[0] if chunks else [0])
        arrays = {name: np.lib.format.open_memmap(
            osp.join(temporary, f'{name}.npy'), mode='w+', dtype=value.dtype,
            shape=(len(seeds), ) + value.shape[1:])
            for name, value in first.items()}
        progress = ProgressBar(len(seeds))
        with multiprocessing.get_context('fork').Pool(
                max(1, min(_cores(), 8))) as pool:
            rest = pool.imap(render, chunks[1:])
            for index, result in enumerate(
                    itertools.chain([first] if chunks else [], rest)):
                start = index * _CHUNK
                for name, array in arrays.items():
                    array[start:start + len(result[name])] = result[name]
                progress.update(len(result['keypoints']))
        for array in arrays.values():
            array.flush()
        arrays.clear()
        print(flush=True)
        with open(osp.join(temporary, 'args.json'), 'w') as file:
            json.dump(args, file, indent=1)
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(temporary, entry)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
