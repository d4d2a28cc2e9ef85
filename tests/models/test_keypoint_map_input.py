"""KeypointMapInput: Boukhayma et al.'s RGB + 2D input (the image and a
frozen 2D model's heat maps into the encoder), on
configs/boukhayma/boukhayma_synthetic_mesh_rgb2d.py."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.engine.checkpoint import CheckpointMismatchError
from handkit.engine.preflight import _pretrained_files
from handkit.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'boukhayma' / 'boukhayma_synthetic_mesh_rgb2d.py'
QUICKSTART = 'configs/quickstart/nsrm_lpm_g1g6_synthetic.py'


def build(checkpoint=None, **keypoint_model):
    cfg = Config.fromfile(str(CONFIG))
    init_default_scope('handkit')
    backbone = cfg.model.backbone
    backbone.keypoint_model.update(keypoint_model)
    if checkpoint is None:
        backbone.keypoint_model.pop('init_cfg')
    else:
        backbone.keypoint_model.init_cfg.checkpoint = str(checkpoint)
    return MODELS.build(cfg.model)


def test_the_encoder_takes_the_image_and_the_2d_models_maps():
    torch.manual_seed(0)
    model = build()
    backbone = model.backbone
    assert (backbone.num_maps, backbone.map_input_size) == (21, (96, 96))
    assert backbone.encoder.conv1.in_channels == 24
    x = torch.randn(2, 3, 128, 128)
    # by hand: the crop at the 2D model's 96 x 96, its last head's heat
    # maps, bilinearly back to 128 x 128 and stacked on the image
    with torch.no_grad():
        small = F.interpolate(x, size=(96, 96), mode='bilinear',
                              align_corners=False)
        maps = backbone.keypoint_model.predict_tensors(small)[
            'keypoints.heatmaps']
        assert maps.shape == (2, 21, 12, 12)
        maps = F.interpolate(maps, size=(128, 128), mode='bilinear',
                             align_corners=False)
        expected = backbone.encoder(torch.cat([x, maps], 1))
        torch.testing.assert_close(backbone(x), expected)
    assert backbone(x).shape == (2, 128, 4, 4)


def test_the_2d_model_stays_frozen_and_is_saved_with_the_model():
    model = build()
    model.train()
    assert not model.backbone.keypoint_model.training
    assert model.backbone.encoder.training
    frozen = list(model.backbone.keypoint_model.parameters())
    assert frozen and not any(p.requires_grad for p in frozen)
    assert any(key.startswith('backbone.keypoint_model.heads.')
               for key in model.state_dict())
    loss = model.backbone(torch.randn(2, 3, 128, 128)).square().mean()
    loss.backward()
    assert all(p.grad is None for p in frozen)
    assert model.backbone.encoder.conv1.weight.grad is not None


def test_its_checkpoint_is_read_when_training_starts(tmp_path):
    torch.manual_seed(1)
    trained = build().backbone.keypoint_model
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(1.0)
    path = tmp_path / 'nsrm.pth'
    torch.save({'state_dict': trained.state_dict()}, path)
    model = build(checkpoint=path)
    # building reads nothing (the config snapshot, inference from this
    # model's own checkpoint); the Runner's init_weights does
    first = 'backbone.features.0.weight'
    assert first in trained.state_dict()
    assert not torch.equal(model.backbone.keypoint_model.state_dict()[first],
                           trained.state_dict()[first])
    model.init_weights()
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(
            model.backbone.keypoint_model.state_dict()[key], value)
    # preflight finds the file among the Pretrained files it checks
    cfg = Config.fromfile(str(CONFIG))
    assert list(_pretrained_files(cfg.model)) == [
        'work_dirs/quickstart/nsrm_lpm_g1g6_synthetic/epoch_5.pth']


def test_a_checkpoint_of_another_model_stops_in_one_line(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {'conv.weight': torch.zeros(1)}}, path)
    model = build(checkpoint=path)
    with pytest.raises(CheckpointMismatchError, match=str(path)) as error:
        model.init_weights()
    assert '\n' not in str(error.value)


def test_a_2d_model_it_cannot_use_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"local_regression_synthetic_depth"
                       r"\.py normalises its input as None, not as the "
                       r'image arrives'):
        build(config='configs/hourglass/local_regression_synthetic_depth.py')
    with pytest.raises(ValueError, match=r"detnet_synthetic\.py's last head "
                       r"predicts .*no 'locations\.heatmaps'"):
        build(config='configs/zhou/detnet_synthetic.py')
    with pytest.raises(FileNotFoundError, match='KeypointMapInput: config '
                       'not found: configs/none.py'):
        build(config='configs/none.py')
    with pytest.raises(ValueError, match='keypoint_model takes config and '
                       r"init_cfg, got \['checkpoint_path', 'config'\]"):
        build(checkpoint=None, checkpoint_path='x')
