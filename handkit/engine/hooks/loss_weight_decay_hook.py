"""Step decay of auxiliary loss weights (NSRM's decayed loss schedule)."""
from typing import TYPE_CHECKING, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from handkit.registry import HOOKS

if TYPE_CHECKING:
    from mmengine.runner import Runner


@HOOKS.register_module()
class LossWeightDecayHook(Hook):
    """Multiply heads' loss weights by ``gamma`` every ``step`` epochs.

    NSRM paper, Section 3.3 / poster "Training Strategy": "we let lambda_1 and
    lambda_2 decay by a ratio of 0.1 every 20 epochs during training, so as to
    let training focus more on KCM in later iterations".

    The weight in force is always ``initial * gamma ** (progress // step)``,
    computed from the epoch (or iteration) counter, so a resumed run gets the
    same weight as an uninterrupted one.

    Args:
        head_types (Sequence[str]): class names of the heads to decay.
        attributes (Sequence[str]): the weight attributes to decay.
        gamma (float): decay ratio. Default 0.1.
        step (int): epochs (or iterations when ``by_epoch=False``) between
            decays. Default 20.
        by_epoch (bool): count epochs or iterations.
    """

    priority = 'NORMAL'

    def __init__(self, head_types: Sequence[str] = ('StructureMaskHead', ),
                 attributes: Sequence[str] = ('loss_weight',
                                              'loss_weight_g6'),
                 gamma: float = 0.1, step: int = 20,
                 by_epoch: bool = True) -> None:
        if step <= 0:
            raise ValueError(f'LossWeightDecayHook: step must be > 0, '
                             f'got {step}')
        self.head_types = tuple(head_types)
        self.attributes = tuple(attributes)
        self.gamma = gamma
        self.step = step
        self.by_epoch = by_epoch
        self._initial = None

    def _decayed_weights(self, runner):
        """(head, attribute name) of every loss weight this hook decays."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        heads = [head for head in getattr(model, 'heads', [])
                 if type(head).__name__ in self.head_types]
        if not heads:
            raise ValueError(
                f'LossWeightDecayHook: the model has no head of type '
                f'{self.head_types}')
        return [(head, name) for head in heads for name in self.attributes
                if hasattr(head, name)]

    def before_train(self, runner: 'Runner') -> None:
        self._initial = [(head, name, float(getattr(head, name)))
                         for head, name in self._decayed_weights(runner)]

    def _apply(self, progress):
        factor = self.gamma**(progress // self.step)
        for head, name, initial in self._initial:
            setattr(head, name, initial * factor)

    def before_train_epoch(self, runner: 'Runner') -> None:
        if self.by_epoch:
            self._apply(runner.epoch)

    def before_train_iter(self, runner: 'Runner', batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if not self.by_epoch:
            self._apply(runner.iter)
