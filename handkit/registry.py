"""handkit's registries: children of mmengine's roots, imported lazily.

Every config sets ``default_scope = 'handkit'``; mmengine then resolves a
``type='X'`` against these registries (and falls back to mmengine's own
classes, e.g. ``Adam`` or ``CheckpointHook``).

Two things differ from a plain ``mmengine.Registry``:

* an unknown type fails at once with one line that names the type, the
  registry and the closest registered names (mmengine returns ``None`` and
  later says only "not in the registry");
* the modules behind ``locations`` are imported without catching anything, so
  an ``ImportError`` (or any error) inside a module surfaces as itself.
"""
import difflib
from typing import List, Optional, Type

from mmengine import registry as mmengine_registry
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

from handkit.errors import HandkitUserError


class UnknownTypeError(HandkitUserError, KeyError):
    """A config names a type that no registry in scope holds."""

    def __str__(self):  # KeyError would print the message quoted
        return str(self.args[0])


class HandkitRegistry(Registry):
    """A registry whose ``get`` raises a helpful error for unknown names."""

    def registered_names(self) -> List[str]:
        """Names this registry resolves: its own and its ancestors'."""
        self.import_from_location()
        names, node = set(), self
        while node is not None:
            names.update(node.module_dict)
            node = node.parent
        return sorted(names)

    def get(self, key: str) -> Optional[Type]:
        obj = super().get(key)
        if obj is None and isinstance(key, str):
            scope, real_key = self.split_scope_key(key)
            if scope is None or scope == self.scope:
                close = difflib.get_close_matches(
                    real_key, self.registered_names(), n=3, cutoff=0.5)
                hint = (f"closest registered: {', '.join(close)}"
                        if close else 'no similar name is registered')
                raise UnknownTypeError(
                    f"unknown type '{real_key}' in registry "
                    f"'{self.scope}::{self.name}'; {hint}")
        return obj


def _child(parent, name, *locations):
    return HandkitRegistry(
        name, parent=parent, scope='handkit', locations=list(locations))


# The modules each registry imports when a config first names a type: a
# package's own face imports nothing where a lower layer reads one of its
# modules (handkit.models, handkit.engine; docs/architecture.md, section 11).
MODELS = _child(MMENGINE_MODELS, 'model', *(
    f'handkit.models.{package}' for package in (
        'backbones', 'data_preprocessors', 'estimators', 'hand_model',
        'heads', 'ik', 'losses')))
DATASETS = _child(MMENGINE_DATASETS, 'dataset', 'handkit.datasets')
TRANSFORMS = _child(MMENGINE_TRANSFORMS, 'transform',
                    'handkit.datasets.transforms')
METRICS = _child(MMENGINE_METRICS, 'metric', 'handkit.evaluation')
HOOKS = _child(MMENGINE_HOOKS, 'hook', 'handkit.engine.hooks')
RUNNERS = _child(mmengine_registry.RUNNERS, 'runner', 'handkit.engine.runner')
OPTIM_WRAPPERS = _child(mmengine_registry.OPTIM_WRAPPERS, 'optim_wrapper',
                        'handkit.engine.optim_wrapper')
VISUALIZERS = _child(MMENGINE_VISUALIZERS, 'visualizer',
                     'handkit.visualization')
# ``init_cfg`` types: handkit's 'Pretrained' reads the file as data.
WEIGHT_INITIALIZERS = _child(mmengine_registry.WEIGHT_INITIALIZERS,
                             mmengine_registry.WEIGHT_INITIALIZERS.name,
                             'handkit.models.weight_init')
# Functions a config names: the loaders' collate_fn (hand_collate).
FUNCTIONS = _child(mmengine_registry.FUNCTIONS, 'function',
                   'handkit.datasets.collate')
# mmengine has no root for codecs: a root registry of handkit's own.
CODECS = HandkitRegistry('codec', scope='handkit', locations=['handkit.codecs'])

# Children without modules of their own, so that mmengine resolves optimizers,
# loops, schedulers, ... in the 'handkit' scope (and an unknown name gets the
# same helpful error) instead of warning that the scope has no such registry.
for _root in ('RUNNER_CONSTRUCTORS', 'LOOPS', 'OPTIMIZERS',
              'OPTIM_WRAPPER_CONSTRUCTORS',
              'PARAM_SCHEDULERS', 'DATA_SAMPLERS', 'EVALUATOR',
              'VISBACKENDS', 'LOG_PROCESSORS'):
    _parent = getattr(mmengine_registry, _root)
    HandkitRegistry(_parent.name, parent=_parent, scope='handkit')
