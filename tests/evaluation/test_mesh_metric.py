"""MeshMetric against faithful numpy transcriptions of the official
evaluation routines, on fixed random cases (equal to 1e-9).

The transcriptions below are written here, in our words, from:

* FreiHAND (lmb-freiburg/freihand, commit 5ea4ab9, ``eval.py`` and
  ``utils/eval_util.py``): ``align_w_scale`` (eval.py lines 71-94),
  ``calculate_fscore`` (lines 51-68; open3d's point-cloud distance is the
  nearest-neighbour distance, computed here by brute force), the main loop
  (lines 215-276: unaligned and aligned joint / mesh errors fed to
  ``EvalUtil``, F-scores at 5 and 15 mm, ``get_measures(0.0, 0.05, 100)``
  at lines 278-291) and ``EvalUtil`` (eval_util.py lines 14-94: per
  keypoint error lists, PCK with ``<=``, trapezoid AUC normalised by the
  threshold span, means over keypoints). FreiHAND works in metres: the
  transcription gets metres and its results are compared in mm.
* Ge et al. (3d-hand-shape/hand-graph-cnn, commit 2f59da3): the true root
  (``pose_root``, the wrist after ``palm2wrist``, STB_dataset.py line 86)
  and scale (``compute_hand_scale``, lines 139-145: |mid_02 - mid_01|)
  are given; the network's scale-free pose is placed with them
  (shape_pose_network.py lines 106-107); ``evaluate_pose`` (lines
  147-153; real_world_testset.py lines 56-62) averages over frames the
  mean joint error.
"""
import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes

from handkit.evaluation.functional3d import (f_scores, procrustes_align,
                                             root_scale_align)
from handkit.registry import METRICS


# --- FreiHAND, transcribed -------------------------------------------------

def official_align_w_scale(mtx1, mtx2):
    """eval.py ``align_w_scale``: mtx2 (prediction) aligned to mtx1."""
    t1, t2 = mtx1.mean(0), mtx2.mean(0)
    mtx1_t, mtx2_t = mtx1 - t1, mtx2 - t2
    s1 = np.linalg.norm(mtx1_t) + 1e-8
    mtx1_t = mtx1_t / s1
    s2 = np.linalg.norm(mtx2_t) + 1e-8
    mtx2_t = mtx2_t / s2
    rotation, scale = orthogonal_procrustes(mtx1_t, mtx2_t)
    return np.dot(mtx2_t, rotation.T) * scale * s1 + t1


def nearest(a, b):
    """For each point of a, the distance to its nearest point of b."""
    return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)).min(1)


def official_fscore(gt, pr, th):
    """eval.py ``calculate_fscore`` (its names: d1 gt -> pred, d2 pred ->
    gt; 'recall' from d2, 'precision' from d1)."""
    d1, d2 = nearest(gt, pr), nearest(pr, gt)
    if len(d1) and len(d2):
        recall = float(sum(d < th for d in d2)) / float(len(d2))
        precision = float(sum(d < th for d in d1)) / float(len(d1))
        if recall + precision > 0:
            return 2 * recall * precision / (recall + precision)
        return 0.0
    return 0.0


class OfficialEvalUtil:
    """utils/eval_util.py ``EvalUtil``."""

    def __init__(self, num_kp):
        self.data = [[] for _ in range(num_kp)]

    def feed(self, gt, vis, pred):
        dist = np.sqrt(np.sum(np.square(gt - pred), axis=1))
        for i in range(gt.shape[0]):
            if vis[i]:
                self.data[i].append(dist[i])

    def get_measures(self, val_min, val_max, steps):
        thresholds = np.linspace(val_min, val_max, steps)
        norm = np.trapezoid(np.ones_like(thresholds), thresholds)
        means, aucs = [], []
        for part in self.data:
            if not part:
                continue
            data = np.array(part)
            means.append(np.mean(data))
            curve = np.array([np.mean((data <= t).astype(float))
                              for t in thresholds])
            aucs.append(np.trapezoid(curve, thresholds) / norm)
        return np.mean(means), np.mean(aucs)


def official_freihand(xyz_list, verts_list, xyz_pred, verts_pred):
    """eval.py ``main``'s loop and measures (metres in, mm / fractions
    out)."""
    num_kp, num_v = xyz_list.shape[1], verts_list.shape[1]
    e_xyz, e_xyz_al = OfficialEvalUtil(num_kp), OfficialEvalUtil(num_kp)
    e_mesh, e_mesh_al = OfficialEvalUtil(num_v), OfficialEvalUtil(num_v)
    f_score, f_score_al = [], []
    for xyz, verts, xyz_p, verts_p in zip(xyz_list, verts_list, xyz_pred,
                                         verts_pred):
        e_xyz.feed(xyz, np.ones(num_kp), xyz_p)
        e_mesh.feed(verts, np.ones(num_v), verts_p)
        xyz_p_al = official_align_w_scale(xyz, xyz_p)
        verts_p_al = official_align_w_scale(verts, verts_p)
        e_xyz_al.feed(xyz, np.ones(num_kp), xyz_p_al)
        e_mesh_al.feed(verts, np.ones(num_v), verts_p_al)
        f_score.append([official_fscore(verts, verts_p, t)
                        for t in (0.005, 0.015)])
        f_score_al.append([official_fscore(verts, verts_p_al, t)
                           for t in (0.005, 0.015)])
    out = {}
    for name, util in (('J', e_xyz), ('PA-J', e_xyz_al), ('V', e_mesh),
                       ('PA-V', e_mesh_al)):
        mean, auc = util.get_measures(0.0, 0.05, 100)
        out[name] = (mean * 1000.0, auc)
    f_score, f_score_al = np.array(f_score).T, np.array(f_score_al).T
    out['F'] = f_score.mean(1)
    out['PA-F'] = f_score_al.mean(1)
    return out


# --- Ge et al., transcribed ------------------------------------------------

def official_ge(pred, gt):
    """Root and scale given (STB_dataset.py / shape_pose_network.py), then
    ``evaluate_pose`` (mean over frames of the mean joint error)."""
    total = 0.0
    for pose_pred, pose_gt in zip(pred, gt):
        pose_root = pose_gt[0]
        pose_scale = np.linalg.norm(pose_gt[10] - pose_gt[9])
        scale_free = (pose_pred - pose_pred[0]) / np.linalg.norm(
            pose_pred[10] - pose_pred[9])
        est = np.concatenate([pose_root[None],
                              pose_root + scale_free[1:] * pose_scale])
        total += np.sqrt(((est - pose_gt) ** 2).sum(-1)).mean()
    return total / len(pred)


# --- fixed random cases ----------------------------------------------------

def random_case(seed, frames=6, num_v=120):
    """Hands in mm: a true set, a prediction turned, scaled, shifted and
    perturbed (errors spread over the 0-50 mm AUC range and around 5 and
    15 mm)."""
    rng = np.random.default_rng(seed)
    gt_j = rng.normal(0, 40, (frames, 21, 3)) + [0, 0, 600]
    gt_v = rng.normal(0, 40, (frames, num_v, 3)) + [0, 0, 600]
    pred_j, pred_v = [], []
    for f in range(frames):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        scale = rng.uniform(0.8, 1.2)
        shift = rng.normal(0, 20, 3)
        pred_j.append(gt_j[f] @ q.T * scale + shift
                      + rng.normal(0, 6, (21, 3)))
        pred_v.append(gt_v[f] @ q.T * scale + shift
                      + rng.normal(0, 6, (num_v, 3)))
    return gt_j, gt_v, np.array(pred_j), np.array(pred_v)


def small_error_case(seed, frames=5, num_v=150):
    """Predictions close to the truth, so that root-relative F-scores and
    AUCs are far from 0."""
    rng = np.random.default_rng(seed)
    gt_j = rng.normal(0, 40, (frames, 21, 3))
    gt_v = rng.normal(0, 40, (frames, num_v, 3))
    return (gt_j, gt_v, gt_j + rng.normal(0, 5, gt_j.shape) + [3, -2, 4],
            gt_v + rng.normal(0, 5, gt_v.shape) + [3, -2, 4])


def evaluate(metric, gt_j, gt_v, pred_j, pred_v):
    metric.process({}, [dict(pred_keypoints_3d=a, gt_keypoints_3d=b,
                             pred_vertices=c, gt_vertices=d)
                        for a, b, c, d in zip(pred_j, gt_j, pred_v, gt_v)])
    return metric.compute_metrics(metric.results)


def assert_freihand_equal(metrics, official):
    expected = {
        'MPJPE': official['J'][0], 'AUC_J_0-50': official['J'][1],
        'PA-MPJPE': official['PA-J'][0], 'PA-AUC_J_0-50': official['PA-J'][1],
        'MPVPE': official['V'][0], 'AUC_V_0-50': official['V'][1],
        'PA-MPVPE': official['PA-V'][0], 'PA-AUC_V_0-50': official['PA-V'][1],
        'F@5mm': official['PA-F'][0], 'F@15mm': official['PA-F'][1],
        'F@5mm_unaligned': official['F'][0],
        'F@15mm_unaligned': official['F'][1]}
    assert set(metrics) == set(expected)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-9, rel=0), key


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_freihand_absolute_equals_the_official_script(seed):
    gt_j, gt_v, pred_j, pred_v = random_case(seed)
    metrics = evaluate(METRICS.build(dict(type='MeshMetric',
                                          root_relative=False)),
                       gt_j, gt_v, pred_j, pred_v)
    official = official_freihand(gt_j / 1000, gt_v / 1000, pred_j / 1000,
                                 pred_v / 1000)
    assert_freihand_equal(metrics, official)
    assert 0 < metrics['F@15mm'] < 1 and 0 < metrics['PA-AUC_V_0-50'] < 1


@pytest.mark.parametrize('seed', [3, 4])
def test_freihand_root_relative_equals_the_official_script_on_rooted_sets(
        seed):
    gt_j, gt_v, pred_j, pred_v = small_error_case(seed)
    metrics = evaluate(METRICS.build(dict(type='MeshMetric')), gt_j, gt_v,
                       pred_j, pred_v)
    gt_root, pred_root = gt_j[:, :1], pred_j[:, :1]
    official = official_freihand(
        (gt_j - gt_root) / 1000, (gt_v - gt_root) / 1000,
        (pred_j - pred_root) / 1000, (pred_v - pred_root) / 1000)
    assert_freihand_equal(metrics, official)
    assert 0.05 < metrics['F@5mm_unaligned'] < 0.95


def test_procrustes_and_f_score_functions_frame_by_frame():
    gt_j, gt_v, pred_j, pred_v = random_case(5)
    aligned = procrustes_align(pred_v, gt_v, eps=1e-5)
    for frame in range(len(gt_v)):
        np.testing.assert_allclose(
            aligned[frame], 1000 * official_align_w_scale(
                gt_v[frame] / 1000, pred_v[frame] / 1000), rtol=0,
            atol=1e-9)
    f, precision, recall = f_scores(aligned, gt_v, (5, 15))
    for frame in range(len(gt_v)):
        for column, threshold in enumerate((0.005, 0.015)):
            assert f[frame, column] == pytest.approx(official_fscore(
                gt_v[frame] / 1000, aligned[frame] / 1000, threshold),
                abs=1e-12)
    # an exact similarity is undone exactly (eps 0)
    q, _ = np.linalg.qr(np.random.default_rng(6).normal(size=(3, 3)))
    moved = gt_v @ q.T * 1.3 + [5, -7, 9]
    np.testing.assert_allclose(procrustes_align(moved, gt_v, eps=0.0), gt_v,
                               atol=1e-9)
    perfect, p, r = f_scores(gt_v, gt_v, (5, ))
    assert (perfect == 1).all() and (p == 1).all() and (r == 1).all()


@pytest.mark.parametrize('seed', [7, 8])
def test_ge_protocol_equals_the_official_evaluation(seed):
    gt_j, gt_v, pred_j, pred_v = random_case(seed)
    metrics = evaluate(METRICS.build(dict(type='MeshMetric', protocol='ge')),
                       gt_j, gt_v, pred_j, pred_v)
    assert metrics['MPJPE'] == pytest.approx(official_ge(pred_j, gt_j),
                                             abs=1e-9, rel=0)
    # vertices move with the joints' root and scale
    moved = root_scale_align(pred_v, pred_j, gt_j)
    ratio = (np.linalg.norm(gt_j[:, 10] - gt_j[:, 9], axis=-1)
             / np.linalg.norm(pred_j[:, 10] - pred_j[:, 9], axis=-1))
    expected = (pred_v - pred_j[:, :1]) * ratio[:, None, None] + gt_j[:, :1]
    np.testing.assert_allclose(moved, expected, rtol=0, atol=1e-9)
    assert metrics['MPVPE'] == pytest.approx(
        np.sqrt(((expected - gt_v) ** 2).sum(-1)).mean(), abs=1e-9, rel=0)
    assert set(metrics) == {'MPJPE', 'MPVPE', 'AUC_J_0-50', 'AUC_V_0-50',
                            'F@5mm', 'F@15mm'}


def test_joints_only_and_bad_inputs():
    gt_j, _, pred_j, _ = random_case(9)
    metric = METRICS.build(dict(type='MeshMetric'))
    metric.process({}, [dict(pred_keypoints_3d=a, gt_keypoints_3d=b)
                        for a, b in zip(pred_j, gt_j)])
    assert set(metric.compute_metrics(metric.results)) == {
        'MPJPE', 'PA-MPJPE', 'AUC_J_0-50', 'PA-AUC_J_0-50'}
    with pytest.raises(ValueError, match='protocol'):
        METRICS.build(dict(type='MeshMetric', protocol='hand'))
    metric = METRICS.build(dict(type='MeshMetric'))
    metric.process({}, [dict(pred_keypoints_3d=pred_j[0],
                             gt_keypoints_3d=gt_j[0],
                             pred_vertices=np.zeros((10, 3)),
                             gt_vertices=np.zeros((12, 3)))])
    with pytest.raises(ValueError, match='one topology'):
        metric.compute_metrics(metric.results)
    with pytest.raises(KeyError, match='pred_vertices'):
        METRICS.build(dict(type='MeshMetric')).process(
            {}, [dict(pred_keypoints_3d=pred_j[0], gt_keypoints_3d=gt_j[0],
                      gt_vertices=np.zeros((10, 3)))])
