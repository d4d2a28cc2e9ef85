"""tools/train.py's speed flags and the loaders fitted to the machine:
--compile sets mmengine's cfg.compile, --amp states what runs on a CPU
(float32, or the config's bfloat16 AutocastOptimWrapper where the CPU has
native bfloat16), and the GPU configs' pinned memory is dropped where there
is no GPU.
"""
from pathlib import Path

import torch
from mmengine.config import Config

from handkit.engine.args import quiet_dataloader_workers
from handkit.tools import train as train_tool
from handkit.tools.train import apply_speed_flags, parse_args

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
PAPER = str(CONFIGS / 'nsrm' / 'lpm_g1g6_panoptic.py')
QUICKSTART = str(CONFIGS / 'quickstart' / 'nsrm_lpm_g1g6_synthetic.py')


def test_compile_flag_sets_cfg_compile_and_the_paper_config_has_none():
    cfg = Config.fromfile(PAPER)
    assert not cfg.get('compile', False)
    apply_speed_flags(cfg, parse_args([PAPER]))
    assert not cfg.get('compile', False)
    apply_speed_flags(cfg, parse_args([PAPER, '--compile']))
    assert cfg.compile is True


def test_amp_without_cuda_trains_float32_and_says_so(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config.fromfile(PAPER)
    apply_speed_flags(cfg, parse_args([PAPER, '--amp']))
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'
    assert capsys.readouterr().err == (
        'handkit: --amp needs a CUDA device; training in float32\n')


def test_amp_on_a_cpu_states_the_autocast_wrappers_precision(
        capsys, monkeypatch):
    """The CPU recipes' AutocastOptimWrapper trains in bfloat16 on a CPU
    with native bfloat16 whatever --amp says: the note says so."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for native, says in (
            (True, "the config's AutocastOptimWrapper trains in bfloat16 "
             'autocast on this CPU (native bfloat16), with or without '
             '--amp'),
            (False, "training in float32 (the config's AutocastOptimWrapper "
             'uses bfloat16 only on a CPU with native bfloat16, which this '
             'one lacks)')):
        monkeypatch.setattr(train_tool, 'cpu_has_native_bfloat16',
                            lambda: native)
        cfg = Config.fromfile(QUICKSTART)
        apply_speed_flags(cfg, parse_args([QUICKSTART, '--amp']))
        assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
        assert capsys.readouterr().err == (
            f'handkit: --amp needs a CUDA device; {says}\n')


def test_amp_on_cuda_is_float16_with_a_dynamic_loss_scale(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config.fromfile(PAPER)
    apply_speed_flags(cfg, parse_args([PAPER, '--amp']))
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale) == (
        'AmpOptimWrapper', 'dynamic')


def test_pinned_memory_is_kept_only_with_a_gpu(monkeypatch):
    for available, pinned in ((False, False), (True, True)):
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: available)
        cfg = Config.fromfile(PAPER)
        assert cfg.train_dataloader.pin_memory is True
        quiet_dataloader_workers(cfg)
        assert [cfg[key].pin_memory for key in (
            'train_dataloader', 'val_dataloader', 'test_dataloader')] == [
                pinned] * 3
        assert cfg.train_dataloader.persistent_workers is True
