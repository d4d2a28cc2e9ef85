"""A study file and its cells' configs, checked before anything runs.

A study file is a Python config (``cells``, ``seeds``, ``evaluations``,
optionally ``options``, ``baseline_cell``, ``mean_pose``; the keys are
documented in :mod:`handkit.tools.study`). Every option key is checked as
``tools/train.py --cfg-options`` checks it (:func:`check_cfg_options`), so
a typo stops the study with one line instead of being ignored; a cell's
merged config is compared with the ``config.json`` its last run wrote
(:func:`comparable`, :func:`first_difference`).
"""
import copy
import os.path as osp
from typing import Any, Optional, Tuple

from mmengine.config import Config

from handkit.engine.config import (ConfigError, check_cfg_options,
                                   load_config_file, resolve_config_path)

# the repository: a cell's config path may be relative to it
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
SPEC_KEYS = ('cells', 'seeds', 'evaluations')


def load_study(path: str) -> Config:
    """The study file, its keys checked (one-line errors naming the key)."""
    path = resolve_config_path(path)  # studies/nsrm_synthetic.py too
    if not osp.isfile(path):
        raise ConfigError(f'study file not found: {path}')
    study = load_config_file(path)
    for key in SPEC_KEYS:
        if not study.get(key):
            raise ConfigError(f'{path}: the study has no {key!r} (it needs '
                              f'{", ".join(SPEC_KEYS)})')
    for name, cell in study.cells.items():
        if 'config' not in cell:
            raise ConfigError(f'{path}: cell {name!r} has no config')
        if not osp.isfile(_from_root(cell['config'])):
            raise ConfigError(f"{path}: cell {name!r}: config "
                              f"{cell['config']} not found")
    mean_pose = study.get('mean_pose', False)
    if isinstance(mean_pose, (list, tuple)):
        unknown = [cell for cell in mean_pose if cell not in study.cells]
        if unknown:
            raise ConfigError(f'{path}: mean_pose names {unknown}, not '
                              f'cells ({", ".join(study.cells)})')
    baseline = study.get('baseline_cell')
    if baseline is not None and baseline not in study.cells:
        raise ConfigError(f'{path}: baseline_cell {baseline!r} is not a '
                          f'cell ({", ".join(study.cells)})')
    return study


def cell_config(study: Config, name: str, seed: int, work_dir: str) -> Config:
    """The cell's config: its file, the study's and the cell's options, the
    seed and the work dir.

    Each options key is checked before it is merged, as ``--cfg-options``
    (:func:`check_cfg_options`): the study's ``options`` against the cell's
    config file, the cell's ``options`` against that plus the study's.

    Raises:
        ConfigError: one line, ``study PATH: cell 'NAME': --cfg-options
            KEY: ...`` (``options (cell 'NAME')`` for the study's options).
    """
    cell = study.cells[name]
    cfg = load_config_file(_from_root(cell['config']))
    for where, options in ((f'options (cell {name!r})',
                            study.get('options', {})),
                           (f'cell {name!r}', cell.get('options', {}))):
        options = dict(options)
        _check_options(study, where, cfg, options)
        cfg.merge_from_dict(options, allow_list_keys=True)
    cfg.merge_from_dict({'randomness.seed': int(seed)})
    cfg.work_dir = work_dir
    return cfg


def check_evaluations(study: Config, name: str, cfg: Config) -> None:
    """Check each evaluation's options against the cell ``name``'s merged
    config ``cfg`` (tools/test.py gets them as ``--cfg-options``)."""
    for evaluation, options in study.evaluations.items():
        _check_options(study, f'evaluation {evaluation!r} (cell {name!r})',
                       cfg, dict(options or {}))


def _check_options(study: Config, where: str, cfg: Config,
                   options: dict) -> None:
    try:
        check_cfg_options(cfg, options)
    except ConfigError as error:
        raise ConfigError(f'study {study.filename}: {where}: '
                          f'{error}') from None


# The keys of config.json left out of the comparison: work_dir always names
# the cell's own folder (spelt as the run that wrote it was given it);
# resume and load_from are what tools/train.py --auto-resume sets (it
# replaces the config's).
UNCOMPARED_KEYS = ('work_dir', 'resume', 'load_from')
TENSORBOARD = {'type': 'TensorboardVisBackend'}
_ABSENT = object()


def comparable(old: dict, new: dict) -> Tuple[dict, dict]:
    """The parsed ``config.json`` and the new merged config, as compared.

    mmengine's Runner writes the config it runs over ``config.json``:
    tools/train.py's settings for the machine are not changes of the
    experiment, so they are undone in ``old`` where ``new`` explains them:
    an added ``launcher``, a loader's ``pin_memory`` turned off or its
    ``num_workers`` capped (``quiet_dataloader_workers``), an added
    TensorBoard backend. :data:`UNCOMPARED_KEYS` are left out of both.
    """
    old, new = copy.deepcopy(old), copy.deepcopy(new)
    for key in UNCOMPARED_KEYS:
        old.pop(key, None)
        new.pop(key, None)
    if 'launcher' not in new:
        old.pop('launcher', None)
    for key, loader in new.items():
        ran = old.get(key)
        if not (key.endswith('_dataloader') and isinstance(loader, dict)
                and isinstance(ran, dict)):
            continue
        if ran.get('pin_memory') is False and loader.get('pin_memory'):
            ran['pin_memory'] = loader['pin_memory']
        workers, ran_workers = loader.get('num_workers'), ran.get(
            'num_workers')
        if isinstance(workers, int) and isinstance(ran_workers, int) and \
                ran_workers < workers:
            ran['num_workers'] = workers
    visualizer, ran = new.get('visualizer'), old.get('visualizer')
    if isinstance(visualizer, dict) and isinstance(ran, dict):
        backends = visualizer.get('vis_backends')
        if ran.get('vis_backends') == list(backends or []) + [TENSORBOARD]:
            if backends is None:
                ran.pop('vis_backends')
            else:
                ran['vis_backends'] = backends
    return old, new


def first_difference(old: Any, new: Any, path: str = ''
                     ) -> Optional[Tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` of the first place where two
    parsed JSON configs differ (dicts by key, in the new one's order, then
    the keys only the old one has; lists of the same length by index; a
    missing key is ``_ABSENT``), or None when they are the same. Key order
    counts (named pipeline steps run in it)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(new) + [key for key in old if key not in new]:
            found = first_difference(old.get(key, _ABSENT),
                                     new.get(key, _ABSENT),
                                     f'{path}.{key}' if path else str(key))
            if found:
                return found
        if list(old) != list(new):
            return (path or 'the config', f'keys in order {list(old)}',
                    f'keys in order {list(new)}')
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(
            new):
        for index, (a, b) in enumerate(zip(old, new)):
            found = first_difference(a, b, f'{path}.{index}' if path
                                     else str(index))
            if found:
                return found
        return None
    if old is _ABSENT or new is _ABSENT or type(old) is not type(new) or \
            old != new:
        return path, old, new
    return None


def describe_difference(difference: Tuple[str, Any, Any],
                        where: str = '') -> str:
    """``KEY was OLD[where], now NEW`` of :func:`first_difference`'s
    answer, each value shortened to 60 characters."""
    key, old, new = difference
    return f'{key} was {_shown(old)}{where}, now {_shown(new)}'


def _shown(value: Any, limit: int = 60) -> str:
    text = '(absent)' if value is _ABSENT else (
        value if isinstance(value, str) and value.startswith('keys in order')
        else repr(value))
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _from_root(path: str) -> str:
    """A cell's config: as given, inside the package's configs
    (``configs/quickstart/cpm_synthetic.py`` from any folder, or from an
    installed wheel), else relative to the repository."""
    path = resolve_config_path(path)
    return path if osp.isabs(path) or osp.exists(path) else osp.join(
        ROOT, path)
