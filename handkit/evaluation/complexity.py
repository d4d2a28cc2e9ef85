"""Model complexity: parameter count, multiply-accumulates and frames/second.

What ``tools/test.py --speed`` and ``benchmarks/bench_speed.py`` print (Li and
Wang report "over 910 FPS on a single GPU"; these helpers measure the same
kind of figure on whatever device is at hand).

MACs are counted with forward hooks on ``nn.Conv2d``, ``nn.ConvTranspose2d``
and ``nn.Linear`` (one multiply-accumulate per weight use), plus any module
that defines ``macs(inputs, output)`` for a product it computes itself
(``LocalRegressionHead``'s per-patch einsum). Pooling, normalisation,
activations and soft-argmax are not counted: they are a small share of the
work and have no agreed MAC count.
"""
import time
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from torch import nn

from handkit.datasets.base import config_input_size
from handkit.errors import HandkitUserError


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not) of ``model``."""
    return sum(parameter.numel() for parameter in model.parameters())


def _layer_macs(module, inputs, output):
    """Multiply-accumulates of one call of a supported layer, whole batch."""
    if isinstance(module, nn.Conv2d):
        kernel = module.kernel_size[0] * module.kernel_size[1]
        return output.numel() * (module.in_channels // module.groups) * kernel
    if isinstance(module, nn.ConvTranspose2d):
        kernel = module.kernel_size[0] * module.kernel_size[1]
        return inputs[0].numel() * (module.out_channels //
                                    module.groups) * kernel
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return module.macs(inputs, output)


def count_macs(model: nn.Module, inputs: torch.Tensor) -> int:
    """MACs of one forward pass of ``model(inputs)``, per sample.

    Args:
        model: any module; an estimator is run in its ``'tensor'`` mode.
        inputs: a batch tensor (B, C, H, W); the total is divided by B.

    Returns:
        int, multiply-accumulates per sample.
    """
    total = [0]

    def hook(module: nn.Module, hook_inputs: Tuple[torch.Tensor, ...],
             output: torch.Tensor) -> None:
        total[0] += int(_layer_macs(module, hook_inputs, output))

    handles = [
        module.register_forward_hook(hook) for module in model.modules()
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))
        or callable(getattr(module, 'macs', None))
    ]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total[0] // len(inputs)


def measure_fps(model: nn.Module, input_shape: Sequence[int],
                batch_size: int,
                device: Optional[Union[str, torch.device]] = None,
                warmup: int = 3, min_iters: int = 5,
                min_seconds: float = 1.0) -> float:
    """Frames per second of ``model`` on random input, in ``torch.no_grad()``.

    Args:
        model: the module (``eval()`` is called; the data preprocessor and
            data loading are not timed).
        input_shape: (C, H, W) of one input.
        batch_size: frames per forward pass.
        device: where to run; default the model's device.
        warmup: untimed passes first (allocator, cuDNN autotuning).
        min_iters, min_seconds: timed passes run until both are reached.

    Returns:
        float, frames per second (batch_size x passes / seconds).
    """
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    model = model.to(device).eval()
    inputs = torch.randn(batch_size, *input_shape, device=device)

    def synchronise() -> None:
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    with torch.no_grad():
        for _ in range(warmup):
            model(inputs)
        synchronise()
        passes, start = 0, time.perf_counter()
        while passes < min_iters or time.perf_counter() - start < min_seconds:
            model(inputs)
            passes += 1
            synchronise()
        elapsed = time.perf_counter() - start
    return batch_size * passes / elapsed


def input_shape_from_config(cfg: Config) -> Tuple[int, int, int]:
    """(C, H, W) of the network input a config feeds its model.

    H, W: :func:`~handkit.datasets.base.config_input_size` (the test
    pipeline's); C: the backbone's ``in_channels`` (3 when not set).
    """
    width, height = config_input_size(cfg)
    channels = cfg.model.backbone.get('in_channels', 3)
    return int(channels), int(height), int(width)


class SpeedInputError(HandkitUserError, ValueError):
    """A model whose input size neither it nor its config states."""


def model_input_shape(model: nn.Module, cfg: Config) -> Tuple[int, ...]:
    """The shape of one input of ``model``, for ``tools/test.py --speed``.

    A model whose input is not an image states it as ``input_shape``
    (IKNet: ``(4 * J, 3)``, its joints, bones and rest pose); an image model
    takes :func:`input_shape_from_config`.

    Raises:
        SpeedInputError: neither says (one line naming the model's class).
    """
    shape = getattr(model, 'input_shape', None)
    if shape is not None:
        return tuple(int(side) for side in shape)
    try:
        return input_shape_from_config(cfg)
    except ValueError as error:
        raise SpeedInputError(f'--speed: {type(model).__name__} states no '
                              f'input_shape and {error}') from None


def complexity_report(model: nn.Module, input_shape: Sequence[int],
                      batch_sizes: Sequence[int] = (1, 32),
                      device: Optional[Union[str, torch.device]] = None,
                      timed: Optional[nn.Module] = None) -> dict:
    """Parameters, MACs per frame and FPS at each batch size, as a dict.

    Args:
        model: the PyTorch estimator (parameters and MACs are counted on
            it; it is timed unless ``timed`` is given).
        input_shape: (C, H, W).
        batch_sizes: frames per timed pass.
        device: default CUDA when available, else the CPU.
        timed: the model to time instead, e.g. the
            :class:`~handkit.deploy.OnnxRuntimeModel` of ``model``'s export
            (the same network); its ``describe()`` names the backend and
            its ``device_type`` where it runs.

    Returns ``{'params': int, 'macs': int, 'input_shape': (C, H, W),
    'device': str, 'backend': str, 'fps': {batch_size: float}}``.
    """
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = model.to(device).eval()
    macs = count_macs(model, torch.randn(1, *input_shape, device=device))
    if timed is None:
        timed, backend = model, f'eager pytorch ({device})'
    else:  # where the runtime runs, e.g. ONNX Runtime's CPU provider
        device = getattr(timed, 'device_type', device)
        backend = timed.describe().removeprefix('backend: ')
    return dict(params=count_parameters(model), macs=macs,
                input_shape=tuple(input_shape), device=str(device),
                backend=backend,
                fps={batch: measure_fps(timed, input_shape, batch, device)
                     for batch in batch_sizes})


# Speeds the papers report for a model, keyed by the type of its last
# head: (frames per second, the source and its words). Li and Wang ("Local
# Regression Based Hourglass Network for Hand Pose Estimation from a Single
# Depth Image") state neither the GPU nor the batch size.
PAPER_SPEEDS = {
    'LocalRegressionHead': (
        910.0, 'Li and Wang, abstract: "over 910 FPS on a single GPU"'),
}


def paper_speed(model: nn.Module) -> Optional[tuple]:
    """``PAPER_SPEEDS`` entry of the model's last head, or None."""
    heads = getattr(model, 'heads', None) or ()
    if len(heads) == 0:
        return None
    return PAPER_SPEEDS.get(type(heads[-1]).__name__)


def format_complexity(report: dict, model: Optional[nn.Module] = None
                      ) -> str:
    """Parameters and MACs, the backend, FPS per batch size; with
    ``model``, the paper's figure beside ours when ``PAPER_SPEEDS`` has
    one. The input shape is written as its sizes joined by 'x' (3x128x128
    for an image, 84x3 for IKNet's joints)."""
    shape = 'x'.join(str(side) for side in report['input_shape'])
    fps = '   '.join(f'batch {batch}: {value:.1f}'
                     for batch, value in report['fps'].items())
    lines = [f"Params {report['params'] / 1e6:.3f} M   MACs "
             f"{report['macs'] / 1e9:.3f} G per {shape} input",
             f"backend: {report.get('backend', 'eager pytorch')}",
             f'FPS ({report["device"]}) {fps}']
    paper = paper_speed(model) if model is not None else None
    if paper is not None:
        batch, best = max(report['fps'].items(), key=lambda item: item[1])
        lines.append(f'paper: {paper[0]:.0f} FPS, here {best:.1f} FPS '
                     f"(batch {batch}, {report['device']}): "
                     f'{best / paper[0]:.2f} x [{paper[1]}]')
    return '\n'.join(lines)
