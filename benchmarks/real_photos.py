"""A model trained on synthetic hands, on the real hand photos of tests/data.

    python benchmarks/real_photos.py CONFIG CHECKPOINT [--out real.png]

Crops each annotated hand of ``tests/data/onehand10k_coco`` and
``tests/data/panoptic_coco`` (4 + 4 real photos, MMPose's test samples) with
the config's own test pipeline (the keypoint box, its padding and input
size; the image read from disk), predicts, prints PCK at the config's
thresholds next to the mean pose of the config's training crops mapped into
the same crops, and draws every crop with the ground truth (white) under the
prediction. Eight hands say little about accuracy; the picture shows what a
model that has only seen the renderer does on photos.
"""
import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from handkit.apis import init_model
from handkit.datasets.collate import hand_collate
from handkit.evaluation.functional import pck_metrics
from handkit.evaluation.mean_pose import mean_pose_predictions
from handkit.evaluation.metrics import format_pck_table
from handkit.registry import DATASETS
from handkit.visualization.draw import (draw_prediction, image_grid,
                                        to_input_frame)

REAL = Path(__file__).resolve().parents[1] / 'tests' / 'data'
PHOTOS = (('onehand10k_coco', 'test_onehand10k.json'),
          ('panoptic_coco', 'test_panoptic.json'))


def real_dataset_cfg(cfg, folder: str, ann_file: str) -> dict:
    """The real photos as a CocoHandDataset through ``cfg``'s test
    pipeline, reading the image files."""
    pipeline = dict(cfg.test_dataloader.dataset.pipeline,
                    load=dict(type='LoadImage'))
    return dict(type='CocoHandDataset', data_root=str(REAL / folder),
                ann_file=ann_file, split='test', test_mode=True,
                pipeline=pipeline)


def evaluate_real_crops(model) -> dict:
    """``model`` (from :func:`handkit.apis.init_model`) on every annotated
    hand of tests/data: ``rows`` (model and mean pose PCK), ``thresholds``,
    ``count`` and the drawn ``panels``."""
    cfg = model.cfg
    thresholds = cfg.val_evaluator.get('thresholds') if isinstance(
        cfg.val_evaluator, dict) else None
    thresholds = thresholds or [0.10, 0.15, 0.20, 0.25, 0.30]
    predictions, panels, mean_pose = [], [], []
    for folder, ann_file in PHOTOS:
        dataset_cfg = real_dataset_cfg(cfg, folder, ann_file)
        dataset = DATASETS.build(dataset_cfg)
        samples = [dataset[index] for index in range(len(dataset))]
        with torch.no_grad():
            results = model(**model.data_preprocessor(hand_collate(samples),
                                                      False),
                            mode='predict')
        predictions += results
        mean_pose.append(mean_pose_predictions(cfg,
                                               test_dataset=dataset_cfg))
        for sample, result in zip(samples, results):
            # the network input, drawn at 2 x its size
            crop = cv2.resize(sample['inputs'].permute(1, 2, 0).numpy(),
                              None, fx=2, fy=2,
                              interpolation=cv2.INTER_CUBIC)
            frame = to_input_frame(result)
            for key in ('pred_keypoints', 'gt_keypoints'):
                frame[key] = 2 * np.asarray(frame[key])
            panels.append(draw_prediction(crop, frame, draw_maps=False))
    pred, gt, visible = (np.stack([p[key] for p in predictions])
                         for key in ('pred_keypoints', 'gt_keypoints',
                                     'gt_keypoints_visible'))
    rows = {'model': pck_metrics(pred, gt, visible, thresholds),
            'mean pose': pck_metrics(
                *(np.concatenate(parts) for parts in zip(*mean_pose)),
                thresholds)}
    return dict(rows=rows, thresholds=thresholds, count=len(pred),
                panels=panels)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default='work_dirs/real_photos.png')
    args = parser.parse_args(argv)
    real = evaluate_real_crops(init_model(args.config, args.checkpoint))
    print(f'{real["count"]} real hands (tests/data), PCK in %:')
    print(format_pck_table(list(real['rows'].items()), real['thresholds']))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, image_grid(real['panels'], cols=4))
    print(f'drawings: {args.out}')


if __name__ == '__main__':
    main()
