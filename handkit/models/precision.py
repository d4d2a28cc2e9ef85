"""Inference precision: float32, or bfloat16 autocast where it is native.

``precision='bf16'`` runs a model's prediction under ``torch.autocast`` with
bfloat16 (convolutions and matrix products in bfloat16, weights kept
float32) and channels-last memory format, on CUDA and on a CPU that computes
bfloat16 in hardware (AVX512-BF16 or AMX). On a CPU without it, bfloat16 is
emulated and slower than float32, so 'bf16' falls back to float32 there, and
one line says what runs. Measured on a 2-core AVX-512 CPU, NSRM at 368 x 368
runs about 2x faster than eager float32 this way (docs/benchmarks.md).

The estimator reads the precision from ``test_cfg['precision']``
(``CascadeEstimator``): a config's ``model.test_cfg``, and
:func:`set_precision`, which ``init_model(..., precision='bf16')`` and
``--precision bf16`` in ``tools/test.py`` / ``tools/demo.py`` call.
"""
from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional, Set, Tuple

import torch
from mmengine.logging import print_log

PRECISIONS = ('fp32', 'bf16')
# (asked, device type) pairs already announced in this process
_ANNOUNCED: Set[Tuple[str, str]] = set()


def cpu_has_native_bfloat16() -> bool:
    """True when this CPU computes bfloat16 in hardware (AVX512-BF16, AMX).
    """
    checks = ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else ValueError."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got '
                         f'{precision!r}')
    return precision


def checked_test_cfg(test_cfg: Optional[dict]) -> dict:
    """A model's ``test_cfg`` as a new dict, its ``precision`` checked."""
    test_cfg = dict(test_cfg or {})
    check_precision(test_cfg.get('precision', 'fp32'))
    return test_cfg


def mode_precision(test_cfg: dict, mode: str) -> str:
    """The precision a forward pass of ``mode`` runs in: ``test_cfg``'s
    for 'predict'; float32 for 'tensor' (what ONNX export traces) and
    'loss' (training's autocast is the optimiser wrapper's)."""
    return test_cfg.get('precision', 'fp32') if mode == 'predict' else 'fp32'


def resolve_precision(precision: str, device_type: str) -> Tuple[str, str]:
    """(what runs, one line saying so) for ``precision`` on a device type.

    'bf16' runs on CUDA and on a CPU with native bfloat16; elsewhere float32
    runs instead.
    """
    check_precision(precision)
    if precision == 'fp32':
        return 'fp32', f'precision: float32 on {device_type}'
    if device_type == 'cuda' or (device_type == 'cpu'
                                 and cpu_has_native_bfloat16()):
        return 'bf16', (f'precision: bfloat16 autocast + channels-last on '
                        f'{device_type}')
    return 'fp32', (f'precision: float32 on {device_type} (bf16 asked, but '
                    f'this {device_type} has no native bfloat16: emulated '
                    f'bfloat16 would be slower)')


@contextmanager
def precision_context(precision: str,
                      device: torch.device) -> Iterator[None]:
    """Run the block in ``precision`` on ``device`` (what runs is said once
    per process and device type)."""
    device_type = torch.device(device).type
    effective, message = resolve_precision(precision, device_type)
    if precision != 'fp32' and (precision, device_type) not in _ANNOUNCED:
        _ANNOUNCED.add((precision, device_type))
        print_log(message, logger='current')
    context = (torch.autocast(device_type=device_type, dtype=torch.bfloat16)
               if effective == 'bf16' else nullcontext())
    with context:
        yield


def set_precision(model: torch.nn.Module, precision: str) -> None:
    """Make ``model`` (an estimator with ``test_cfg``) predict in
    ``precision``: its ``test_cfg['precision']`` and, for 'bf16',
    channels-last inputs and weights (``HandDataPreprocessor``'s
    ``channels_last``, oneDNN's preferred layout)."""
    check_precision(precision)
    if not isinstance(getattr(model, 'test_cfg', None), dict):
        raise ValueError(f'precision: {type(model).__name__} has no test_cfg '
                         f'to take a precision (an estimator such as '
                         f'CascadeEstimator has)')
    model.test_cfg['precision'] = precision
    if precision == 'bf16':
        preprocessor = getattr(model, 'data_preprocessor', None)
        if hasattr(preprocessor, 'channels_last'):
            preprocessor.channels_last = True
        model.to(memory_format=torch.channels_last)
