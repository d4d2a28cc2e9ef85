"""docs/adding_a_head.md is a worked example: run its code as written."""
import re
import sys
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]


def _python_blocks(markdown):
    """{first-line file name: code} of the ```python blocks."""
    blocks = re.findall(r'```python\n(.*?)```', markdown, flags=re.S)
    return {block.splitlines()[0].lstrip('# ').strip(): block
            for block in blocks}


def test_the_documented_head_trains_and_predicts(tmp_path, monkeypatch):
    blocks = _python_blocks((ROOT / 'docs' / 'adding_a_head.md').read_text())
    assert set(blocks) == {'my_heads.py', 'simple_head_panoptic.py'}
    (tmp_path / 'my_heads.py').write_text(blocks['my_heads.py'])
    config = tmp_path / 'simple_head_panoptic.py'
    # The config's _base_ paths are relative to the repository root.
    config.write_text(blocks['simple_head_panoptic.py'].replace(
        "'configs/", f"'{ROOT}/configs/"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        cfg = Config.fromfile(config)  # runs custom_imports
        init_default_scope('handkit')
        model = MODELS.build(cfg.model)
        assert [type(h).__name__ for h in model.heads] == [
            'StructureMaskHead', 'SimpleHeatmapHead']
        assert model.heads[1].layers[0].in_channels == 128 + 1

        inputs = torch.randn(2, 3, 368, 368)
        keypoints = np.random.default_rng(0).uniform(40, 320, (21, 2))
        targets = {}
        for codec in cfg.train_dataloader.dataset.pipeline.targets.encoders \
                .values():
            from handkit.registry import CODECS
            encoded = CODECS.build(codec).encode(keypoints, np.ones(21))
            targets.update({k: torch.from_numpy(np.stack([v, v]))
                            for k, v in encoded.items()})
        batch = {'targets': targets, 'metas': [{}, {}]}
        losses = model(inputs, batch, mode='loss')
        assert set(losses) == {'loss_structure_g1', 'loss_simple'}
        sum(losses.values()).backward()
        assert model.heads[1].layers[0].weight.grad.abs().sum() > 0

        predictions = model(inputs, batch, mode='predict')
        assert predictions[0]['pred_keypoints'].shape == (21, 2)
        assert predictions[0]['pred_scores'].shape == (21, )
        # split into predict_tensors + decode, the head exports to ONNX
        assert all(head.exportable() for head in model.heads)
    finally:
        sys.modules.pop('my_heads', None)
