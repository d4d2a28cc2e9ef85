"""Parity of an exported model with eager PyTorch, on chosen inputs.

The inputs, each a float (B, C, H, W) batch as the data preprocessor hands
the network:

* ``random``: seeded standard-normal noise (batch 1, and batch 2 when the
  export has a dynamic batch, which checks the batch axis);
* ``synthetic hand``: a hand of handkit's renderer (seed 0) through the
  test-time pre-processing: for an RGB model the steps of
  :func:`handkit.apis.inference` (the hand box padded 1.25 x); for a depth
  model the config's ``DepthCubeCrop`` around the mean of the hand's joints;
* one per real image given (RGB models), through the same steps as
  :func:`handkit.apis.inference` on the whole image.

The figure is the largest absolute difference between ONNX Runtime's and
eager PyTorch's graph outputs (``CascadeEstimator.predict_tensors``), per
output; the ONNX export is accepted at ``max <= 1e-4`` (``ATOL``).
"""
from typing import Dict, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from handkit.datasets.base import pipeline_steps
from handkit.datasets.collate import hand_collate
from handkit.datasets.synthetic.renderer import render_hand
from handkit.datasets.transforms import DepthCubeCrop, PackHandInputs
from handkit.models.heads.base_head import tensors_to_numpy

ATOL = 1e-4
SEED = 0


def _depth_inputs(model: nn.Module, input_shape: Sequence[int]) -> dict:
    """A rendered depth hand through the config's ``DepthCubeCrop``."""
    pipeline = model.cfg.test_dataloader.dataset.pipeline
    cubes = [step for step in pipeline_steps(pipeline)
             if step.get('type') == 'DepthCubeCrop']
    cube_size = cubes[0].get('cube_size', 300.0) if cubes else 300.0
    height, width = input_shape[1:]
    hand = render_hand(SEED, image_size=(2 * width, 2 * height),
                       modality='depth')
    results = dict(depth=hand['depth'], cam_K=hand['cam_K'],
                   keypoints=hand['keypoints'],
                   keypoints_3d=hand['keypoints_3d'],
                   keypoints_visible=hand['keypoints_visible'])
    for step in (DepthCubeCrop(cube_size=cube_size,
                               input_size=(width, height),
                               center='keypoints_mean'), PackHandInputs()):
        results = step.transform(results)
    with torch.no_grad():
        return model.data_preprocessor(hand_collate([results]), False)


def _rgb_inputs(model: nn.Module, input_shape: Sequence[int]) -> dict:
    """A rendered RGB hand through :func:`handkit.apis.prepare_inputs`."""
    from handkit.apis.inference import prepare_inputs
    height, width = input_shape[1:]
    hand = render_hand(SEED, image_size=(2 * width, 2 * height),
                       modality='rgb')
    keypoints = hand['keypoints']
    box = np.concatenate([keypoints.min(axis=0), keypoints.max(axis=0)])
    return prepare_inputs(model, hand['image'], bbox=box)


def parity_inputs(model: nn.Module, input_shape: Sequence[int],
                  images: Sequence[str] = (),
                  dynamic_batch: bool = False) -> Dict[str, dict]:
    """Named batches ``{'inputs': (B, C, H, W), 'data_samples': ...}``.

    Args:
        model: the estimator, with ``model.cfg`` (``init_model``).
        input_shape: (C, H, W).
        images: real image files (RGB models only).
        dynamic_batch: add a batch of 2 random inputs.
    """
    channels = int(input_shape[0])
    if images and channels != 3:
        raise ValueError(f'parity images are RGB photos, the model takes '
                         f'{channels}-channel inputs (depth crops)')
    generator = torch.Generator().manual_seed(SEED)
    batches = {'random': dict(inputs=torch.randn(
        1, *input_shape, generator=generator), data_samples=None)}
    if dynamic_batch:
        batches['random, batch 2'] = dict(inputs=torch.randn(
            2, *input_shape, generator=generator), data_samples=None)
    batches['synthetic hand'] = (_rgb_inputs if channels == 3 else
                                 _depth_inputs)(model, input_shape)
    if images:
        from handkit.apis.inference import prepare_inputs
        for path in images:
            batches[f'image {path}'] = prepare_inputs(model, str(path))
    return batches


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
        batches: from :func:`parity_inputs`.
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
