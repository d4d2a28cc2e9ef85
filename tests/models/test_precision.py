"""Inference precision (issue 28, item 2): float32, or bfloat16 autocast with
channels-last where the device computes bfloat16 natively, and float32
with one line elsewhere."""
import numpy as np
import pytest
import torch

from handkit.apis import HandInferencer
from handkit.apis.inference import inference
from handkit.models import precision as precision_module
from handkit.models.precision import resolve_precision, set_precision
from handkit.registry import MODELS
from tests.deploy.tiny_models import IMAGE, scramble, tiny_model


@pytest.fixture(autouse=True)
def fresh_announcements(monkeypatch):
    """Each test sees the one-line announcement again."""
    monkeypatch.setattr(precision_module, '_ANNOUNCED', set())


def said(monkeypatch):
    """The lines handkit.models.precision logs, as a list."""
    lines = []
    monkeypatch.setattr(precision_module, 'print_log',
                        lambda message, logger=None: lines.append(message))
    return lines


def scrambled_nsrm():
    return scramble(tiny_model('nsrm'), 0.3)


def test_bf16_falls_back_to_float32_without_native_bfloat16(monkeypatch):
    monkeypatch.setattr(precision_module, 'cpu_has_native_bfloat16',
                        lambda: False)
    reference = inference(scrambled_nsrm(), str(IMAGE))
    model = scrambled_nsrm()
    set_precision(model, 'bf16')
    lines = said(monkeypatch)
    result = inference(model, str(IMAGE))
    assert lines == ['precision: float32 on cpu (bf16 asked, but this cpu '
                     'has no native bfloat16: emulated bfloat16 would be '
                     'slower)']
    # float32 runs: the same keypoints as the float32 model
    np.testing.assert_allclose(result['keypoints'], reference['keypoints'],
                               atol=1e-3)
    inference(model, str(IMAGE))  # said once
    assert len(lines) == 1


def test_bf16_runs_autocast_and_returns_float32(monkeypatch):
    """With bfloat16 (native, or emulated here on a CPU without it) the
    maps stay within bfloat16's rounding of float32's, and every output is
    float32."""
    monkeypatch.setattr(precision_module, 'cpu_has_native_bfloat16',
                        lambda: True)
    reference = inference(scrambled_nsrm(), str(IMAGE))
    model = scrambled_nsrm()
    set_precision(model, 'bf16')
    assert model.data_preprocessor.channels_last
    lines = said(monkeypatch)
    result = inference(model, str(IMAGE))
    assert lines == ['precision: bfloat16 autocast + channels-last on cpu']
    for key in ('keypoints', 'scores', 'heatmaps', 'structure_maps'):
        assert result[key].dtype == np.float32, key
    # bfloat16 keeps 8 bits of mantissa: about 0.4 % of a map's range
    for key in ('heatmaps', 'structure_maps'):
        span = float(np.ptp(reference[key]))
        assert np.abs(result[key] - reference[key]).max() < 0.05 * span, key
    tensors = model.predict_tensors(torch.zeros(1, 3, 96, 96))
    assert all(t.dtype == torch.float32 for t in tensors.values())


def test_the_mode_that_export_traces_stays_float32(monkeypatch):
    monkeypatch.setattr(precision_module, 'cpu_has_native_bfloat16',
                        lambda: True)
    model = scrambled_nsrm()
    set_precision(model, 'bf16')
    with torch.no_grad():
        outputs = model(torch.zeros(1, 3, 96, 96), mode='tensor')
    # the keypoint head's stages
    assert all(stage.dtype == torch.float32 for stage in outputs[-1])


def test_precisions_are_checked():
    with pytest.raises(ValueError, match=r"precision must be one of "
                       r"\('fp32', 'bf16'\), got 'fp16'"):
        set_precision(tiny_model('nsrm'), 'fp16')
    cfg = tiny_model('nsrm').cfg.model
    with pytest.raises(ValueError, match='precision must be one of'):
        MODELS.build(dict(cfg, test_cfg=dict(precision='int8')))
    with pytest.raises(ValueError, match='has no test_cfg'):
        set_precision(torch.nn.Linear(2, 2), 'bf16')
    with pytest.raises(ValueError, match="precision='bf16' is for the "
                       'PyTorch backend'):
        HandInferencer(backend='onnxruntime', precision='bf16')


def test_resolution_by_device(monkeypatch):
    monkeypatch.setattr(precision_module, 'cpu_has_native_bfloat16',
                        lambda: False)
    assert resolve_precision('bf16', 'cuda')[0] == 'bf16'
    assert resolve_precision('bf16', 'cpu')[0] == 'fp32'
    assert resolve_precision('fp32', 'cpu') == ('fp32',
                                                'precision: float32 on cpu')


def test_init_model_takes_the_precision(monkeypatch):
    from handkit.apis import init_model
    from tests.deploy.tiny_models import FAMILIES, ROOT, dotted
    config, options, _ = FAMILIES['nsrm']
    model = init_model(str(ROOT / config), cfg_options=dotted(options),
                       precision='bf16')
    assert model.test_cfg['precision'] == 'bf16'
    assert model.data_preprocessor.channels_last
    with pytest.raises(ValueError, match="precision='bf16' is for the "
                       'PyTorch backend'):
        init_model(str(ROOT / config), 'model.onnx', backend='onnxruntime',
                   precision='bf16')
