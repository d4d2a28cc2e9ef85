"""handkit's Runner: mmengine's, with every checkpoint read the safe way.

``tools/train.py`` and ``tools/test.py`` build this runner (configs name it
with ``runner_type = 'HandRunner'`` for anyone building through mmengine's
``RUNNERS``). It differs from ``mmengine.runner.Runner`` in two places:
:meth:`HandRunner.load_checkpoint`, used by ``load_from`` and by ``resume``,
reads the file with :func:`handkit.engine.checkpoint.load_checkpoint_file`
(``weights_only=True``, local files only, ``meta['config']`` dropped before
``Runner.resume`` could execute it) instead of mmengine's scheme loaders.
When resuming, the weights must fit the model exactly, so that a checkpoint
of another config stops with one line instead of failing in the optimiser.
And :meth:`HandRunner.dump_config` writes the work folder's copy of the
config with its dicts in their own order (mmengine's sorts them, which
would reorder the pipeline steps and the cascade's heads).

The tools hand it what preflight built (``from_cfg(cfg, built=...)``,
:class:`handkit.engine.preflight.Built`): it runs that model and those
datasets instead of building them again.
"""
import copy
import functools
import logging
import os.path as osp
from typing import Any, Callable, Optional, Union

import torch
from mmengine.dist import master_only
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from handkit.engine.checkpoint import (check_state_dict_fits,
                                       load_checkpoint_file, state_dict_of)
from handkit.engine.config import ConfigError, ordered_config_text
from handkit.fileio import atomic_write
from handkit.registry import RUNNERS


class _LoaderWithDataset(dict):
    """A loader config whose ``dataset`` is built: mmengine's
    ``build_dataloader`` deep-copies the loader config, which would copy
    the dataset (its memory-mapped arrays included); this copies the rest
    and keeps the dataset itself."""

    def __deepcopy__(self, memo: dict) -> '_LoaderWithDataset':
        return type(self)({key: value if key == 'dataset' else
                           copy.deepcopy(value, memo)
                           for key, value in self.items()})


@RUNNERS.register_module()
class HandRunner(Runner):
    """``mmengine.runner.Runner`` with safe checkpoint loading, running
    what preflight built when it is given.

    Args:
        built: what :func:`handkit.engine.preflight.preflight` built (None:
            the Runner builds everything from the config, as mmengine's):
            its model replaces ``model``, each of its datasets the
            ``dataset`` of its loader, and its seed stands (preflight seeded
            with the config's ``randomness`` before it built the model;
            seeding again would replay the random numbers the model's
            initialisation drew).
        *args, **kwargs: mmengine's ``Runner``.
    """

    def __init__(self, *args, built: Optional[Any] = None, **kwargs) -> None:
        self._built = built
        if built is not None:
            kwargs['model'] = built.model
            for key, dataset in built.datasets.items():
                if isinstance(kwargs.get(key), dict):
                    kwargs[key] = _LoaderWithDataset(kwargs[key],
                                                     dataset=dataset)
        super().__init__(*args, **kwargs)

    @master_only
    def dump_config(self) -> None:
        """Write the config into the work folder as mmengine does, under the
        config's own file name, but a Python config with every dict in its
        own order (:func:`handkit.engine.config.ordered_config_text`;
        mmengine's sorts the pipeline steps and the cascade's heads)."""
        name = (osp.basename(self.cfg.filename) if self.cfg.filename
                else f'{self.timestamp}.py')
        if not name.endswith('.py'):
            # a config read from JSON (a study's cells): mmengine writes
            # the same format, JSON keeping the dicts' order
            Runner.dump_config(self)
            return
        try:
            text = ordered_config_text(self.cfg)
        except ConfigError as error:
            # a value no literal gives back (float('inf'), a class): the
            # run goes on with mmengine's sorted copy, said in the log
            print_log(f'{error}; the work folder gets mmengine\'s copy of '
                      'the config, its dicts sorted (pipeline steps and '
                      'heads out of order: test with the original config)',
                      logger='current', level=logging.WARNING)
            Runner.dump_config(self)
            return
        with atomic_write(osp.join(self.work_dir, name), 'w') as file:
            file.write(text)

    @classmethod
    def from_cfg(cls, cfg, built: Optional[Any] = None) -> 'HandRunner':
        """mmengine's ``from_cfg`` (the same config keys), running what
        preflight ``built`` when given."""
        make = cls if built is None else functools.partial(cls, built=built)
        return Runner.from_cfg.__func__(make, cfg)

    def set_randomness(self, seed: Optional[int] = None,
                       diff_rank_seed: bool = False,
                       deterministic: bool = False) -> None:
        """mmengine's, unless preflight seeded already (its seed stands)."""
        if self._built is None:
            super().set_randomness(seed, diff_rank_seed, deterministic)
            return
        self._deterministic, self._seed = deterministic, self._built.seed

    def load_checkpoint(self, filename: str,
                        map_location: Union[str, torch.device,
                                            Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:
        """Load a local checkpoint into the model (``load_from``/resume).

        Same contract as mmengine's ``Runner.load_checkpoint``; the file is
        read by :func:`load_checkpoint_file`, and ``strict`` also checks that
        every weight fits (see :func:`check_state_dict_fits`).
        """
        checkpoint = load_checkpoint_file(filename, map_location=map_location)
        model = self.model.module if is_model_wrapper(self.model) \
            else self.model
        if strict or getattr(self, '_resuming', False):
            check_state_dict_fits(model, state_dict_of(checkpoint, filename),
                                  filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        """mmengine's resume, with the weights loaded strictly."""
        self._resuming = True
        try:
            super().resume(filename, resume_optimizer,
                           resume_param_scheduler, map_location)
        finally:
            self._resuming = False
