"""Throughput of the synthetic hand renderer (images per second, one core).

    OMP_NUM_THREADS=1 python benchmarks/bench_synthetic.py [--num 200]
    OMP_NUM_THREADS=1 python benchmarks/bench_synthetic.py --mesh

Renders ``--num`` images per setting (rgb and depth, 368 and 128 pixels, the
default occlusion of SyntheticHandDataset) and prints images per second next
to the target: 100 images/s for 368 x 368 on one core, so that data loading
never starves a CPU training run. ``--mesh`` times the mesh hands
(``render_mesh_hand``) beside the capsule hands on the same seeds, with
the wall-clock rate and the rate in the process's CPU time (steadier on a
shared machine); their target is 100 images/s at 128 x 128.
"""
import argparse
import time

import cv2

from handkit.datasets.synthetic.renderer import render_hand

TARGET_IMAGES_PER_SECOND = 100.0
MESH_SETTINGS = (('rgb', 128), ('depth', 128), ('rgb', 368), ('depth', 368))
SETTINGS = (('rgb', 368), ('depth', 368), ('rgb', 128), ('depth', 128))
OCCLUSION = 0.3


def images_per_second(modality, size, num):
    render_hand(0, size, modality, OCCLUSION)  # warm up imports and caches
    start = time.perf_counter()
    for seed in range(num):
        render_hand(seed, size, modality, OCCLUSION)
    return num / (time.perf_counter() - start)


def rates(render, modality, size, num):
    """(wall-clock, CPU-time) images per second of ``render``."""
    render(0, size, modality, OCCLUSION)  # warm up imports and caches
    wall, cpu = time.perf_counter(), time.process_time()
    for seed in range(num):
        render(seed, size, modality, OCCLUSION)
    return (num / (time.perf_counter() - wall),
            num / (time.process_time() - cpu))


def compare_mesh(num):
    from handkit.datasets.synthetic.mesh_renderer import render_mesh_hand
    print(f'{"modality":<9}{"size":>6}{"hand":>9}{"images/s":>10}'
          f'{"CPU img/s":>11}{"target":>8}')
    for modality, size in MESH_SETTINGS:
        for name, render in (('capsule', render_hand),
                             ('mesh', render_mesh_hand)):
            wall, cpu = rates(render, modality, size, num)
            target = (f'{TARGET_IMAGES_PER_SECOND:.0f}'
                      if name == 'mesh' and size == 128 else '-')
            print(f'{modality:<9}{size:>6}{name:>9}{wall:>10.1f}'
                  f'{cpu:>11.1f}{target:>8}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=200,
                        help='images per setting')
    parser.add_argument('--mesh', action='store_true',
                        help='time the mesh hands beside the capsule hands')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    cv2.setNumThreads(1)
    if args.mesh:
        compare_mesh(args.num)
        return
    print(f'{"modality":<9}{"size":>6}{"images/s":>10}{"target":>9}')
    for modality, size in SETTINGS:
        rate = images_per_second(modality, size, args.num)
        target = f'{TARGET_IMAGES_PER_SECOND:.0f}' if size == 368 else '-'
        print(f'{modality:<9}{size:>6}{rate:>10.1f}{target:>9}')


if __name__ == '__main__':
    main()
