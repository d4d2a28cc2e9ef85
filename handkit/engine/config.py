"""Reading a config file and checking ``--cfg-options`` against it.

Two late errors made early, each one line:

* a syntax error in a config (or in one of its ``_base_`` files) names the
  file and the line; mmengine parses the text without a file name and says
  ``<unknown>``;
* an override key of ``--cfg-options`` that the config does not have, and
  that no class built from the config accepts, is refused with the closest
  existing key (``difflib``). mmengine merges any key: a top-level typo is
  silently ignored, a nested one fails when the class is built, and a typo
  in a hook's arguments (``default_hooks.checkpoint.max_keep_ckpt``) fails
  at the first checkpoint, after a whole epoch.

The rule for an override ``a.b.c=value`` (:func:`check_cfg_options`):
every part but the last must exist (``a``, then ``a.b``; a number indexes a
list), and the last part ``c`` must either exist in ``a.b`` or be accepted
by what ``a.b`` builds: a dict with a ``type`` accepts the named arguments of
that class's ``__init__`` (and of its base classes' while they pass
``**kwargs`` on; a ``**kwargs`` alone accepts nothing, since it often only
forwards to a function that the typo would reach). The untyped dicts the
Runner builds itself are read the same way: the top level accepts the
Runner's arguments (and ``compile``, which it reads from the config),
``randomness`` those of ``Runner.set_randomness``,
``*_dataloader`` those of ``torch.utils.data.DataLoader``, ``train_cfg`` /
``val_cfg`` / ``test_cfg`` those of the loop mmengine builds from them and
``optim_wrapper`` those of ``OptimWrapper`` (when they name no type; and
``type``, ``constructor``, ``paramwise_cfg``, which ``build_optim_wrapper``
reads). Any
other new key in a dict without a ``type`` is refused: write it in the
config file.
"""
import ast
import difflib
import inspect
import os
import os.path as osp
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Iterable

from mmengine import registry as mmengine_registry
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import Registry
from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop, Runner,
                             TestLoop, ValLoop)
from torch.utils.data import DataLoader

# where config files are (re-exported: the tools and tests name them here)
from handkit.config_files import package_configs_dir, resolve_config_path
from handkit.errors import HandkitUserError


class ConfigError(HandkitUserError, ValueError):
    """A config file or a ``--cfg-options`` key that handkit cannot use."""


def config_chain(path: str) -> list:
    """The config ``path`` and every ``_base_`` file it names, recursively
    (absolute paths, each once): the files a run reads its settings from.

    Raises:
        ConfigError: one of them has a syntax error; the message names the
            file and the line.
    """
    chain: list = []
    _walk_config(osp.abspath(resolve_config_path(path)), chain)
    return chain


def _walk_config(path: str, chain: list) -> None:
    if path in chain or not osp.isfile(path):
        return  # a missing _base_ file is mmengine's error to give
    chain.append(path)
    with open(path, encoding='utf-8') as file:
        source = file.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        raise ConfigError(
            f'config {path}, line {error.lineno}: syntax error: '
            f'{error.msg}') from None
    for base in _base_files(tree):
        _walk_config(osp.abspath(osp.join(osp.dirname(path), base)), chain)


def check_config_syntax(path: str) -> None:
    """Raise :class:`ConfigError` naming the file and line of a syntax
    error in the config ``path`` or in any ``_base_`` file it names."""
    config_chain(path)


def _base_files(tree: ast.Module) -> list:
    """The ``_base_`` paths a parsed config assigns (literal strings only)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == '_base_'
                for target in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            values = [value] if isinstance(value, str) else value
            return [item for item in values if isinstance(item, str)]
    return []


def load_config_file(path: str) -> Config:
    """``Config.fromfile(path)`` with one-line errors; ``path`` is a file, a
    path inside the package's configs or ``handkit::REL``
    (:func:`resolve_config_path`). Its ``custom_imports`` also find modules
    in the current folder (:func:`importable_here`).

    Raises:
        FileNotFoundError: there is no such file.
        ConfigError: it (or a ``_base_`` file) has a syntax error; the
            message names the file and the line.
    """
    given, path = str(path), resolve_config_path(path)
    if not osp.isfile(path):
        where = ('' if osp.isabs(given) else
                 f' (looked for {path})' if path != given else
                 f' (nor in the configs of handkit, {package_configs_dir()})')
        raise FileNotFoundError(f'config not found: {given}{where}')
    check_config_syntax(path)
    importable_here()
    return Config.fromfile(path)


def ordered_config_text(cfg: Config) -> str:
    """The resolved config as Python source that keeps every dict's order.

    mmengine's ``Config.pretty_text``, which ``Runner.dump_config`` writes
    into the work folder, sorts each dict's keys. handkit's pipelines are
    dicts of named steps and a cascade's heads a dict in cascade order, so
    that sorted copy would pack a sample before warping it and run the
    heads out of order: ``tools/test.py work_dir/CONFIG.py`` would build
    another model than the one trained. Here each top-level name is written
    as ``name = <literal>`` in its own order (``pprint`` without sorting).

    Raises:
        ConfigError: a value is not a Python literal (a class or function
            object), which no text could give back; it is named.
    """
    import pprint
    lines = ['# The resolved config of this run (handkit), in its own '
             'order.']
    for name, value in cfg.to_dict().items():
        text = pprint.pformat(value, width=79, sort_dicts=False)
        try:
            same = ast.literal_eval(text) == value
        except (ValueError, SyntaxError):
            same = False
        if not same:
            raise ConfigError(f'{name}: {type(value).__name__} value is not '
                              'a Python literal, so the config cannot be '
                              'written as text')
        lines.append(f'{name} = {text}')
    return '\n'.join(lines) + '\n'


def importable_here() -> None:
    """Let a config's ``custom_imports`` find the user's modules in the
    folder the command runs in, as ``python -m`` and MMPose users expect:
    ``python tools/train.py`` puts ``tools/`` on ``sys.path``, not that
    folder. Appended, so a file there never shadows an installed
    package."""
    here = os.getcwd()
    if not any(osp.abspath(entry or os.curdir) == here
               for entry in sys.path):
        sys.path.append(here)


# -- --cfg-options -------------------------------------------------------

# The untyped top-level dicts that the Runner builds, and what from.
_RUNNER_DICTS = dict(
    randomness=Runner.set_randomness, train_dataloader=DataLoader,
    val_dataloader=DataLoader, test_dataloader=DataLoader, val_cfg=ValLoop,
    test_cfg=TestLoop, optim_wrapper=OptimWrapper)
# Keys read from the config outside those arguments: the Runner's
# ``cfg.compile`` (torch.compile of the training step), and the keys that
# mmengine's ``build_optim_wrapper`` takes out of ``optim_wrapper`` before it
# builds the wrapper (its ``type`` defaults to 'OptimWrapper').
_READ_FROM_CFG = {(): {'compile'},
                  ('optim_wrapper', ): {'type', 'constructor',
                                        'paramwise_cfg'}}


def _registries() -> list:
    """Every registry a config's ``type`` can name."""
    from handkit import registry as handkit_registry
    found = [value for value in vars(handkit_registry).values()
             if isinstance(value, Registry)]
    found += [value for value in vars(mmengine_registry).values()
              if isinstance(value, Registry)]
    return found


def _built_from(type_: Any) -> list:
    """The classes (or functions) that a ``type`` value can build."""
    if callable(type_):
        return [type_]
    if not isinstance(type_, str):
        return []
    found = []
    for registry in _registries():
        try:
            # mmengine's lookup: handkit's raises for unknown names.
            obj = Registry.get(registry, type_)
        except Exception:
            obj = None
        if obj is not None and obj not in found:
            found.append(obj)
    return found


def accepted_arguments(obj: Any) -> set:
    """Named arguments of a function, or of a class's ``__init__`` and of
    its base classes' for as long as each passes ``**kwargs`` on."""
    if not inspect.isclass(obj):
        return _named_parameters(obj)[0]
    names = set()
    for cls in obj.__mro__:
        if '__init__' not in vars(cls) or cls is object:
            continue
        own, forwards = _named_parameters(vars(cls)['__init__'])
        names |= own
        if not forwards:
            break
    return names - {'self'}


def _named_parameters(function: Any) -> tuple:
    """(names of the named parameters, whether it takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return set(), False
    names = {p.name for p in parameters if p.kind in (
        p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind == p.VAR_KEYWORD for p in parameters)


def _builders(parts: Sequence[str], node: Mapping) -> list:
    """What the dict ``node`` at ``parts`` builds (empty: nothing known)."""
    if not parts:
        return [Runner]
    if 'type' in node:
        return _built_from(node['type'])
    if len(parts) == 1 and parts[0] == 'train_cfg':
        by_epoch = node.get('by_epoch', True)
        return [EpochBasedTrainLoop if by_epoch else IterBasedTrainLoop]
    if len(parts) == 1 and parts[0] in _RUNNER_DICTS:
        return [_RUNNER_DICTS[parts[0]]]
    return []


def _closest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1,
                                      cutoff=0.5)
    return f" (closest: '{close[0]}')" if close else ''


def check_cfg_options(cfg: Config, options: Mapping) -> None:
    """Refuse an override key the config cannot take (rule: module doc).

    Raises:
        ConfigError: one line naming the key, where it stops matching the
            config, and the closest existing key.
    """
    for full_key in options:
        parts = full_key.split('.')
        node: Any = cfg._cfg_dict
        for depth, part in enumerate(parts):
            where = '.'.join(parts[:depth]) or 'the config'
            last = depth == len(parts) - 1
            if isinstance(node, list) and part.isdigit():
                if int(part) >= len(node):
                    raise ConfigError(
                        f"--cfg-options {full_key}: {where} is a list of "
                        f'{len(node)}, it has no item {part}')
                node = node[int(part)]
                continue
            if not isinstance(node, Mapping):
                raise ConfigError(
                    f'--cfg-options {full_key}: {where} is a '
                    f'{type(node).__name__}, not a dict, so it has no key '
                    f"'{part}'")
            if part in node:
                node = node[part]
                continue
            builders = _builders(parts[:depth], node) if last else []
            accepted = set().union(
                *(accepted_arguments(obj) for obj in builders),
                _READ_FROM_CFG.get(tuple(parts[:depth]), set()))
            if part in accepted:
                break
            names = ', '.join(getattr(obj, '__name__', str(obj))
                              for obj in builders)
            what = f'{where} ({names})' if builders else where
            raise ConfigError(
                f"--cfg-options {full_key}: {what} has no key '{part}'"
                + ('' if not last or not builders else
                   ' and takes no such argument')
                + _closest(part, list(node) + sorted(accepted)))
