"""Write synthetic hands to disk as a COCO-style keypoint dataset.

    python tools/make_synthetic.py --out data/synthetic --num 1000 \
        --split train

Layout (read it back with ``CocoHandDataset(ann_file=
'annotations/synthetic_train.json', data_root=DIR, data_prefix=dict(
img='images/'))``):

    DIR/images/<split>_<index:06d>.jpg
    DIR/annotations/synthetic_<split>.json      COCO keypoints, v = 2 visible,
                                                1 occluded, 0 outside the image
    DIR/depth/<split>_<index:06d>.png           with --depth: uint16, mm
    DIR/annotations/synthetic_<split>_3d.json   with --depth: image id ->
                                                {keypoints_3d (21x3 mm), cam_K}

Sample ``i`` is the one ``SyntheticHandDataset(split=..., seed=...)[i]``
renders.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import cv2
import numpy as np

from handkit.datasets.synthetic.renderer import render_hand
from handkit.datasets.synthetic_dataset import SPLIT_KEYS, sample_seed
from handkit.fileio import write_json
from handkit.skeleton import KEYPOINT_NAMES, LIMBS

JPEG_QUALITY = 95


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--num', type=int, required=True,
                        help='number of samples')
    parser.add_argument('--split', default='train', choices=list(SPLIT_KEYS))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--image-size', type=int, default=368,
                        help='side of the square images in pixels')
    parser.add_argument('--occlusion', type=float, default=0.3,
                        help='0..1, amount of occluders in front of the hand')
    parser.add_argument('--depth', action='store_true',
                        help='also write depth PNGs and the 3D annotations')
    args = parser.parse_args(argv)
    if args.num < 0:
        parser.error(f'--num must be >= 0, got {args.num}')
    if args.seed < 0:
        parser.error(f'--seed must be >= 0, got {args.seed}')
    if not 0.0 <= args.occlusion <= 1.0:
        parser.error(f'--occlusion must be in [0, 1], got {args.occlusion}')
    return args


def coco_annotation(sample: Dict[str, np.ndarray], image_id: int) -> dict:
    """COCO keypoint annotation of one rendered sample."""
    keypoints = sample['keypoints'].astype(np.float64)
    inside = sample['keypoints_visible'] > 0
    flag = np.where(inside, np.where(sample['occluded'], 1, 2), 0)
    labelled = keypoints[inside] if inside.any() else keypoints
    x1, y1 = labelled.min(0)
    x2, y2 = labelled.max(0)
    # COCO convention: unlabelled keypoints are (0, 0, 0).
    triplets = np.concatenate(
        [np.where(inside[:, None], keypoints, 0.0), flag[:, None]], 1)
    return dict(
        id=image_id,
        image_id=image_id,
        category_id=1,
        bbox=[float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
        area=float((x2 - x1) * (y2 - y1)),
        iscrowd=0,
        num_keypoints=int(inside.sum()),
        keypoints=[float(v) if i % 3 < 2 else int(v)
                   for i, v in enumerate(triplets.ravel())],
    )


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    for folder in ('images', 'annotations') + (('depth', ) if args.depth
                                               else ()):
        os.makedirs(osp.join(args.out, folder), exist_ok=True)
    size = (args.image_size, args.image_size)
    images, annotations, annotations_3d = [], [], {}
    report_every = max(-(-args.num // 10), 1)  # about every 10%
    for index in range(args.num):
        sample = render_hand(sample_seed(args.seed, args.split, index), size,
                             'rgb', args.occlusion)
        name = f'{args.split}_{index:06d}'
        image_path = osp.join(args.out, 'images', f'{name}.jpg')
        if not cv2.imwrite(image_path, sample['image'],
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f'could not write {image_path}')
        record = dict(file_name=f'{name}.jpg', width=args.image_size,
                      height=args.image_size, id=index)
        if args.depth:
            depth_path = osp.join(args.out, 'depth', f'{name}.png')
            depth_mm = np.clip(np.round(sample['depth']), 0, 65535)
            if not cv2.imwrite(depth_path, depth_mm.astype(np.uint16)):
                raise OSError(f'could not write {depth_path}')
            record['depth_file_name'] = f'{name}.png'
            annotations_3d[str(index)] = dict(
                keypoints_3d=sample['keypoints_3d'].astype(float).tolist(),
                cam_K=sample['cam_K'].astype(float).tolist())
        images.append(record)
        annotations.append(coco_annotation(sample, index))
        if (index + 1) % report_every == 0 or index + 1 == args.num:
            print(f'{index + 1}/{args.num} samples written', flush=True)

    coco = dict(
        info=dict(description=f'handkit synthetic hands, split '
                  f'{args.split}, seed {args.seed}'),
        images=images,
        annotations=annotations,
        categories=[dict(
            supercategory='hand', id=1, name='hand',
            keypoints=list(KEYPOINT_NAMES),
            # COCO numbers keypoints from 1 in the skeleton.
            skeleton=(LIMBS + 1).tolist())],
    )
    ann_path = osp.join(args.out, 'annotations',
                        f'synthetic_{args.split}.json')
    write_json(ann_path, coco)  # atomically, as every file a run reads
    print(f'annotations: {ann_path}')
    if args.depth:
        path_3d = osp.join(args.out, 'annotations',
                           f'synthetic_{args.split}_3d.json')
        write_json(path_3d, annotations_3d)
        print(f'3D annotations: {path_3d}')


if __name__ == '__main__':
    sys.exit(main())
