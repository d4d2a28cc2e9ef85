"""Config syntax errors and --cfg-options keys: one line, before anything
runs (handkit.engine.config)."""
from pathlib import Path

import pytest
from mmengine.config import Config

from handkit.engine.config import (ConfigError, accepted_arguments,
                                   check_cfg_options, load_config_file)
from handkit.engine.hooks import SafeCheckpointHook
from handkit.tools import train

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'nsrm' / 'lpm_g1g6_panoptic.py'


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text("a = 1\nb = (2,\nc = 3\n")
    with pytest.raises(ConfigError) as error:
        load_config_file(str(bad))
    assert str(error.value) == (f"config {bad}, line 2: syntax error: '(' "
                                'was never closed')
    # In a _base_ file: that file is named.
    top = tmp_path / 'top.py'
    top.write_text("_base_ = ['bad.py']\nx = 1\n")
    with pytest.raises(ConfigError, match=f'config {bad}, line 2: '):
        load_config_file(str(top))


def test_a_syntax_error_through_train_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / 'bad.py'
    bad.write_text('model = dict(type=\n')
    with pytest.raises(SystemExit) as exit_:
        train.main([str(bad), '--work-dir', str(tmp_path / 'work')])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f'handkit: error: config {bad}, line 1: ')
    assert len(err.strip().splitlines()) == 1 and '<unknown>' not in err
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('key, message', [
    ('train_dataloder.batch_size',
     "the config has no key 'train_dataloder' (closest: 'train_dataloader')"),
    ('default_hooks.checkpoint.max_keep_ckpt',
     "default_hooks.checkpoint (SafeCheckpointHook) has no key "
     "'max_keep_ckpt' and takes no such argument (closest: "
     "'max_keep_ckpts')"),
    ('model.backbone.widht_multiplier',
     "model.backbone (VGG19CPM) has no key 'widht_multiplier' and takes no "
     "such argument (closest: 'width_multiplier')"),
    ('train_dataloader.dataset.pipline.crop.padding',
     "train_dataloader.dataset has no key 'pipline' (closest: 'pipeline')"),
    ('custom_hooks.5.num_samples',
     'custom_hooks is a list of 2, it has no item 5'),
    ('train_cfg.max_epoch',
     "train_cfg (EpochBasedTrainLoop) has no key 'max_epoch' and takes no "
     "such argument (closest: 'max_epochs')"),
    ('compiled',
     "the config (Runner) has no key 'compiled' and takes no such argument "
     "(closest: 'compile')"),
])
def test_unknown_override_keys_name_the_closest(key, message):
    cfg = Config.fromfile(str(CONFIG))
    with pytest.raises(ConfigError) as error:
        check_cfg_options(cfg, {key: 1})
    assert str(error.value) == f'--cfg-options {key}: {message}'


@pytest.mark.parametrize('key', [
    'train_dataloader.batch_size',  # exists
    'default_hooks.checkpoint.max_keep_ckpts',  # exists
    'default_hooks.checkpoint.out_dir',  # a CheckpointHook argument
    'model.backbone.width_multiplier',  # a VGG19CPM argument
    'optim_wrapper.optimizer.weight_decay',  # an Adam argument
    'optim_wrapper.clip_grad',  # an OptimWrapper argument (no type given)
    'randomness.deterministic',  # Runner.set_randomness
    'train_dataloader.prefetch_factor',  # torch's DataLoader
    'train_cfg.val_begin',  # EpochBasedTrainLoop
    'work_dir', 'experiment_name',  # the Runner's arguments
    'custom_hooks.0.num_samples',  # a list item
    # the speed switches (docs/benchmarks.md): the Runner's cfg.compile,
    # the wrapper type build_optim_wrapper reads, Adam's fused / foreach
    'compile', 'optim_wrapper.type', 'optim_wrapper.paramwise_cfg',
    'optim_wrapper.optimizer.fused', 'optim_wrapper.optimizer.foreach',
    'model.data_preprocessor.channels_last', 'env_cfg.cudnn_benchmark',
])
def test_existing_and_accepted_keys_pass(key):
    check_cfg_options(Config.fromfile(str(CONFIG)), {key: 1})


def test_arguments_follow_kwargs_to_the_base_class():
    # SafeCheckpointHook has no __init__ of its own: CheckpointHook's.
    names = accepted_arguments(SafeCheckpointHook)
    assert {'interval', 'max_keep_ckpts', 'save_best'} <= names
    assert 'max_keep_ckpt' not in names


def test_train_refuses_a_typo_before_anything_is_written(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        train.main([str(CONFIG), '--work-dir', str(tmp_path / 'work'),
                    '--cfg-options', 'train_dataloder.batch_size=2'])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == (
        'handkit: error: --cfg-options train_dataloder.batch_size: the '
        "config has no key 'train_dataloder' (closest: 'train_dataloader')")
    assert not (tmp_path / 'work').exists()


def test_the_work_folder_config_keeps_the_steps_and_heads_in_order(tmp_path):
    """HandRunner.dump_config writes the config so that it reads back the
    same, dict order included: mmengine's dump sorted the keys, which put
    DetNet's heads in the order deltas, heatmaps, locations (a model that
    its own checkpoint did not fit) and pipeline steps alphabetically."""
    from types import SimpleNamespace

    from handkit.engine.config import ordered_config_text
    from handkit.engine.runner import HandRunner
    cfg = load_config_file(str(ROOT / 'configs/zhou/detnet_synthetic.py'))
    runner = SimpleNamespace(cfg=cfg, work_dir=str(tmp_path), timestamp='t')
    HandRunner.dump_config(runner)
    back = Config.fromfile(str(tmp_path / 'detnet_synthetic.py'))
    assert list(back.model.heads) == ['heatmaps', 'deltas', 'locations']
    steps = list(back.train_dataloader.dataset.pipeline)
    assert steps == list(cfg.train_dataloader.dataset.pipeline)
    assert steps.index('warp') < steps.index('pack')
    assert back.to_dict() == cfg.to_dict()
    assert back.model.heads.locations.decoder.input_size == (128, 128)
    # a config read from JSON (a study's cell) is written back as JSON
    import json
    cell = tmp_path / 'cell'
    cell.mkdir()
    (cell / 'config.json').write_text(json.dumps(cfg.to_dict()))
    as_json = Config.fromfile(str(cell / 'config.json'))
    HandRunner.dump_config(SimpleNamespace(cfg=as_json, work_dir=str(cell),
                                           timestamp='t'))
    assert list(json.loads((cell / 'config.json').read_text())['model'][
        'heads']) == ['heatmaps', 'deltas', 'locations']
    with pytest.raises(ConfigError, match='hook: type value is not a Python '
                       'literal'):
        ordered_config_text(Config(dict(hook=type)))
    # such a config still trains: the work folder gets mmengine's copy
    odd = Config(dict(model=dict(b=1, a=2), clip=float('inf')))
    with pytest.raises(ConfigError, match=r'clip: float value is not a '):
        ordered_config_text(odd)
    HandRunner.dump_config(SimpleNamespace(cfg=odd, work_dir=str(tmp_path),
                                           timestamp='t'))
    written = (tmp_path / 't.py').read_text()  # named by the timestamp
    assert 'clip = inf' in written and 'a=2' in written
