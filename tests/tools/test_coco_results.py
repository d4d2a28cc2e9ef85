"""``tools/test.py --out`` writes COCO keypoint results that pycocotools
reads and scores, on MMPose's 4 OneHand10K test images (tests/data).

COCOeval's ``iouType='keypoints'`` needs one OKS sigma per keypoint and the
ground truth's ``num_keypoints``: the tests use 21 equal sigmas of 0.025
(COCO has none for hands; MMPose's OneHand10K metric uses PCK, not OKS) and
count ``num_keypoints`` from the labels, which MMPose's file leaves out.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from handkit.datasets.coco import CocoHandDataset
from handkit.engine.config import load_config_file
from handkit.evaluation.metrics.prediction_dump import coco_keypoint_results
from handkit.registry import MODELS
from handkit.tools import test as test_tool
from tiny_setup import exit_code, write_tiny_config

ROOT = Path(__file__).resolve().parents[2]
ONEHAND = ROOT / 'tests' / 'data' / 'onehand10k_coco'
ANN_FILE = ONEHAND / 'test_onehand10k.json'
SIGMAS = np.full(21, 0.025)

# the tools' tiny config (tiny_setup.py) testing on the OneHand10K file
COCO_TEST_LOADER = f"""
_base_ = ['./tiny.py']
test_dataloader = dict(dataset=dict(
    _delete_=True, type='CocoHandDataset', ann_file='{ANN_FILE.name}',
    data_root='{ONEHAND}', split='test',
    pipeline=_base_.test_dataloader.dataset.pipeline))
"""


def ground_truth() -> COCO:
    """The test file as pycocotools reads it, ``num_keypoints`` added."""
    data = json.loads(ANN_FILE.read_text())
    for ann in data['annotations']:
        ann['num_keypoints'] = int(np.count_nonzero(
            np.asarray(ann['keypoints'])[2::3]))
    coco = COCO()
    coco.dataset = data
    coco.createIndex()
    return coco


def evaluate(gt: COCO, results_file: Path) -> np.ndarray:
    dt = gt.loadRes(str(results_file))
    evaluation = COCOeval(gt, dt, iouType='keypoints')
    evaluation.params.kpt_oks_sigmas = SIGMAS
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return evaluation.stats


def test_the_ground_truth_as_results_scores_ap_1(tmp_path):
    """The format is right: the labels written as results are a perfect
    score (x, y in original image pixels, the order of the file)."""
    dataset = CocoHandDataset(str(ANN_FILE.name), data_root=str(ONEHAND),
                              split='test')
    records = [dict(img_id=info['img_id'],
                    pred_keypoints=info['keypoints'].tolist(),
                    pred_scores=np.ones(21).tolist())
               for info in map(dataset.get_data_info, range(len(dataset)))]
    results = coco_keypoint_results(records)
    assert len(results) == 4
    assert all(result['category_id'] == 1 and result['score'] == 1.0
               for result in results)
    out = tmp_path / 'results.json'
    out.write_text(json.dumps(results))
    stats = evaluate(ground_truth(), out)
    assert stats[0] == pytest.approx(1.0)  # AP at OKS 0.50:0.95


def test_test_tool_results_load_and_score_with_pycocotools(tmp_path,
                                                           capsys):
    write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'no_data')
    config = tmp_path / 'coco_tiny.py'
    config.write_text(COCO_TEST_LOADER)
    torch.manual_seed(0)
    checkpoint = tmp_path / 'random.pth'
    torch.save(MODELS.build(load_config_file(config).model).state_dict(),
               checkpoint)
    out = tmp_path / 'out' / 'results.json'
    assert exit_code(test_tool.main, [
        config, checkpoint, '--work-dir', tmp_path / 'work', '--out', out,
        '--check-data', 0]) == 0
    results = json.loads(out.read_text())
    assert sorted({result['image_id'] for result in results}) == [
        9, 33, 784, 1402]
    for result in results:
        assert sorted(result) == ['category_id', 'image_id', 'keypoints',
                                  'score']
        assert len(result['keypoints']) == 63
        scores = np.asarray(result['keypoints'][2::3])
        assert result['score'] == pytest.approx(scores.mean(), abs=1e-4)
    sidecar = json.loads((tmp_path / 'out' /
                          'results.metrics.json').read_text())
    assert 'PCK_ave' in sidecar['metrics']
    stats = evaluate(ground_truth(), out)
    assert len(stats) == 10 and np.all(np.isfinite(stats))
    assert 0.0 <= stats[0] <= 1.0  # a random model: scored, not good
