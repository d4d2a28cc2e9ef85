"""tools/pretrain_depth_regularizer.py: a tiny run on synthetic hands writes
the regulariser's weights under their names in the whole model (so that
the 0 % config's load_from fills them in), safely loadable; configs without
depth_pretraining stop with one line (exit 2) before anything is written."""
import re
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.engine.checkpoint import load_checkpoint_file
from handkit.registry import MODELS
from handkit.tools.pretrain_depth_regularizer import main

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
TINY = """
_base_ = ['{configs}/cai/cai_depth2d_frozen_regularizer_synthetic.py']
depth_pretraining = dict(dataset=dict(num_samples=12, cache_dir=None),
                         steps=4, batch_size=4, val_fraction=0.25)
"""


def test_tiny_pretraining_writes_weights_load_from_can_use(
        tmp_path, capsys, fixed_threads):
    config = tmp_path / 'tiny.py'
    config.write_text(TINY.format(configs=CONFIGS))
    metrics = main([str(config), '--work-dir', str(tmp_path / 'work')])
    out = capsys.readouterr().out
    assert re.search(r'^trained 4 steps on 9 samples in \d+ s; wrote ', out,
                     re.M)
    assert re.search(r'^held-out L1 \(3 samples\): \d\.\d{4} untrained -> '
                     r'\d\.\d{4}; the mean depth map: \d\.\d{4}$', out, re.M)
    assert metrics['val_l1_after'] > 0
    checkpoint = load_checkpoint_file(
        str(tmp_path / 'work' / 'depth_regularizer.pth'))
    cfg = Config.fromfile(
        str(CONFIGS / 'cai/cai_depth2d_frozen_regularizer_synthetic.py'))
    init_default_scope('handkit')
    model = MODELS.build(cfg.model)
    result = model.load_state_dict(checkpoint['state_dict'], strict=False)
    assert result.unexpected_keys == []
    assert all(key.startswith('heads.1.depth_regularizer.')
               for key in checkpoint['state_dict'])
    assert not any(key.startswith('heads.1.depth_regularizer.')
                   for key in result.missing_keys)


def test_a_config_without_depth_pretraining_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(CONFIGS / 'cai/cai_synthetic.py'), '--work-dir',
              str(tmp_path / 'work')])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        'cai_synthetic.py: no depth_pretraining section (see '
        'configs/cai/cai_depth2d_frozen_regularizer_synthetic.py)')
    assert not (tmp_path / 'work').exists()
