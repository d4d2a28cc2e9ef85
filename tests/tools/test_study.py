"""tools/study.py on a 2-cell x 1-seed grid: it trains, tests, tabulates, and
skips what is finished on a rerun."""
import json
import os

import pytest

from handkit.engine.config import ConfigError
from handkit.tools.study import format_tables, load_study, run_study
from tiny_setup import exit_code, write_nsrm_layout, write_tiny_config

STUDY = """
cells = dict(
    g1g6=dict(config='{config}'),
    g1=dict(config='{config}', options={{
        'model.heads.structure.groups': 'G1',
        'model.heads.structure.loss_weight_g6': 0.0,
        'train_dataloader.dataset.pipeline.targets.encoders.limbs.groups':
            'G1'}}),
)
options = {{'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1}}
seeds = [0]
evaluations = dict(test={{}}, test_batch_1={{'test_dataloader.batch_size': 1}})
baseline_cell = 'g1g6'
mean_pose = True
"""


@pytest.fixture(scope='module')
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp('study')
    write_nsrm_layout(root / 'data')
    config = write_tiny_config(root / 'tiny.py', root / 'data', epochs=1)
    path = root / 'tiny_study.py'
    path.write_text(STUDY.format(config=config))
    os.environ['OMP_NUM_THREADS'] = '1'
    results = run_study(str(path), str(root / 'work'))
    return root, path, results


def test_every_cell_is_trained_and_tested_on_every_evaluation(study):
    root, _, results = study
    assert sorted(results) == ['g1', 'g1g6', 'mean pose']
    # the mean pose is scored at the dataset's thresholds (the tiny
    # config's PCKMetric names none)
    assert 0.0 <= results['mean pose'][0]['test']['PCK_ave'] <= 1.0
    for cell in ('g1', 'g1g6'):
        runs = results[cell][0]
        assert sorted(runs) == ['test', 'test_batch_1']
        # the tiny test split: 2 images; batch size does not change PCK
        assert runs['test']['PCK_ave'] == runs['test_batch_1']['PCK_ave']
        assert 0.0 <= runs['test']['PCK_ave'] <= 1.0
        cell_dir = root / 'work' / cell / 'seed_0'
        assert (cell_dir / 'epoch_1.pth').exists()
        assert json.loads((cell_dir / 'train_done.json').read_text())[
            'checkpoint'].endswith('epoch_1.pth')
    # the G1 cell's merged config really has a one-channel structure head
    merged = json.loads((root / 'work' / 'g1' / 'seed_0' /
                         'config.json').read_text())
    assert merged['model']['heads']['structure']['groups'] == 'G1'
    assert merged['randomness']['seed'] == 0
    table = (root / 'work' / 'table.md').read_text()
    assert '| g1g6 | 1 |' in table and '| g1 | 1 |' in table
    assert '| mean pose | 1 |' in table
    assert (root / 'work' / 'study.png').stat().st_size > 0


def test_a_rerun_skips_finished_cells(study, capsys):
    root, path, first = study
    stamps = {cell: os.path.getmtime(root / 'work' / cell / 'seed_0' /
                                     'epoch_1.pth') for cell in ('g1',
                                                                 'g1g6')}
    again = run_study(str(path), str(root / 'work'))
    out = capsys.readouterr().out
    assert out.count('trained (skipped') == 2 and 'training ...' not in out
    assert again == first
    for cell, stamp in stamps.items():
        assert os.path.getmtime(root / 'work' / cell / 'seed_0' /
                                'epoch_1.pth') == stamp


def test_table_layout_mean_and_std_over_seeds(tmp_path):
    path = tmp_path / 's.py'
    path.write_text(STUDY.format(config=tmp_path / 's.py'))
    spec = load_study(str(path))
    run = {'PCK@0.1': 0.5, 'PCK_ave': 0.5, 'PCK_ave_occluded': 0.25,
           'PCK_ave_visible': 0.75, 'IoU@0.5': 0.6, 'IoU_best': 0.7}
    other = dict(run, **{'PCK@0.1': 0.7, 'PCK_ave': 0.7})
    results = {'g1g6': {0: {'test': run}, 1: {'test': other}},
               'g1': {0: {'test': other}}}
    table = format_tables(spec, results)
    # mean 60, sample std 14.14; improvement of g1 over g1g6: +10
    assert '| g1g6 | 2 | 60.00 ± 14.14 | **60.00 ± 14.14** | - | ' \
           '0.600 ± 0.000 | 0.700 ± 0.000 |' in table
    assert '| g1 | 1 | 70.00 | **70.00** | +10.00 | 0.600 | 0.700 |' in table
    assert '| g1 | 70.00 | - | - |' not in table  # occluded column filled
    assert '| g1 | 70.00 | 25.00 | 75.00 | - | - | - |' in table


def test_bad_study_files_are_one_line_errors(tmp_path):
    path = tmp_path / 'bad.py'
    path.write_text("cells = dict(a=dict(config='nowhere.py'))\n"
                    "seeds = [0]\nevaluations = dict(test={})\n")
    with pytest.raises(ConfigError, match="cell 'a': config nowhere.py "
                       'not found'):
        load_study(str(path))
    path.write_text('seeds = [0]\nevaluations = dict(test={})\n')
    with pytest.raises(ConfigError, match="the study has no 'cells'"):
        load_study(str(path))
    from handkit.tools.study import main
    assert exit_code(main, [path]) == 2


@pytest.mark.parametrize('name', ['nsrm_synthetic', 'nsrm_addon_synthetic'])
def test_shipped_studies_write_every_cell_config(name, tmp_path):
    """--dry-run: every cell of the shipped studies merges its options into
    a config that loads back and passes the codec preflight."""
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from handkit.datasets.base import pipeline_steps
    from handkit.engine.cli import check_codecs
    from handkit.registry import MODELS, TRANSFORMS
    study = (Path(__file__).resolve().parents[2] / 'configs' / 'studies' /
             f'{name}.py')
    run_study(str(study), str(tmp_path), dry_run=True)
    spec = load_study(str(study))
    for cell in spec.cells:
        for seed in spec.seeds:
            cfg = Config.fromfile(str(tmp_path / cell / f'seed_{seed}' /
                                      'config.json'))
            assert cfg.randomness.seed == seed
        init_default_scope('handkit')
        check_codecs(MODELS.build(cfg.model), {
            key: [TRANSFORMS.build(step)
                  for step in pipeline_steps(cfg[key].dataset.pipeline)]
            for key in ('train_dataloader', 'test_dataloader')})
    if name == 'nsrm_synthetic':
        ldm = Config.fromfile(str(tmp_path / 'ldm_g1' / 'seed_0' /
                                  'config.json'))
        limbs = ldm.train_dataloader.dataset.pipeline.targets.encoders.limbs
        assert (limbs.kind, limbs.groups) == ('ldm', 'G1')
        assert ldm.model.heads.structure.groups == 'G1'
        assert ldm.train_cfg.max_epochs == 2
        assert [hook.get('step') for hook in ldm.custom_hooks
                if hook['type'] == 'LossWeightDecayHook'] == [1]
        real = Config.fromfile(str(tmp_path / 'real_mask' / 'seed_0' /
                                   'config.json'))
        assert real.train_dataloader.dataset.pipeline.targets.encoders[
            'limbs'].type == 'HandMask'
        assert not [hook for hook in real.custom_hooks
                    if hook['type'] == 'LossWeightDecayHook']
