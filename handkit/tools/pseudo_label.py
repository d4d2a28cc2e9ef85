"""Label a user's own hand photos with a teacher: COCO-style keypoints that
handkit's COCO adapter reads.

    python tools/pseudo_label.py photos/ --out photos/labels.json
    python tools/pseudo_label.py photos/ --out labels.json \\
        --min-score 0.8 --variant lite

The teacher is :class:`handkit.apis.HandInferencer` (MediaPipe Hands' palm
detector and landmark model, converted by ``tools/convert_mediapipe.py``;
``--pose CONFIG CHECKPOINT`` puts a handkit model behind the detector).
This is the pseudo-ground-truth step of Ge et al. (CVPR 2019, Section 4.2:
a model's predictions on unlabelled real images become training labels):
a handkit model can then be fine-tuned on the photos with
``CocoHandDataset(ann_file='labels.json', data_prefix=dict(img=...))``.

The file holds ``images`` (``file_name`` relative to the image folder,
``width``, ``height``, ``id``), ``annotations`` (``image_id``, ``bbox``
[x, y, w, h] of the keypoints, ``keypoints`` 21 x (x, y, v) flat in
handkit's order with v = 2, ``num_keypoints``, ``score`` (the hand's mean
keypoint score), ``keypoint_scores``, ``handedness``,
``handedness_score``) and one category ``hand`` with handkit's keypoint
names and skeleton. Hands whose score is below ``--min-score`` are dropped
(their count is printed); an image without a kept hand stays in
``images`` (a hard negative). A file that is not an image is skipped with
its reason.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import numpy as np

from handkit.apis.hand_inferencer import VARIANTS, HandInferencer
from handkit.datasets.transforms.loading import LoadImage
from handkit.engine.errors import user_errors_exit
from handkit.engine.outputs import check_output_file, make_parent_dir
from handkit.fileio import write_json
from handkit.skeleton import KEYPOINT_NAMES, LIMBS, NUM_KEYPOINTS

PROGRESS_EVERY = 25  # images between progress lines


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write COCO-style keypoint labels of hand photos, '
        'predicted by a teacher (MediaPipe Hands by default)')
    parser.add_argument('images', help='an image or a folder of images')
    parser.add_argument('--out', required=True, help='the labels (JSON)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out')
    parser.add_argument('--min-score', type=float, default=0.7,
                        help='drop hands whose mean keypoint score is lower '
                        '(default 0.7)')
    parser.add_argument('--variant', choices=VARIANTS, default='full',
                        help="MediaPipe's model variant (default full)")
    parser.add_argument('--max-hands', type=int, default=2,
                        help='at most this many hands per image (default 2)')
    parser.add_argument('--pose', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='a handkit model that predicts the keypoints of '
                        "each detected hand instead of MediaPipe's")
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    args = parser.parse_args(argv)
    if not 0 <= args.min_score <= 1:
        parser.error(f'--min-score must be in [0, 1], got {args.min_score}')
    return args


def list_images(source: str) -> List[str]:
    """``source`` itself, or the files of a folder (sorted, not recursive)."""
    if not osp.exists(source):
        raise FileNotFoundError(f'images not found: {source}')
    if not osp.isdir(source):
        return [source]
    return [osp.join(source, name) for name in sorted(os.listdir(source))
            if osp.isfile(osp.join(source, name))]


def hand_annotation(hand: dict, image_id: int, annotation_id: int) -> dict:
    """One COCO annotation of a predicted hand."""
    points = np.asarray(hand['keypoints'], np.float64)
    scores = np.asarray(hand['scores'], np.float64)
    x1, y1 = points.min(0)
    x2, y2 = points.max(0)
    triplets = np.concatenate([points, np.full((NUM_KEYPOINTS, 1), 2.0)], 1)
    return dict(
        id=annotation_id, image_id=image_id, category_id=1, iscrowd=0,
        bbox=[round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)],
        area=round(float((x2 - x1) * (y2 - y1)), 2),
        keypoints=[round(float(v), 2) for v in triplets.reshape(-1)],
        num_keypoints=NUM_KEYPOINTS,
        score=round(float(scores.mean()), 4),
        keypoint_scores=[round(float(v), 4) for v in scores],
        handedness=hand['handedness'],
        handedness_score=round(float(hand['handedness_score']), 4))


def pseudo_label(paths: List[str], root: str, teacher: HandInferencer,
                 min_score: float) -> dict:
    """The COCO dict of the hands ``teacher`` finds in ``paths``
    (``file_name`` relative to ``root``)."""
    images, annotations, dropped, skipped = [], [], 0, 0
    load = LoadImage()
    for index, path in enumerate(paths, start=1):
        try:
            image = load.transform(dict(img_path=path))['img']
        except ValueError as error:  # not an image, over the pixel limit
            print(f'skipped {path}: {error}')
            skipped += 1
            continue
        image_id = len(images) + 1
        images.append(dict(id=image_id,
                           file_name=osp.relpath(path, root),
                           height=int(image.shape[0]),
                           width=int(image.shape[1])))
        for hand in teacher(image):
            if float(np.mean(hand['scores'])) < min_score:
                dropped += 1
                continue
            annotations.append(hand_annotation(hand, image_id,
                                               len(annotations) + 1))
        if index % PROGRESS_EVERY == 0:
            print(f'{index}/{len(paths)} images, {len(annotations)} hands',
                  flush=True)
    print(f'{len(images)} images, {len(annotations)} hands kept, {dropped} '
          f'below --min-score {min_score}, {skipped} files skipped')
    return dict(
        images=images, annotations=annotations,
        categories=[dict(id=1, name='hand', supercategory='hand',
                         keypoints=list(KEYPOINT_NAMES),
                         skeleton=[[int(a) + 1, int(b) + 1]
                                   for a, b in LIMBS])])


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    with user_errors_exit():
        paths = list_images(args.images)
        out = check_output_file(args.out, paths, overwrite=args.overwrite)
        teacher = HandInferencer(
            pose=tuple(args.pose) if args.pose else None,
            variant=args.variant, device=args.device,
            max_hands=args.max_hands)
        root = args.images if osp.isdir(args.images) else osp.dirname(
            osp.abspath(args.images))
        labels = pseudo_label(paths, root, teacher, args.min_score)
        if not labels['images']:
            print(f'handkit: error: no images in {args.images}',
                  file=sys.stderr)
            sys.exit(2)
        make_parent_dir(out)
        write_json(out, labels)
    print(f'wrote {args.out}')
    return labels


if __name__ == '__main__':
    main()
