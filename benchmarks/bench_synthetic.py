"""Throughput of the synthetic hand renderer (images per second, one core).

    OMP_NUM_THREADS=1 python benchmarks/bench_synthetic.py [--num 200]

Renders ``--num`` images per setting (rgb and depth, 368 and 128 pixels, the
default occlusion of SyntheticHandDataset) and prints images per second next
to the target: 100 images/s for 368 x 368 on one core, so that data loading
never starves a CPU training run.
"""
import argparse
import time

import cv2

from handkit.datasets.synthetic.renderer import render_hand

TARGET_IMAGES_PER_SECOND = 100.0
SETTINGS = (('rgb', 368), ('depth', 368), ('rgb', 128), ('depth', 128))
OCCLUSION = 0.3


def images_per_second(modality, size, num):
    render_hand(0, size, modality, OCCLUSION)  # warm up imports and caches
    start = time.perf_counter()
    for seed in range(num):
        render_hand(seed, size, modality, OCCLUSION)
    return num / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=200,
                        help='images per setting')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    cv2.setNumThreads(1)
    print(f'{"modality":<9}{"size":>6}{"images/s":>10}{"target":>9}')
    for modality, size in SETTINGS:
        rate = images_per_second(modality, size, args.num)
        target = f'{TARGET_IMAGES_PER_SECOND:.0f}' if size == 368 else '-'
        print(f'{modality:<9}{size:>6}{rate:>10.1f}{target:>9}')


if __name__ == '__main__':
    main()
