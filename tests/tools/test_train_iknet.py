"""tools/train_iknet.py: a tiny IKNet config trains, writes a checkpoint
that the safe loader reads, prints the validation line; bad configs stop
with one line (exit 2) before anything is written."""
import re
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.engine.checkpoint import load_weights_into
from handkit.registry import MODELS
from handkit.tools.train_iknet import main

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
TINY = """
_base_ = ['{configs}/zhou/iknet_synthetic.py']
model = dict(width=16)
data = dict(num_train=64, num_val=16)
train = dict(steps=5, batch_size=16, log_interval=2)
"""


def test_iknet_config_builds_the_paper_sized_model():
    cfg = Config.fromfile(str(CONFIGS / 'zhou/iknet_synthetic.py'))
    init_default_scope('handkit')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == 5_605_460


def test_tiny_iknet_trains_and_writes_a_safe_checkpoint(tmp_path, capsys,
                                                       fixed_threads):
    config = tmp_path / 'tiny_iknet.py'
    config.write_text(TINY.format(configs=CONFIGS))
    metrics = main([str(config), '--work-dir', str(tmp_path / 'work'),
                    '--speed'])
    out = capsys.readouterr().out
    assert re.search(r'^step 5/5  loss_cos \d+\.\d{4}  loss_l2 ', out, re.M)
    assert re.search(r'^validation \(16 hands\): rotation error \d+\.\d\d '
                     r'deg \(median \d+\.\d\d\), mean rotation \d+\.\d\d deg; '
                     r'EPE of the rotated rest pose \d+\.\d\d mm$', out, re.M)
    assert re.search(r'^Params 0\.\d{3} M   MACs 0\.000 G per 84x3 input$',
                     out, re.M)
    assert set(metrics) == {'rotation_error_deg', 'rotation_error_median_deg',
                            'fk_epe_mm', 'rotation_error_mean_rotation_deg'}
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    checkpoint = load_weights_into(model, str(tmp_path / 'work' /
                                              'iknet.pth'))
    assert checkpoint['meta']['rotation_error_deg'] == pytest.approx(
        metrics['rotation_error_deg'])


@pytest.mark.parametrize('text, message', [
    ("train = dict(_delete_=True, steps=5)",
     'an IKNet config needs train.batch_size'),
    ("model = dict(_delete_=True, type='CascadeEstimator')",
     "model.type must be 'IKNet', got 'CascadeEstimator'"),
    ("data = dict(left_ratio=0.5)",
     "data.left_ratio=0.5 contradicts model.hand_side='left' (a one-side "
     "IKNet trains on left hands only)"),
])
def test_bad_configs_stop_with_one_line(tmp_path, capsys, text, message):
    config = tmp_path / 'bad_iknet.py'
    config.write_text(TINY.format(configs=CONFIGS) + text + '\n')
    with pytest.raises(SystemExit) as exit_info:
        main([str(config), '--work-dir', str(tmp_path / 'work')])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'work').exists()


def test_unknown_override_is_refused(tmp_path, capsys):
    config = tmp_path / 'tiny_iknet.py'
    config.write_text(TINY.format(configs=CONFIGS))
    with pytest.raises(SystemExit):
        main([str(config), '--cfg-options', 'train.step=3'])
    assert 'train.step' in capsys.readouterr().err
