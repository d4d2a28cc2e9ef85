"""Preflight builds once: the Runner runs the model and datasets preflight
built and checked, with the initial weights and random draws a Runner that
builds its own would have."""
import torch
from tiny_setup import write_nsrm_layout, write_tiny_config

from handkit.engine.config import load_config_file
from handkit.engine.preflight import preflight
from handkit.engine.runner import HandRunner


def _config(root, name):
    cfg = load_config_file(str(root / 'tiny.py'))
    cfg.work_dir = str(root / name)
    cfg.experiment_name = name  # two runners in one process
    cfg.randomness = dict(seed=3)
    return cfg


def test_the_runner_runs_what_preflight_built(tmp_path):
    write_nsrm_layout(tmp_path / 'data')
    write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data', epochs=1)
    cfg = _config(tmp_path, 'built')
    built = preflight(cfg, ['train_dataloader', 'val_dataloader'])
    runner = HandRunner.from_cfg(cfg, built=built)
    assert runner.model is built.model
    assert runner.seed == built.seed == 3
    # the loader runs the dataset itself (mmengine's deep copy of the
    # loader config leaves it as it is)
    loader = runner.build_dataloader(runner._train_dataloader,
                                     seed=runner.seed)
    assert loader.dataset is built.datasets['train_dataloader']
    weights = {key: value.clone()
               for key, value in built.model.state_dict().items()}
    draws = torch.rand(4)

    plain = HandRunner.from_cfg(_config(tmp_path, 'plain'))
    assert plain.seed == 3
    plain_weights = plain.model.state_dict()
    assert sorted(plain_weights) == sorted(weights)
    assert all(torch.equal(plain_weights[key], value)
               for key, value in weights.items())
    assert torch.equal(torch.rand(4), draws)  # the same random stream
