"""Parity of an exported model with eager PyTorch, on given inputs.

The figure is the largest absolute difference between ONNX Runtime's and
eager PyTorch's graph outputs (``CascadeEstimator.predict_tensors``), per
input batch and output; the ONNX export is accepted at ``max <= 1e-4``
(``ATOL``). The inputs are the caller's: ``tools/export_onnx.py`` checks
seeded noise, a rendered hand and photos
(:func:`handkit.tools.export_inputs.parity_inputs`).
"""
from typing import Dict, Mapping

import numpy as np
import torch
from torch import nn

from handkit.models.heads.base_head import tensors_to_numpy

ATOL = 1e-4


def max_abs_diff(reference: Mapping[str, np.ndarray],
                 other: Mapping[str, np.ndarray]) -> Dict[str, float]:
    """``max |reference - other|`` per name; shapes must agree."""
    diffs = {}
    for name, expected in reference.items():
        actual = np.asarray(other[name])
        if actual.shape != np.shape(expected):
            raise ValueError(f'{name}: shape {actual.shape}, eager '
                             f'{np.shape(expected)}')
        diffs[name] = float(np.max(np.abs(
            actual.astype(np.float64) - np.asarray(expected, np.float64))))
    return diffs


def check_parity(model: nn.Module, runtime: nn.Module,
                 batches: Mapping[str, dict]) -> Dict[str, Dict[str, float]]:
    """Largest |runtime - eager| per input batch and graph output.

    Args:
        model: the eager estimator.
        runtime: an :class:`~handkit.deploy.OnnxRuntimeModel` of its export.
        batches: named ``{'inputs': (B, C, H, W), ...}``, the float inputs
            the data preprocessor hands the network.
    """
    model.eval()
    results = {}
    for name, batch in batches.items():
        inputs = batch['inputs']
        with torch.no_grad():
            eager = tensors_to_numpy(model.predict_tensors(inputs))
        results[name] = max_abs_diff(eager, runtime.run(inputs))
    return results


def format_parity(results: Mapping[str, Mapping[str, float]],
                  atol: float = ATOL) -> str:
    """One line per input and output, then the verdict."""
    lines = ['parity: max |onnxruntime - eager| per output']
    rows = [(batch, output, diff) for batch, diffs in results.items()
            for output, diff in diffs.items()]
    widths = [max(len(row[column]) for row in rows) for column in (0, 1)]
    lines += [f'  {batch:<{widths[0]}}  {output:<{widths[1]}}  {diff:.2e}'
              for batch, output, diff in rows]
    worst = max(diff for _, _, diff in rows)
    verdict = 'ok' if worst <= atol else 'FAILED'
    lines.append(f'parity {verdict}: max {worst:.2e} (tolerance '
                 f'{atol:.0e})')
    return '\n'.join(lines)


def worst_difference(results: Mapping[str, Mapping[str, float]]) -> float:
    """The largest difference over every input and output."""
    return max(diff for diffs in results.values() for diff in diffs.values())
