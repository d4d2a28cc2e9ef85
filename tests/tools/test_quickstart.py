"""tools/quickstart.py (the README's main job) on the tiny config."""
import json

import cv2

from handkit.tools import quickstart
from tiny_setup import write_nsrm_layout, write_tiny_config


def test_main_job_writes_table_json_curves_and_pictures(tmp_path, capsys,
                                                        monkeypatch):
    write_nsrm_layout(tmp_path / 'data')
    config = write_tiny_config(tmp_path / 'tiny_nsrm.py', tmp_path / 'data',
                               epochs=2)
    monkeypatch.setitem(quickstart.RUNS, quickstart.NSRM, config)
    # --with-cpm: a second model trained in the same process (here the same
    # tiny model under another name)
    cpm_config = tmp_path / 'tiny_cpm.py'
    cpm_config.write_text(config.read_text())
    monkeypatch.setitem(quickstart.RUNS, 'CPM', cpm_config)
    work_dir = tmp_path / 'quickstart'
    quickstart.main(['--work-dir', str(work_dir), '--num-pictures', '2',
                     '--with-cpm', '--cfg-options',
                     'train_cfg.val_interval=1'])

    table = (work_dir / 'pck_table.txt').read_text().splitlines()
    assert table[0].split() == ['sigma_PCK', '0.04', '0.06', '0.08', '0.10',
                                '0.12', 'ave']
    assert table[1].startswith('CPM')
    assert table[2].startswith('NSRM LPM-G1&6')
    assert table[3].startswith('mean pose')
    metrics = json.loads((work_dir / 'pck.json').read_text())
    assert abs(float(table[2].split()[-1])
               - 100 * metrics['NSRM LPM-G1&6']['PCK_ave']) < 0.006
    assert abs(float(table[3].split()[-1])
               - 100 * metrics['mean pose']['PCK_ave']) < 0.006
    for name in ('pck_curve.png', 'training_curve.png'):
        assert cv2.imread(str(work_dir / name)).shape == (480, 640, 3)
    # Each model's training curve has its own validation points, one per
    # epoch: the second run in the process logs to its own work dir.
    for run in ('tiny_cpm', 'tiny_nsrm'):
        iterations, values = quickstart.validation_curve(work_dir / run)
        assert iterations.tolist() == [2, 4]  # 8 images, batch 4
        assert ((0 <= values) & (values <= 1)).all()
    pictures = cv2.imread(str(work_dir / 'predictions.png'))
    # 2 panels of [64 px crop | 2 x 4 tiles of 32 px with captions].
    assert pictures is not None and pictures.shape[1] > 2 * 64
    assert 'written to' in capsys.readouterr().out


def test_a_rerun_in_the_same_work_dir_keeps_the_earlier_models(
        tmp_path, capsys):
    """The earlier quickstart's checkpoints are never written over: one
    line, exit 2, before anything is trained or written."""
    from tiny_setup import exit_code
    run_dir = tmp_path / 'quickstart' / 'nsrm_lpm_g1g6_synthetic'
    run_dir.mkdir(parents=True)
    (run_dir / 'epoch_5.pth').write_bytes(b'earlier model')
    (run_dir / 'last_checkpoint').write_text(str(run_dir / 'epoch_5.pth'))
    before = sorted(path.name for path in tmp_path.rglob('*'))
    assert exit_code(quickstart.main,
                     ['--work-dir', str(tmp_path / 'quickstart')]) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: work dir {run_dir} holds the checkpoints of an '
        'earlier training (epoch_5.pth, last_checkpoint); it is an earlier '
        'quickstart; pass --work-dir DIR for a new run (or delete '
        f"{tmp_path / 'quickstart'})")
    assert sorted(path.name for path in tmp_path.rglob('*')) == before
    assert (run_dir / 'epoch_5.pth').read_bytes() == b'earlier model'
