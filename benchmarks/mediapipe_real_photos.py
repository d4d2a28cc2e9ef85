"""MediaPipe Hands in handkit on the real photos of tests/data: detection,
keypoints, the mean pose beside them, and a picture.

    python benchmarks/mediapipe_real_photos.py [--out docs/images/...png]
        [--quickstart CHECKPOINT]

Every annotated hand of ``tests/data/onehand10k_coco`` (4 photos, one hand
each) and ``tests/data/panoptic_coco`` (2 photos, 1280 x 720 and 400 x 300,
each annotated once for its left and once for its right hand: 4 hands) is
scored two ways:

* **whole image**: :class:`handkit.apis.HandInferencer` on the full photo;
  the predicted hand whose keypoint box overlaps the annotated one most is
  matched (IoU of the keypoint boxes; a hand with IoU < 0.5 counts as
  missed and scores PCK 0);
* **true crop**: the landmark model alone on the ROI that MediaPipe's
  tracking takes from the annotated keypoints (the "real crops").

PCK at 0.10-0.30 of the longer side of the annotated keypoints' box, as
``benchmarks/real_photos.py`` scores the quickstart model, with the mean
pose of the quickstart's synthetic training crops placed in each true box
beside it. ``--quickstart CKPT`` adds the quickstart model (NSRM on
synthetic hands) on the true crop and behind MediaPipe's detector.
``--ge-real-world DIR`` scores the same on Ge et al.'s 583 real-world
photos (not shipped with handkit; ``GeRealWorldDataset``).
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from handkit.apis import HandInferencer, init_model
from handkit.apis.hand_inferencer import landmarks_to_roi
from handkit.codecs.mediapipe_palm import box_iou
from handkit.datasets.coco import CocoHandDataset
from handkit.datasets.transforms.loading import LoadImage
from handkit.evaluation.functional import pck_metrics
from handkit.evaluation.mean_pose import mean_pose_predictions
from handkit.evaluation.metrics import format_pck_table
from handkit.visualization.draw import draw_skeleton, image_grid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'benchmarks'))
from real_photos import ge_real_world_cfg  # noqa: E402
REAL = ROOT / 'tests' / 'data'
PHOTOS = (('onehand10k_coco', 'test_onehand10k.json'),
          ('panoptic_coco', 'test_panoptic.json'))
QUICKSTART = ROOT / 'configs' / 'quickstart' / 'nsrm_lpm_g1g6_synthetic.py'
THRESHOLDS = [0.10, 0.15, 0.20, 0.25, 0.30]
BOX = (255, 255, 255)


def annotated_hands():
    """Every annotated hand: (image path, keypoints (21, 2), visible (21,))
    and the CocoHandDataset config of each folder."""
    hands, configs = [], []
    for folder, ann_file in PHOTOS:
        dataset = CocoHandDataset(ann_file=str(REAL / folder / ann_file),
                                  data_prefix=dict(img=str(REAL / folder)))
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            hands.append((info['img_path'], info['keypoints'],
                          info['keypoints_visible']))
        configs.append(dict(type='CocoHandDataset',
                            data_root=str(REAL / folder), ann_file=ann_file,
                            split='test', test_mode=True))
    return hands, configs


def keypoint_box(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points.min(0), points.max(0)])


def match(found: list, truth: np.ndarray, visible: np.ndarray):
    """(keypoints (21, 2), IoU) of the found hand whose keypoint box
    overlaps the true keypoint box most; (None, 0) when none overlaps.
    (A hand with few labelled keypoints has a small true box: IoU alone
    would call a right hand missed.)"""
    if not found:
        return None, 0.0
    box = keypoint_box(truth[visible > 0])[None]
    ious = box_iou(box, np.stack([hand['bbox'] for hand in found]))[0]
    best = int(np.argmax(ious))
    if ious[best] <= 0:
        return None, 0.0
    return found[best]['keypoints'], float(ious[best])


def score(rows: dict, name: str, preds: list, gts: list, visibles: list):
    """PCK of ``preds`` (a missed hand: a prediction far off)."""
    pred = np.stack([p if p is not None else np.full((21, 2), -1e6)
                     for p in preds])
    rows[name] = pck_metrics(pred, np.stack(gts), np.stack(visibles),
                             THRESHOLDS)


def ge_real_world(data_root: str, quickstart: str = None) -> None:
    """MediaPipe full (handkit's default and MediaPipe's single-image graph,
    on LiteRT: the same hands as PyTorch) on Ge et al.'s 583 real-world
    photos, each whole 256 x 256 photo in, matched and scored as above;
    with ``quickstart``, that model behind the detector and in the true
    box; the quickstart's mean pose in the true box."""
    from handkit.apis import inference
    from handkit.datasets import GeRealWorldDataset
    dataset = GeRealWorldDataset(data_root)
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    gts = [info['keypoints'] for info in infos]
    visibles = [info['keypoints_visible'] for info in infos]
    load = LoadImage()
    rows, detected = {}, {}
    runs = [('MediaPipe full, whole image', dict(backend='litert')),
            ("MediaPipe full, whole image, MediaPipe's single-image graph",
             dict(backend='litert', refine=0, tiles=False))]
    model = None
    if quickstart:
        model = init_model(str(QUICKSTART), quickstart)
        runs.append(('quickstart NSRM behind the detector',
                     dict(backend='litert', pose=model)))
    for name, options in runs:
        inferencer = HandInferencer(**options)
        matched = [match(inferencer(load.transform(dict(
            img_path=info['img_path']))['img']), truth, visible)
            for info, truth, visible in zip(infos, gts, visibles)]
        score(rows, name, [m[0] for m in matched], gts, visibles)
        detected[name] = sum(m[1] >= 0.5 for m in matched)
    if model is not None:
        preds = [inference(model, info['img_path'],
                           bbox=keypoint_box(truth))['keypoints']
                 for info, truth in zip(infos, gts)]
        score(rows, 'quickstart NSRM, true box', preds, gts, visibles)
    cfg = init_model(str(QUICKSTART), None).cfg
    rows['mean pose in the true box'] = pck_metrics(*mean_pose_predictions(
        cfg, test_dataset=ge_real_world_cfg(cfg, data_root)), THRESHOLDS)
    print(f"\n{len(infos)} hands of Ge et al.'s real-world test set (one "
          "person's left hand), PCK in % of the keypoint box:")
    print(format_pck_table(list(rows.items()), THRESHOLDS))
    for name, count in detected.items():
        print(f'{name}: {count}/{len(infos)} hands detected (IoU >= 0.5)')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out',
                        default='work_dirs/mediapipe_real_photos.png')
    parser.add_argument('--quickstart', metavar='CHECKPOINT',
                        help='also score the quickstart model')
    parser.add_argument('--ge-real-world', metavar='DIR',
                        help="also Ge et al.'s 583 real-world photos (the "
                        'real_world_testset folder of '
                        'github.com/3d-hand-shape/hand-graph-cnn)')
    args = parser.parse_args(argv)
    hands, dataset_cfgs = annotated_hands()
    gts = [truth for _, truth, _ in hands]
    visibles = [visible for _, _, visible in hands]
    load = LoadImage()
    images = {path: load.transform(dict(img_path=path))['img']
              for path, _, _ in hands}
    rows, ious, drawn = {}, {}, {}
    for variant in ('full', 'lite'):
        for label, options in (('', {}), (", MediaPipe's single-image graph",
                                          dict(refine=0, tiles=False))):
            inferencer = HandInferencer(variant=variant, **options)
            found = {path: inferencer(image)
                     for path, image in images.items()}
            name = f'MediaPipe {variant}, whole image{label}'
            matched = [match(found[path], truth, visible)
                       for path, truth, visible in hands]
            score(rows, name, [m[0] for m in matched], gts, visibles)
            ious[name] = [m[1] for m in matched]
            if variant == 'full' and not label:
                drawn = found
                matched_full = [m[0] if m[0] is not None else
                                np.full((21, 2), -1e6) for m in matched]
        inferencer = HandInferencer(variant=variant)
        crops, refined = [], []
        for path, truth, visible in hands:
            roi = landmarks_to_roi(np.where(visible[:, None] > 0, truth,
                                            truth[visible > 0].mean(0))[None])
            points = inferencer.estimate_landmarks(images[path],
                                                   *roi)['keypoints']
            crops.append(points[0])
            for _ in range(inferencer.refine):  # the tracking ROI again
                points = inferencer.estimate_landmarks(
                    images[path], *landmarks_to_roi(points))['keypoints']
            refined.append(points[0])
        score(rows, f'MediaPipe {variant}, true crop', crops, gts, visibles)
        score(rows, f'MediaPipe {variant}, true crop, refined', refined, gts,
              visibles)
    if args.quickstart:
        model = init_model(str(QUICKSTART), args.quickstart)
        behind = HandInferencer(pose=model)
        preds = [match(behind(images[path]), truth, visible)[0]
                 for path, truth, visible in hands]
        score(rows, 'quickstart NSRM behind the detector', preds, gts,
              visibles)
        from handkit.apis import inference
        preds = [inference(model, images[path],
                           bbox=keypoint_box(truth[visible > 0]))['keypoints']
                 for path, truth, visible in hands]
        score(rows, 'quickstart NSRM, true box', preds, gts, visibles)
    cfg = init_model(str(QUICKSTART), None).cfg
    mean = [mean_pose_predictions(cfg, test_dataset=dict(
        dataset, pipeline=dict(cfg.test_dataloader.dataset.pipeline,
                               load=dict(type='LoadImage'))))
            for dataset in dataset_cfgs]
    rows['mean pose in the true box'] = pck_metrics(
        *(np.concatenate(parts) for parts in zip(*mean)), THRESHOLDS)
    print(f'{len(hands)} annotated hands in {len(images)} image files '
          '(tests/data; Panoptic annotates each of its 2 photos twice), PCK '
          'in % of the keypoint box:')
    print(format_pck_table(list(rows.items()), THRESHOLDS))
    for name, values in ious.items():
        found = sum(value >= 0.5 for value in values)
        print(f'{name}: {found}/{len(values)} hands detected (IoU >= 0.5), '
              f"IoU {' '.join(f'{v:.2f}' for v in values)}")
    for folder, _ in PHOTOS:  # the two goals, per set
        chosen = [index for index, (path, _, _) in enumerate(hands)
                  if f'/{folder}/' in path]
        pck = pck_metrics(np.stack([matched_full[i] for i in chosen]),
                          np.stack([gts[i] for i in chosen]),
                          np.stack([visibles[i] for i in chosen]), [0.2])
        print(f"MediaPipe full, whole image, {folder}: PCK@0.2 "
              f"{100 * pck['PCK@0.2']:.2f} over {len(chosen)} hands")
    panels, seen = [], []
    for path, image in images.items():
        if any(image.shape == other.shape and np.array_equal(image, other)
               for other in seen):
            continue  # Panoptic's photo annotated for its other hand
        seen.append(image)
        canvas = image.copy()
        for hand in drawn[path]:
            canvas = draw_skeleton(canvas, hand['keypoints'])
            x1, y1, x2, y2 = np.round(hand['bbox']).astype(int).tolist()
            cv2.rectangle(canvas, (x1, y1), (x2, y2), BOX, 1)
            cv2.putText(canvas, hand['handedness'], (x1, max(12, y1 - 4)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, BOX, 1)
        scale = 360 / canvas.shape[0]
        panels.append(cv2.resize(canvas, None, fx=scale, fy=scale,
                                 interpolation=cv2.INTER_AREA))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    gap = np.zeros((panels[0].shape[0], 4, 3), np.uint8)
    rows_of = [panels[:4], panels[4:]]  # OneHand10K, then Panoptic
    strips = [np.hstack([part for panel in row for part in (panel, gap)])
              for row in rows_of if row]
    cv2.imwrite(args.out, image_grid(strips, cols=1))
    print(f'drawings: {args.out}')
    if args.ge_real_world:
        ge_real_world(args.ge_real_world, args.quickstart)


if __name__ == '__main__':
    main()
