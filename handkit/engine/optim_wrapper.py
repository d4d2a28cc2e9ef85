"""An optimiser wrapper that trains under ``torch.autocast``, on CPU too.

mmengine's ``AmpOptimWrapper`` is for accelerators only. bfloat16 needs no
loss scaling, so mixed precision reduces to running the forward pass (data
preprocessor, model, losses) under ``torch.autocast``: convolutions and
matrix products run in bfloat16, the weights, their gradients and the
optimiser state stay float32. On a CPU with native bfloat16 (AVX512-BF16 or
AMX) the quickstart's NSRM step takes about half the float32 time
(docs/training_on_cpu.md); on a CPU without it, bfloat16 is emulated and
slower, so the wrapper falls back to float32 there and says so.
"""
from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from torch import nn

from handkit.models.precision import cpu_has_native_bfloat16
from handkit.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass runs under ``torch.autocast``.

    Args:
        dtype: 'bfloat16' (default) or 'float16' (CUDA only: float16 needs
            loss scaling, use mmengine's ``AmpOptimWrapper`` there).
        **kwargs: ``OptimWrapper``'s (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"AutocastOptimWrapper: dtype must be 'bfloat16' "
                             f"or 'float16', got {dtype!r}")
        self.dtype = getattr(torch, dtype)
        self._announced = False

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        device = next(model.parameters()).device.type
        enabled = device == 'cuda' or (device == 'cpu'
                                       and self.dtype == torch.bfloat16
                                       and cpu_has_native_bfloat16())
        if not self._announced:
            self._announced = True
            print_log(f'AutocastOptimWrapper: training in '
                      f"{str(self.dtype)[6:] if enabled else 'float32'} on "
                      f'{device}' + ('' if enabled else
                                     ' (no native bfloat16 on this CPU)'),
                      logger='current')
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=self.dtype, enabled=enabled):
            yield
