"""tools/study.py on a 2-cell x 1-seed grid: it trains, tests, tabulates, and
skips what is finished on a rerun."""
import json
import os

import pytest

from handkit.engine.config import ConfigError
from handkit.engine.study import load_study, run_study
from handkit.evaluation.study_tables import format_tables
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
    # the columns are the metrics' own (those of the cell config's
    # evaluator: here an NSRM one)
    from handkit.evaluation.metrics import MaskIoUMetric, PCKMetric
    table = format_tables(spec, results, [PCKMetric(), MaskIoUMetric()])
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
    from handkit.engine.preflight import check_codecs
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


# -- option keys and changed cells: checked before anything runs ----------

TYPO_STUDY = """
cells = dict(
    g1g6=dict(config='{config}'),
    g1=dict(config='{config}', options={{{cell}}}),
)
options = {{'train_cfg.max_epochs': 1, {shared}}}
seeds = [0, 1]
evaluations = dict(test={{}}, test_batch_1={{{evaluation}}})
"""


@pytest.fixture
def tiny_config(tmp_path):
    write_nsrm_layout(tmp_path / 'data')
    return write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data',
                             epochs=1)


@pytest.mark.parametrize('where, typo, error', [
    ('cell', "'train_dataloder.batch_size': 2",
     "cell 'g1': --cfg-options train_dataloder.batch_size: the config has "
     "no key 'train_dataloder' (closest: 'train_dataloader')"),
    ('cell', "'model.heads.structure.loss_weigth': 0.5",
     "cell 'g1': --cfg-options model.heads.structure.loss_weigth: "
     'model.heads.structure (StructureMaskHead) has no key '
     "'loss_weigth' and takes no such argument (closest: 'loss_weight')"),
    ('shared', "'train_cfg.val_intervall': 1",
     "options (cell 'g1g6'): --cfg-options train_cfg.val_intervall: "
     "train_cfg (EpochBasedTrainLoop) has no key 'val_intervall' and takes "
     "no such argument (closest: 'val_interval')"),
    ('evaluation', "'test_dataloader.batch_sise': 1",
     "evaluation 'test_batch_1' (cell 'g1g6'): --cfg-options "
     'test_dataloader.batch_sise: test_dataloader (DataLoader) has no key '
     "'batch_sise' and takes no such argument (closest: 'batch_size')"),
], ids=['cell_top_level', 'cell_nested', 'study_options', 'evaluation'])
def test_an_option_typo_stops_the_study_before_anything_is_written(
        tiny_config, tmp_path, capsys, where, typo, error):
    """mmengine merges any key (a top-level typo would be ignored); the
    study checks every key as --cfg-options, for every cell and seed,
    before the first cell is trained or its config written."""
    from handkit.tools.study import main
    path = tmp_path / 'typo.py'
    path.write_text(TYPO_STUDY.format(
        config=tiny_config, **{key: typo if key == where else ''
                               for key in ('cell', 'shared', 'evaluation')}))
    work = tmp_path / 'work'
    for extra in ([], ['--dry-run']):
        capsys.readouterr()
        assert exit_code(main, [path, '--work-dir', work] + extra) == 2
        assert capsys.readouterr().err == \
            f'handkit: error: study {path}: {error}\n'
        assert not work.exists()  # no cell folder, config.json, train.log


def test_an_option_typo_in_a_cell_left_out_by_cells_is_refused(
        tiny_config, tmp_path, capsys):
    from handkit.tools.study import main
    path = tmp_path / 'typo.py'
    path.write_text(TYPO_STUDY.format(
        config=tiny_config, cell="'train_dataloder.batch_size': 2",
        shared='', evaluation=''))
    assert exit_code(main, [path, '--work-dir', tmp_path / 'work',
                            '--cells', 'g1g6']) == 2
    assert "cell 'g1': --cfg-options train_dataloder.batch_size" in \
        capsys.readouterr().err
    assert not (tmp_path / 'work').exists()


def _changed_study(root):
    """The module's study with g1 at another learning rate."""
    path = root / 'tiny_study_lr.py'
    path.write_text((root / 'tiny_study.py').read_text().replace(
        "'G1'}),", "'G1', 'optim_wrapper.optimizer.lr': 0.003}),", 1))
    assert path.read_text() != (root / 'tiny_study.py').read_text()
    return path


def _snapshot(folder):
    """{relative path: (md5, mtime)} of every file under ``folder``."""
    import hashlib
    return {str(path.relative_to(folder)): (
        hashlib.md5(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob('*')) if path.is_file()}


def test_a_finished_cell_whose_options_changed_is_refused(study, capsys):
    """Skipping it would relabel the old checkpoint with the new config:
    the study stops (also --dry-run) naming the cell, the seed, the key and
    --rerun-changed; nothing is trained, removed or written."""
    from handkit.tools.study import main
    root, _, _ = study
    path = _changed_study(root)
    work = root / 'work'
    before = _snapshot(work)
    config = (work / 'g1' / 'seed_0' / 'config.json').read_bytes()
    for extra in ([], ['--dry-run']):
        capsys.readouterr()
        assert exit_code(main, [path, '--work-dir', work] + extra) == 2
        captured = capsys.readouterr()
        assert captured.err == (
            f"handkit: error: study {path}: cell 'g1' seed 0 has results of "
            'another config: optim_wrapper.optimizer.lr was 0.001 in '
            f"{work / 'g1' / 'seed_0' / 'config.json'}, now 0.003; pass "
            '--rerun-changed to remove its results and train it again, or '
            'undo the change\n')
        assert 'training' not in captured.out
        assert (work / 'g1' / 'seed_0' / 'config.json').read_bytes() == \
            config
        assert _snapshot(work) == before  # the checkpoints too


def test_rerun_changed_retrains_only_the_changed_cell(study, tmp_path,
                                                      capsys):
    import shutil
    from handkit.tools.study import main
    root, _, first = study
    # a copy: the module's finished study stays as the other tests expect
    work = tmp_path / 'work'
    shutil.copytree(root / 'work', work)
    g1, g1g6 = work / 'g1' / 'seed_0', work / 'g1g6' / 'seed_0'
    kept = _snapshot(g1g6)
    old_done = (g1 / 'train_done.json').stat().st_mtime_ns
    path = _changed_study(root)
    capsys.readouterr()
    assert exit_code(main, [path, '--work-dir', work, '--rerun-changed']) \
        == 0
    out = capsys.readouterr().out
    assert ("[2/2] g1 seed 0: config changed (optim_wrapper.optimizer.lr "
            'was 0.001, now 0.003); removed best_PCK_ave_epoch_1.pth, '
            'epoch_1.pth, eval_test.json, '
            'eval_test_batch_1.json, last_checkpoint, test_test/, '
            'test_test_batch_1/, train_done.json\n') in out
    assert out.count('trained (skipped') == 1
    assert '[2/2] g1 seed 0: training ...' in out
    # g1g6 is skipped: only its config.json is written again (the same
    # config; the Runner had written its machine settings into it)
    kept.pop('config.json')
    assert {key: value for key, value in _snapshot(g1g6).items()
            if key != 'config.json'} == kept
    assert (g1 / 'train_done.json').stat().st_mtime_ns > old_done
    merged = json.loads((g1 / 'config.json').read_text())
    assert merged['optim_wrapper']['optimizer']['lr'] == 0.003
    # the table and results.json show the retrained cell's evaluation
    new = json.loads((g1 / 'eval_test.json').read_text())
    results = json.loads((work / 'results.json').read_text())
    assert results['g1']['0']['test'] == new
    assert results['g1g6']['0'] == first['g1g6'][0]
    row = next(line for line in (work / 'table.md').read_text().splitlines()
               if line.startswith('| g1 | 1 |'))
    assert f" | **{100 * new['PCK_ave']:.2f}** | " in row
    # the same options again: skipped
    assert exit_code(main, [path, '--work-dir', work]) == 0
    out = capsys.readouterr().out
    assert out.count('trained (skipped') == 2 and 'training ...' not in out


def test_first_difference_names_a_dotted_key():
    from handkit.engine.study.spec import first_difference
    old = {'a': {'b': [1, {'c': 'x'}]}, 'd': 1}
    assert first_difference(old, json.loads(json.dumps(old))) is None
    assert first_difference(old, {'a': {'b': [1, {'c': 'y'}]}, 'd': 1}) == \
        ('a.b.1.c', 'x', 'y')
    assert first_difference(old, {'a': {'b': [1, {'c': 'x'}]}, 'd': 1,
                                  'e': 2})[::2] == ('e', 2)
    assert first_difference(old, {'d': 1, 'a': {'b': [1, {'c': 'x'}]}})[
        0] == 'the config'  # key order: named pipeline steps run in it


def test_dry_run_with_rerun_changed_names_what_would_go(study, tmp_path,
                                                        capsys):
    """The mean-pose cell (g1g6) changed: --dry-run --rerun-changed lists
    its results and the study's mean_pose file and removes nothing."""
    import shutil
    from handkit.tools.study import main
    root, _, _ = study
    work = tmp_path / 'work'
    shutil.copytree(root / 'work', work)
    path = tmp_path / 'lr_g1g6.py'
    path.write_text((root / 'tiny_study.py').read_text().replace(
        "g1g6=dict(config='{}')".format(root / 'tiny.py'),
        "g1g6=dict(config='{}', options={{'optim_wrapper.optimizer.lr': "
        "0.003}})".format(root / 'tiny.py'), 1))
    assert 'optim_wrapper' in path.read_text()
    before = _snapshot(work / 'g1g6')
    capsys.readouterr()
    assert exit_code(main, [path, '--work-dir', work, '--dry-run',
                            '--rerun-changed']) == 0
    assert ('[1/2] g1g6 seed 0: config changed (optim_wrapper.optimizer.lr '
            'was 0.001, now 0.003); --rerun-changed would remove '
            'best_PCK_ave_epoch_1.pth, epoch_1.pth, eval_test.json, '
            'eval_test_batch_1.json, last_checkpoint, test_test/, '
            'test_test_batch_1/, train_done.json, '
            '../../mean_pose_g1g6.json\n') in capsys.readouterr().out
    assert _snapshot(work / 'g1g6') == before
    assert (work / 'mean_pose_g1g6.json').exists()


def test_the_runners_machine_settings_are_not_changes():
    """mmengine's Runner writes the config it ran over config.json, with
    tools/train.py's settings for the machine: they are not changes."""
    from handkit.engine.study.spec import comparable, first_difference
    new = {'work_dir': 'a', 'load_from': None, 'resume': False,
           'train_dataloader': {'num_workers': 8, 'pin_memory': True},
           'visualizer': {'type': 'V', 'vis_backends': [{'type': 'L'}]}}
    ran = {'work_dir': '/elsewhere/a', 'load_from': 'a/epoch_1.pth',
           'resume': True,
           'train_dataloader': {'num_workers': 2, 'pin_memory': False},
           'visualizer': {'type': 'V', 'vis_backends': [
               {'type': 'L'}, {'type': 'TensorboardVisBackend'}]},
           'launcher': 'none'}
    assert first_difference(*comparable(ran, new)) is None
    # what the study asked for is compared
    ran['train_dataloader']['num_workers'] = 9
    assert first_difference(*comparable(ran, new)) == (
        'train_dataloader.num_workers', 9, 8)
