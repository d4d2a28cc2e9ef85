"""Every shipped config builds its model, which runs at the paper's size."""
from pathlib import Path

import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.base import pipeline_steps
from handkit.registry import MODELS, TRANSFORMS

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
PAPER_CONFIGS = sorted(CONFIGS.glob('cpm/*.py')) + sorted(
    CONFIGS.glob('nsrm/*.py'))

# (structure channels, structure stages, KCM stages, lambda_1, lambda_2)
EXPECTED = {
    'cpm_panoptic': (0, 0, 6, None, None),
    'cpm_onehand10k': (0, 0, 6, None, None),
    'ldm_g1_panoptic': (1, 3, 3, 1.0, None),
    'lpm_g1_panoptic': (1, 3, 3, 0.5, None),
    'ldm_g1g6_panoptic': (7, 3, 3, 0.2, 0.04),
    'lpm_g1g6_panoptic': (7, 3, 3, 0.1, 0.02),
    'ldm_g1_onehand10k': (1, 3, 3, 1.0, None),
    'lpm_g1_onehand10k': (1, 3, 3, 0.5, None),
    'realmask_onehand10k': (1, 3, 3, 1.0, None),
    'realmask_pp_onehand10k': (1, 3, 3, 1.0, None),
    'realmask_synthetic': (1, 3, 3, 1.0, None),
    'realmask_pp_synthetic': (1, 3, 3, 1.0, None),
}


def test_every_paper_config_is_covered():
    assert {path.stem for path in PAPER_CONFIGS} == set(EXPECTED)


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_runs_at_368(path):
    cfg = Config.fromfile(path)
    init_default_scope('handkit')
    channels, structure_stages, kcm_stages, lambda_1, lambda_2 = EXPECTED[
        path.stem]
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        outputs = model(torch.zeros(1, 3, 368, 368), mode='tensor')
    kcm = outputs[-1]
    assert [tuple(stage.shape) for stage in kcm] == [(1, 21, 46, 46)
                                                     ] * kcm_stages
    if channels:
        structure_head = model.heads[0]
        assert [tuple(stage.shape) for stage in outputs[0]
                ] == [(1, channels, 46, 46)] * structure_stages
        assert structure_head.loss_weight == lambda_1
        if lambda_2 is not None:
            assert structure_head.loss_weight_g6 == lambda_2
        limb_codec = cfg.train_dataloader.dataset.pipeline.targets.encoders[
            'limbs']
        if path.stem.startswith('realmask'):
            # NSRM Table 2: "Real Mask" has no decayed schedule, "++" has
            assert limb_codec.type == 'HandMask'
            decays = [hook for hook in cfg.custom_hooks
                      if hook['type'] == 'LossWeightDecayHook']
            assert len(decays) == ('_pp_' in path.stem)
        else:
            assert limb_codec.kind == path.stem[:3]
            assert limb_codec.groups == ('G1G6' if channels == 7 else 'G1')
    else:
        assert len(outputs) == 1
    # The pipelines build (their transforms and codecs are registered).
    for key in ('train_dataloader', 'test_dataloader'):
        steps = pipeline_steps(cfg[key].dataset.pipeline)
        Compose([TRANSFORMS.build(step) for step in steps])


def test_nsrm_g1g6_parameter_count():
    cfg = Config.fromfile(CONFIGS / 'nsrm' / 'lpm_g1g6_panoptic.py')
    init_default_scope('handkit')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == 36_613_396
