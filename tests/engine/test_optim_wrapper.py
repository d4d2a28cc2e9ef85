"""AutocastOptimWrapper and the channels_last input option."""
import pytest
import torch
from torch import nn

import handkit.engine.optim_wrapper as optim_wrapper
from handkit.engine.optim_wrapper import AutocastOptimWrapper
from handkit.models.data_preprocessors import HandDataPreprocessor


def _wrapper(model, **kwargs):
    return AutocastOptimWrapper(
        optimizer=torch.optim.Adam(model.parameters(), lr=0.01), **kwargs)


@pytest.mark.parametrize('native', [True, False])
def test_forward_runs_in_bfloat16_only_where_the_cpu_has_it(monkeypatch,
                                                             native):
    monkeypatch.setattr(optim_wrapper, 'cpu_has_native_bfloat16',
                        lambda: native)
    model = nn.Conv2d(3, 4, 3)
    wrapper = _wrapper(model)
    with wrapper.optim_context(model):
        output = model(torch.ones(1, 3, 5, 5))
    assert output.dtype == (torch.bfloat16 if native else torch.float32)
    # Weights, gradients and optimiser state stay float32.
    wrapper.update_params(output.float().sum())
    assert model.weight.dtype == torch.float32
    assert model.weight.grad is None or model.weight.grad.dtype == \
        torch.float32


def test_a_training_step_under_autocast_lowers_the_loss(monkeypatch):
    monkeypatch.setattr(optim_wrapper, 'cpu_has_native_bfloat16',
                        lambda: True)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 1, 3, padding=1))
    wrapper = _wrapper(model)
    x = torch.randn(4, 1, 8, 8)
    target = 2 * x  # reachable by the two convolutions
    losses = []
    for _ in range(50):
        with wrapper.optim_context(model):
            loss = (model(x).float() - target).pow(2).mean()
        wrapper.update_params(loss)
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_bad_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype must be 'bfloat16'"):
        _wrapper(nn.Linear(2, 2), dtype='int8')


def test_channels_last_changes_the_layout_not_the_values():
    images = [torch.randint(0, 255, (3, 6, 5), dtype=torch.uint8)
              for _ in range(2)]
    plain = HandDataPreprocessor()(dict(inputs=images))['inputs']
    last = HandDataPreprocessor(channels_last=True)(
        dict(inputs=images))['inputs']
    assert last.is_contiguous(memory_format=torch.channels_last)
    assert not plain.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(plain, last, rtol=0, atol=0)
