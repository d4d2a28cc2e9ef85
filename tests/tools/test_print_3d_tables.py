"""tools/test.py's 3D table, as the metrics format it
(``format_metric_tables``): one row per protocol (a metric prefix), the
rows of metrics with the same columns in one table."""
from handkit.evaluation.metrics import Keypoint3DMetric, format_metric_tables


def metrics(offset, prefix=''):
    key = f'{prefix}/' if prefix else ''
    return {f'{key}EPE_3D': 30.0 + offset, f'{key}AUC_20-50': 0.5,
            f'{key}PCK3D@20mm': 0.2, f'{key}PCK3D@30mm': 0.4,
            f'{key}PCK3D@40mm': 0.6, f'{key}PCK3D@50mm': 0.8,
            f'{key}EPE_2D': 5.0}


def test_aligned_protocol_is_a_second_row():
    values = dict(metrics(0), EPE_3D_mean_pose=90.0)
    values.update(metrics(-10, 'aligned'))
    evaluator = [Keypoint3DMetric(mean_pose_baseline=True),
                 Keypoint3DMetric(scale_bone=(0, 9), prefix='aligned')]
    lines = format_metric_tables(evaluator, 'detnet', values).splitlines()
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


def test_a_single_protocol_prints_as_before():
    lines = format_metric_tables([Keypoint3DMetric()], 'resunet',
                                 metrics(0)).splitlines()
    assert len(lines) == 3 and lines[1].startswith('resunet ')
    assert lines[2] == 'EPE_2D 5.00 px'


def test_zimmermann_brox_row_adds_its_median_and_full_grid_auc():
    values = metrics(0)
    values.update(metrics(-10, 'zb'), **{'zb/EPE_3D_median': 17.5,
                                         'zb/AUC_0-50': 0.625,
                                         'zb/EPE_3D_mean_pose': 40.0})
    evaluator = [Keypoint3DMetric(),
                 Keypoint3DMetric(protocol='zimmermann_brox_rhd',
                                  mean_pose_baseline=True, prefix='zb')]
    lines = format_metric_tables(evaluator, 'zimmermann',
                                 values).splitlines()
    # the preset's protocol line above the table (tools/test.py printed it
    # there from the config before the metrics formatted their own rows)
    assert lines[0] == ('protocol: zimmermann_brox_rhd ([zb] rows; '
                        'Zimmermann & Brox, ICCV 2017 (lmb-freiburg/hand3d))')
    assert lines[3].split()[:4] == ['zimmermann', '[zb]', '20.00', '0.5000']
    assert lines[5] == ('[zb] median EPE_3D 17.50 mm   AUC_0-50 0.6250   '
                        'mean-pose EPE_3D 40.00 mm (oracle baseline)')


def test_other_metrics_print_their_own_rows():
    """PCK keeps NSRM Tables 2-3's layout and its AUC / EPE line; a metric
    without columns (PredictionDump) prints nothing."""
    from handkit.evaluation.metrics import (MaskIoUMetric, PCKMetric,
                                            PredictionDump)
    values = {'PCK@0.1': 0.5, 'PCK@0.2': 0.75, 'PCK_ave': 0.625,
              'AUC': 0.4, 'EPE': 3.25, 'IoU@0.5': 0.6, 'IoU_best': 0.7,
              'IoU_best_threshold': 0.45}
    lines = format_metric_tables(
        [PCKMetric(), MaskIoUMetric(), PredictionDump(out_file='x.json')],
        'NSRM', values).splitlines()
    assert lines[0].split() == ['sigma_PCK', '0.10', '0.20', 'ave']
    assert lines[1].split() == ['NSRM', '50.00', '75.00', '62.50']
    assert lines[2] == 'AUC 0.4000   EPE 3.25 px'
    assert lines[3].split() == ['model', 'IoU@0.5', 'IoU_best']
    assert lines[4].split() == ['NSRM', '0.600', '0.700']
    assert lines[5] == 'IoU_best at threshold 0.45'
    assert len(lines) == 6
