"""Checkpoints that hold only plain data, are written atomically, and never
cost the user a file.

mmengine's ``CheckpointHook`` deletes the outdated (and the previous best)
checkpoint *before* it writes the new one, writes in place, and trusts the
paths stored in a resumed checkpoint's message hub (it deletes the stored
``best_ckpt`` path, a directory tree included, when a better score comes).
A kill during a write then leaves a truncated file and a ``last_checkpoint``
naming a deleted one; a crafted checkpoint could name any file to delete.
:class:`SafeCheckpointHook` keeps mmengine's options and file names and
changes the order and the trust:

1. each checkpoint is written to a hidden temporary file in the same folder,
   flushed to disk (``fsync``) and renamed over its final name;
2. ``last_checkpoint`` is then rewritten the same way;
3. only then is an outdated checkpoint (or the previous best) deleted, and
   only a file in the hook's own folder with a name the hook itself writes;
4. on loading, the message hub is rebuilt from plain data, and stored paths
   or ids that the hook could not have written are dropped.

Before saving, each ``HistoryBuffer`` of the message hub becomes a dict of
lists and numpy values become Python numbers, so a checkpoint holds only
tensors and builtins and loads with ``torch.load(weights_only=True)`` (see
:mod:`handkit.engine.checkpoint`).

Resuming is reproducible with random augmentation too: each checkpoint
stores the states of numpy's, Python's and torch's global generators (CUDA's
when present) as plain data under ``rng_states``, and resuming restores them
(``load_from`` does not). Validation runs with those generators forked, so
that it draws nothing from the training streams: a run killed after an
epoch and resumed then ends bit-equal to one that was never interrupted.
"""
import os
import os.path as osp
import random
import re
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer

from handkit.fileio import (TEMPORARY_NAME, atomic_output, temporary_path,
                            write_text)
from handkit.registry import HOOKS

if TYPE_CHECKING:
    from mmengine.runner import Runner

def plain_data(value: Any) -> Any:
    """Numpy scalars / arrays -> Python numbers / lists, recursively."""
    if isinstance(value, dict):
        return {key: plain_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_data(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def rng_states() -> dict:
    """The global generators' states as tensors and builtins.

    numpy's MT19937 state as ``[name, keys, pos, has_gauss, cached]``
    (keys a list of 624 ints), Python's ``random`` state as ``[version,
    internal state list, gauss_next]``, torch's CPU state (a uint8 tensor)
    and, when CUDA is initialised, one state per device.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    states = dict(numpy=[name, keys.tolist(), int(pos), int(has_gauss),
                         float(cached)],
                  python=[version, list(internal), gauss_next],
                  torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore what :func:`rng_states` returned (ValueError / TypeError for
    data of another form)."""
    name, keys, pos, has_gauss, cached = states['numpy']
    np.random.set_state((str(name), np.asarray(keys, dtype=np.uint32),
                         int(pos), int(has_gauss), float(cached)))
    version, internal, gauss_next = states['python']
    random.setstate((int(version), tuple(int(v) for v in internal),
                     None if gauss_next is None else float(gauss_next)))
    torch.set_rng_state(torch.as_tensor(states['torch'], dtype=torch.uint8))
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(states['cuda']))


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments), saving safely.

    See the module docstring for what differs. Checkpoints go to local
    files only.
    """

    priority = 'VERY_LOW'

    # -- plain data in, plain data out ---------------------------------------
    def before_save_checkpoint(self, runner: 'Runner',
                               checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is not None:
            hub['log_scalars'] = {
                key: dict(
                    log_history=np.asarray(buffer._log_history).tolist(),
                    count_history=np.asarray(buffer._count_history).tolist(),
                    max_length=int(buffer.max_length))
                for key, buffer in hub['log_scalars'].items()
            }
            hub['runtime_info'] = plain_data(hub['runtime_info'])
        checkpoint['meta'] = plain_data(checkpoint.get('meta', {}))
        # Inside validation (a best checkpoint), the training streams are
        # the ones forked off in before_val.
        checkpoint['rng_states'] = (getattr(self, '_training_rng', None)
                                    or rng_states())

    def after_load_checkpoint(self, runner: 'Runner',
                              checkpoint: dict) -> None:
        if getattr(runner, '_resuming', False) and 'rng_states' in checkpoint:
            try:
                set_rng_states(checkpoint['rng_states'])
            except (KeyError, TypeError, ValueError, RuntimeError) as error:
                runner.logger.warning(
                    f'ignoring the rng_states of the resumed checkpoint '
                    f'({error}): augmentation will not repeat exactly')
        hub = checkpoint.get('message_hub')
        if hub is None:
            return
        hub['log_scalars'] = {
            key: value if isinstance(value, HistoryBuffer) else HistoryBuffer(
                value['log_history'], value['count_history'],
                value['max_length'])
            for key, value in hub.get('log_scalars', {}).items()
        }
        info = hub.get('runtime_info')
        if isinstance(info, dict):
            self._drop_foreign_paths(runner, info)

    def _drop_foreign_paths(self, runner: 'Runner', info: dict) -> None:
        """Keep only the stored paths and ids that this hook could write."""
        out_dir = osp.abspath(self._final_out_dir(runner))
        for key in [key for key in info if key.startswith('best_ckpt')]:
            path = info[key]
            if not (isinstance(path, str)
                    and osp.dirname(osp.abspath(path)) == out_dir
                    and re.fullmatch(r'best_[^/\\]*\.pth', osp.basename(path))):
                runner.logger.warning(
                    f'ignoring {key}={path!r} of the resumed checkpoint: not '
                    f'a best checkpoint in {out_dir}')
                info.pop(key)
        ids = info.get('keep_ckpt_ids')
        if ids is not None and not (isinstance(ids, list) and all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids)):
            runner.logger.warning(
                f'ignoring keep_ckpt_ids={ids!r} of the resumed checkpoint: '
                'not a list of integers')
            info.pop('keep_ckpt_ids')

    def _final_out_dir(self, runner: 'Runner') -> str:
        """The folder mmengine's ``before_train`` will settle on."""
        if self.out_dir is None or self.out_dir == runner.work_dir:
            return runner.work_dir
        if getattr(self, 'file_backend', None) is not None:
            return self.out_dir  # before_train has already joined it
        return osp.join(self.out_dir,
                        osp.basename(runner.work_dir.rstrip(osp.sep)))

    # -- validation draws nothing from the training generators -------------
    def before_val(self, runner: 'Runner') -> None:
        self._training_rng = rng_states()

    def after_val(self, runner: 'Runner') -> None:
        states = getattr(self, '_training_rng', None)
        if states is not None:
            set_rng_states(states)
            self._training_rng = None

    def before_train(self, runner: 'Runner') -> None:
        super().before_train(runner)
        if not isinstance(self.file_backend, LocalBackend):
            raise ValueError(
                f'SafeCheckpointHook writes local files only; out_dir '
                f'{self.out_dir!r} is not a local folder')
        # Temporaries of a run that was killed while writing.
        if is_main_process() and osp.isdir(self.out_dir):
            for name in os.listdir(self.out_dir):
                if TEMPORARY_NAME.fullmatch(name):
                    os.remove(osp.join(self.out_dir, name))

    # -- writing -------------------------------------------------------------
    def _write(self, runner: 'Runner', filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` through :func:`atomic_output`: a
        temporary file, fsync, then a rename over ``filename``."""
        path = osp.join(self.out_dir, filename)
        if not is_main_process():  # the others only join the collectives
            runner.save_checkpoint(
                self.out_dir, osp.basename(temporary_path(path)),
                self.file_client_args, backend_args=self.backend_args,
                **kwargs)
            return
        with atomic_output(path) as temporary:
            runner.save_checkpoint(
                self.out_dir, osp.basename(temporary), self.file_client_args,
                backend_args=self.backend_args, **kwargs)

    def _remove_own(self, runner: 'Runner', path: Optional[str],
                    keep: str) -> None:
        """Delete ``path`` if it is one of this hook's files and not ``keep``.
        """
        if (not path or not is_main_process()
                or osp.abspath(path) == osp.abspath(keep)
                or osp.dirname(osp.abspath(path)) != osp.abspath(self.out_dir)
                or not osp.isfile(path)):
            return
        os.remove(path)
        runner.logger.info(f'removed the outdated checkpoint {path}')

    def _save_checkpoint_with_step(self, runner: 'Runner', step: int,
                                   meta: dict) -> None:
        filename = self.filename_tmpl.format(step)
        path = osp.join(self.out_dir, filename)
        outdated = None
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', path)
        self._write(runner, filename,
                    save_optimizer=self.save_optimizer,
                    save_param_scheduler=self.save_param_scheduler,
                    meta=meta, by_epoch=self.by_epoch, **self.args)
        if not is_main_process():
            return
        write_text(osp.join(runner.work_dir, 'last_checkpoint'), path)
        if outdated is not None:
            self._remove_own(
                runner, osp.join(self.out_dir,
                                 self.filename_tmpl.format(outdated)), path)

    def _save_best_checkpoint(self, runner: 'Runner', metrics: dict) -> None:
        if not self.save_best:
            return
        step = runner.epoch if self.by_epoch else runner.iter
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        single = len(self.key_indicators) == 1
        updated = False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            score_key = 'best_score' if single else f'best_score_{key_indicator}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key_indicator}'
            score = metrics[key_indicator]
            best = runner.message_hub.get_info(score_key,
                                               self.init_value_map[rule])
            if score is None or not self.is_better_than[key_indicator](
                    score, best):
                continue
            updated = True
            runner.message_hub.update_info(score_key, score)
            previous = (self.best_ckpt_path if single else
                        self.best_ckpt_path_dict.get(key_indicator))
            filename = (f'best_{key_indicator}_'
                        f'{self.filename_tmpl.format(step)}').replace('/', '_')
            path = osp.join(self.out_dir, filename)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key_indicator] = path
            runner.message_hub.update_info(path_key, path)
            self._write(runner, filename, save_optimizer=False,
                        save_param_scheduler=False, meta=meta, by_epoch=False)
            runner.logger.info(
                f'The best checkpoint with {score:0.4f} {key_indicator} at '
                f"{step} {'epoch' if self.by_epoch else 'iter'} is saved to "
                f'{filename}.')
            self._remove_own(runner, previous, path)
        # Save the latest checkpoint again so that it records the new best
        # (as mmengine does): resuming from it then removes the right file.
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, step, meta)
