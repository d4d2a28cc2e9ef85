"""A model trained on synthetic hands, on the real hand photos of tests/data.

    python benchmarks/real_photos.py CONFIG CHECKPOINT [--out real.png]
        [--ge-real-world PATH/real_world_testset]

Crops each annotated hand of ``tests/data/onehand10k_coco`` and
``tests/data/panoptic_coco`` (4 + 4 real photos, MMPose's test samples) with
the config's own test pipeline (the keypoint box, its padding and input
size; the image read from disk), predicts, prints PCK at the config's
thresholds next to the mean pose of the config's training crops mapped into
the same crops, and draws every crop with the ground truth (white) under the
prediction. Eight hands say little about accuracy; the picture shows what a
model that has only seen the renderer does on photos.

``--ge-real-world`` adds Ge et al.'s real-world test set (583 photos of one
person's left hand in front of shop shelves, 256 x 256, 3D joints; in their
repository github.com/3d-hand-shape/hand-graph-cnn,
``data/real_world_testset``, non-commercial licence; not shipped with
handkit): the same PCK over all of them, each crop the keypoint box as for
tests/data.
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


def reading_images(cfg) -> dict:
    """``cfg``'s test pipeline with ``LoadImage`` as its first step (a
    synthetic config's pipeline renders and has none)."""
    steps = dict(cfg.test_dataloader.dataset.pipeline)
    steps.pop('load', None)
    return dict(load=dict(type='LoadImage'), **steps)


def real_dataset_cfg(cfg, folder: str, ann_file: str) -> dict:
    """The real photos as a CocoHandDataset through ``cfg``'s test
    pipeline, reading the image files."""
    return dict(type='CocoHandDataset', data_root=str(REAL / folder),
                ann_file=ann_file, split='test', test_mode=True,
                pipeline=reading_images(cfg))


def ge_real_world_cfg(cfg, data_root: str) -> dict:
    """Ge et al.'s 583 real-world photos (``GeRealWorldDataset``) through
    ``cfg``'s test pipeline, reading the image files."""
    return dict(type='GeRealWorldDataset', data_root=str(data_root),
                test_mode=True, pipeline=reading_images(cfg))


def thresholds_of(cfg) -> list:
    thresholds = cfg.val_evaluator.get('thresholds') if isinstance(
        cfg.val_evaluator, dict) else None
    return thresholds or [0.10, 0.15, 0.20, 0.25, 0.30]


def predict_dataset(model, dataset_cfg: dict, draw: int = 0,
                    batch_size: int = 32, mean_pose: bool = True) -> tuple:
    """(prediction dicts, panels of the first ``draw`` samples, the mean
    pose's (pred, gt, visible) or None) of ``model`` on a dataset
    config."""
    dataset = DATASETS.build(dataset_cfg)
    predictions, panels = [], []
    for start in range(0, len(dataset), batch_size):
        samples = [dataset[index] for index in range(
            start, min(start + batch_size, len(dataset)))]
        with torch.no_grad():
            results = model(**model.data_preprocessor(hand_collate(samples),
                                                      False),
                            mode='predict')
        predictions += results
        for sample, result in zip(samples, results):
            if len(panels) >= draw:
                break
            # the network input, drawn at 2 x its size
            crop = cv2.resize(sample['inputs'].permute(1, 2, 0).numpy(),
                              None, fx=2, fy=2,
                              interpolation=cv2.INTER_CUBIC)
            frame = to_input_frame(result)
            for key in ('pred_keypoints', 'gt_keypoints'):
                frame[key] = 2 * np.asarray(frame[key])
            panels.append(draw_prediction(crop, frame, draw_maps=False))
    if mean_pose:
        mean_pose = mean_pose_predictions(model.cfg,
                                          test_dataset=dataset_cfg)
    return predictions, panels, mean_pose or None


def score(predictions: list, mean_pose: list, thresholds: list) -> dict:
    """PCK rows of the model and of the mean pose over the predictions."""
    pred, gt, visible = (np.stack([p[key] for p in predictions])
                         for key in ('pred_keypoints', 'gt_keypoints',
                                     'gt_keypoints_visible'))
    return {'model': pck_metrics(pred, gt, visible, thresholds),
            'mean pose': pck_metrics(
                *(np.concatenate(parts) for parts in zip(*mean_pose)),
                thresholds)}


def evaluate_real_crops(model) -> dict:
    """``model`` (from :func:`handkit.apis.init_model`) on every annotated
    hand of tests/data: ``rows`` (model and mean pose PCK), ``thresholds``,
    ``count`` and the drawn ``panels``."""
    thresholds = thresholds_of(model.cfg)
    predictions, panels, mean_pose = [], [], []
    for folder, ann_file in PHOTOS:
        found, drawn, mean = predict_dataset(
            model, real_dataset_cfg(model.cfg, folder, ann_file), draw=99)
        predictions += found
        panels += drawn
        mean_pose.append(mean)
    return dict(rows=score(predictions, mean_pose, thresholds),
                thresholds=thresholds, count=len(predictions),
                panels=panels)


def evaluate_ge_real_world(model, data_root: str, draw: int = 8) -> dict:
    """The same on Ge et al.'s real-world test set (583 photos of one
    person's left hand; ``GeRealWorldDataset``), the first ``draw``
    crops drawn."""
    thresholds = thresholds_of(model.cfg)
    predictions, panels, mean_pose = predict_dataset(
        model, ge_real_world_cfg(model.cfg, data_root), draw=draw)
    return dict(rows=score(predictions, [mean_pose], thresholds),
                thresholds=thresholds, count=len(predictions),
                panels=panels)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default='work_dirs/real_photos.png')
    parser.add_argument('--ge-real-world', metavar='DIR',
                        help="also Ge et al.'s real-world test set (the "
                        'real_world_testset folder of their repository)')
    args = parser.parse_args(argv)
    model = init_model(args.config, args.checkpoint)
    real = evaluate_real_crops(model)
    print(f'{real["count"]} real hands (tests/data), PCK in %:')
    print(format_pck_table(list(real['rows'].items()), real['thresholds']))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, image_grid(real['panels'], cols=4))
    print(f'drawings: {args.out}')
    if args.ge_real_world:
        ge = evaluate_ge_real_world(model, args.ge_real_world)
        print(f"{ge['count']} real hands (Ge et al.'s real-world test set), "
              'PCK in %:')
        print(format_pck_table(list(ge['rows'].items()), ge['thresholds']))


if __name__ == '__main__':
    main()
