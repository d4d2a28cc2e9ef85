"""preflight's codec check: each head decodes as its targets are encoded;
its label check: a dataset without the 3D labels a config needs is one line.
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.base import pipeline_steps
from handkit.engine.preflight import CodecMismatchError, check_codecs
from handkit.errors import HandkitUserError
from handkit.registry import MODELS, TRANSFORMS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
# configs/studies/ holds study files (tools/study.py), not model configs
SHIPPED = sorted(path for path in CONFIGS.glob('*/*.py')
                 if path.parent.name not in ('_base_', 'studies'))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _check(cfg):
    init_default_scope('handkit')
    members = {}
    for key in (key for key in LOADERS if cfg.get(key) is not None):
        dataset = cfg[key].dataset
        if 'datasets' in dataset:  # a ConcatDataset: each member's pipeline
            members.update({f'{key}.dataset.datasets[{index}]': member
                            for index, member in enumerate(dataset.datasets)})
        else:  # a wrapper (HeldOutSplit): its dataset's pipeline
            members[key] = dataset.get('dataset', dataset)
    # SyntheticIKDataset (IKNet's) has no pipeline
    pipelines = {name: [TRANSFORMS.build(step) for step in
                        pipeline_steps(member.get('pipeline', ()))]
                 for name, member in members.items()}
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
    # a user error: the tools print it and exit 2
    assert issubclass(CodecMismatchError, HandkitUserError)


def test_the_latent_heatmap_head_decoder_is_checked():
    """LatentHeatmapHead takes its IntegralCoordinates codec from the
    config (it used to build one in code, which preflight never saw)."""
    cfg = Config.fromfile(CONFIGS / 'resunet' /
                          'resunet34_lhr_bonetree_synthetic.py')
    cfg.merge_from_dict({'model.heads.keypoints2d.decoder.heatmap_size':
                         (64, 64)})
    with pytest.raises(CodecMismatchError,
                       match=r"^head 'keypoints2d' decodes with Integral"
                       r'Coordinates\(input_size=\(128.0, 128.0\), '
                       r'heatmap_size=\(64.0, 64.0\)\) but train_dataloader'
                       r"'s GenerateTargets encodes its targets with "
                       r'IntegralCoordinates\(.*\) \(heatmap_size \(64.0, '
                       r'64.0\) vs \(128.0, 128.0\)\); pass the config'):
        _check(cfg)


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


def write_2d_layout(root):
    """Four 2D-labelled images in the NSRM authors' layout (no 3D)."""
    (root / 'imgs').mkdir(parents=True)
    names = [f'{index:04d}.jpg' for index in range(4)]
    for name in names:
        cv2.imwrite(str(root / 'imgs' / name), np.zeros((64, 64, 3),
                                                        np.uint8))
    keypoints = np.random.default_rng(0).uniform(10, 50, (21, 2)).tolist()
    (root / 'labels.json').write_text(json.dumps(
        {name: keypoints for name in names}))
    (root / 'partitions.json').write_text(json.dumps(
        dict(train=names[:2], valid=names[2:3], test=names[3:])))


MISSING_3D_CONFIG = """
_base_ = ['{configs}/zhou/detnet_synthetic.py']
data = dict(_delete_=True, type='NSRMHandDataset', data_root='{data_root}')
load = dict(load=dict(type='LoadImage'))
train_dataloader = dict(dataset=dict(
    data, split='train',
    pipeline=dict(load, **_base_.train_dataloader.dataset.pipeline)))
val_dataloader = dict(dataset=dict(
    data, split='val', test_mode=True,
    pipeline=dict(load, **_base_.val_dataloader.dataset.pipeline)))
test_dataloader = val_dataloader
"""


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_2d_dataset_under_a_3d_config_is_one_line(tmp_path, capsys, tool):
    """DetNet's LocationMap codec (training) and Keypoint3DMetric (testing)
    need keypoints_3d: a 2D-only dataset stops before anything is
    written."""
    from handkit.tools import test as test_tool
    from handkit.tools import train as train_tool
    write_2d_layout(tmp_path / 'data')
    config = tmp_path / 'detnet_on_2d.py'
    config.write_text(MISSING_3D_CONFIG.format(
        configs=CONFIGS, data_root=tmp_path / 'data'))
    work_dir = tmp_path / 'work'
    args = [str(config), '--work-dir', str(work_dir)]
    with pytest.raises(SystemExit) as exit_info:
        if tool == 'train':
            train_tool.main(args)
        else:
            test_tool.main(args[:1] + [str(tmp_path / 'none.pth')] + args[1:])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    loader, image, user = (
        ('train_dataloader', '0000.jpg', 'the target codec LocationMap')
        if tool == 'train' else
        ('test_dataloader', '0002.jpg', 'the metric Keypoint3DMetric'))
    assert err == [f'handkit: error: {loader}: NSRMHandDataset sample 0 '
                   f"({tmp_path / 'data' / 'imgs' / image}) has no "
                   f"'keypoints_3d', which {user} needs; use a dataset that "
                   'has keypoints_3d labels (3D formats: '
                   'docs/datasets_3d.md)']
    assert not work_dir.exists()
