"""tools/test.py's 3D table: one row per protocol (a metric prefix)."""
from handkit.tools.test import print_3d_tables


def metrics(offset, prefix=''):
    key = f'{prefix}/' if prefix else ''
    return {f'{key}EPE_3D': 30.0 + offset, f'{key}AUC_20-50': 0.5,
            f'{key}PCK3D@20mm': 0.2, f'{key}PCK3D@30mm': 0.4,
            f'{key}PCK3D@40mm': 0.6, f'{key}PCK3D@50mm': 0.8,
            f'{key}EPE_2D': 5.0}


def test_aligned_protocol_is_a_second_row(capsys):
    values = dict(metrics(0), EPE_3D_mean_pose=90.0)
    values.update(metrics(-10, 'aligned'))
    print_3d_tables('detnet', values)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ['model', 'EPE_3D(mm)', 'AUC_20-50',
                                'PCK3D@20mm', 'PCK3D@30mm', 'PCK3D@40mm',
                                'PCK3D@50mm']
    assert lines[1].split() == ['detnet', '30.00', '0.5000', '20.00',
                                '40.00', '60.00', '80.00']
    assert lines[2].split() == ['detnet', '[aligned]', '20.00', '0.5000',
                                '20.00', '40.00', '60.00', '80.00']
    assert lines[3] == ('EPE_2D 5.00 px   mean-pose EPE_3D 90.00 mm (oracle '
                        'baseline)')
    assert len(lines) == 4


def test_a_single_protocol_prints_as_before(capsys):
    print_3d_tables('resunet', metrics(0))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1].startswith('resunet ')
    assert lines[2] == 'EPE_2D 5.00 px'


def test_zimmermann_brox_row_adds_its_median_and_full_grid_auc(capsys):
    values = metrics(0)
    values.update(metrics(-10, 'zb'), **{'zb/EPE_3D_median': 17.5,
                                         'zb/AUC_0-50': 0.625,
                                         'zb/EPE_3D_mean_pose': 40.0})
    print_3d_tables('zimmermann', values)
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[:4] == ['zimmermann', '[zb]', '20.00', '0.5000']
    assert lines[4] == ('[zb] median EPE_3D 17.50 mm   AUC_0-50 0.6250   '
                        'mean-pose EPE_3D 40.00 mm (oracle baseline)')
