"""preflight's codec check: each head decodes as its targets are encoded."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.base import pipeline_steps
from handkit.engine.cli import USER_ERRORS, CodecMismatchError, check_codecs
from handkit.registry import MODELS, TRANSFORMS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SHIPPED = sorted(path for path in CONFIGS.glob('*/*.py')
                 if path.parent.name != '_base_')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _check(cfg):
    init_default_scope('handkit')
    pipelines = {key: [TRANSFORMS.build(step) for step in
                       pipeline_steps(cfg[key].dataset.pipeline)]
                 for key in LOADERS if cfg.get(key) is not None}
    check_codecs(MODELS.build(cfg.model), pipelines)


@pytest.mark.parametrize('path', SHIPPED,
                         ids=lambda path: f'{path.parent.name}/{path.stem}')
def test_every_shipped_config_decodes_as_it_encodes(path):
    _check(Config.fromfile(path))


def test_a_decoder_changed_alone_is_one_line_naming_both():
    cfg = Config.fromfile(CONFIGS / 'quickstart' / 'cpm_synthetic.py')
    cfg.merge_from_dict({'model.heads.keypoints.decoder.sigma': 2.0})
    with pytest.raises(CodecMismatchError) as error:
        _check(cfg)
    message = str(error.value)
    assert message == (
        "head 'keypoints' decodes with KeypointConfidenceMap(input_size="
        "(96, 96), heatmap_size=(12, 12), sigma=2.0, subpixel='upsample') "
        "but train_dataloader's GenerateTargets encodes its targets with "
        "KeypointConfidenceMap(input_size=(96, 96), heatmap_size=(12, 12), "
        "sigma=1.0, subpixel='upsample') (sigma 2.0 vs 1.0); pass the "
        "config's one codec to both")
    assert CodecMismatchError in USER_ERRORS  # the tools print it, exit 2


def test_a_pipeline_input_size_changed_alone_is_refused():
    cfg = Config.fromfile(CONFIGS / 'cpm' / 'cpm_panoptic.py')
    cfg.merge_from_dict({'test_dataloader.dataset.pipeline.warp.input_size':
                         (256, 256)})
    with pytest.raises(CodecMismatchError,
                       match=r"^head 'keypoints' decoder KeypointConfidence"
                       r'Map\(input_size=\(368, 368\).* assumes input_size '
                       r"\(368.0, 368.0\) but test_dataloader's TopdownAffine"
                       r' makes \(256.0, 256.0\) inputs$'):
        _check(cfg)


def test_a_limb_mask_on_another_input_is_refused():
    cfg = Config.fromfile(CONFIGS / 'resunet' /
                          'resunet34_structure_lhr_bonetree_synthetic.py')
    cfg.merge_from_dict({
        'train_dataloader.dataset.pipeline.targets.encoders.limbs.input_size':
        (256, 256)})
    with pytest.raises(CodecMismatchError,
                       match=r"^target encoder LimbMask\(.*\) assumes "
                       r'input_size \(256.0, 256.0\) but train_dataloader\'s '
                       r'TopdownAffine makes \(128.0, 128.0\) inputs$'):
        _check(cfg)
