"""tools/quickstart.py (the README's main job) on the tiny config."""
import importlib.util
import json
from pathlib import Path

import cv2

from tiny_setup import write_nsrm_layout, write_tiny_config

ROOT = Path(__file__).resolve().parents[2]


def _quickstart():
    spec = importlib.util.spec_from_file_location(
        'quickstart_under_test', ROOT / 'tools' / 'quickstart.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_job_writes_table_json_curve_and_pictures(tmp_path, capsys):
    write_nsrm_layout(tmp_path / 'data')
    config = write_tiny_config(tmp_path / 'tiny_nsrm.py', tmp_path / 'data',
                               epochs=1)
    quickstart = _quickstart()
    quickstart.RUNS['NSRM LPM-G1&6'] = config
    work_dir = tmp_path / 'quickstart'
    quickstart.main(['--work-dir', str(work_dir), '--num-pictures', '2'])

    table = (work_dir / 'pck_table.txt').read_text().splitlines()
    assert table[0].split() == ['sigma_PCK', '0.04', '0.06', '0.08', '0.10',
                                '0.12', 'ave']
    assert table[1].startswith('NSRM LPM-G1&6')
    metrics = json.loads((work_dir / 'pck.json').read_text())
    ave = float(table[1].split()[-1])
    assert abs(ave - 100 * metrics['NSRM LPM-G1&6']['PCK_ave']) < 0.006
    curve = cv2.imread(str(work_dir / 'pck_curve.png'))
    assert curve.shape == (480, 640, 3)
    pictures = cv2.imread(str(work_dir / 'predictions.png'))
    # 2 panels of [64 px crop | 2 x 4 tiles of 32 px with captions].
    assert pictures is not None and pictures.shape[1] > 2 * 64
    assert 'written to' in capsys.readouterr().out
