"""MediaPipe Hands' own pipeline, timed per frame on the photos of tests/data.

    python -m venv mp && mp/bin/pip install mediapipe==0.10.21
    mp/bin/python benchmarks/mediapipe_own_pipeline.py [--rounds 20]

The reference for ``benchmarks/bench_hand_inferencer.py``: Google's
``mediapipe==0.10.21`` wheel (it pins numpy < 2, so it lives in its own
virtual environment, without handkit), its Hands solution on still images
(``static_image_mode=True``: the palm detector on every frame, then the
landmark model on each hand: the graph that ``HandInferencer(refine=0,
tiles=False)`` runs), ``model_complexity=1`` (the 'full' models),
``max_num_hands=2``. It needs only mediapipe, numpy and OpenCV.

It prints the median time per frame (and the range over rounds) and the
number of hands found, in the format of ``bench_hand_inferencer.py
--engine``, so the two can be compared on one machine.
"""
import argparse
import glob
import os.path as osp
import statistics
import time

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def distinct_photos() -> list:
    """The distinct RGB photos of tests/data/*_coco (some are stored
    twice), in file order."""
    images = []
    for path in sorted(glob.glob(osp.join(ROOT, 'tests', 'data', '*_coco',
                                          '*.jpg'))):
        image = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        if not any(image.shape == other.shape and np.array_equal(image, other)
                   for other in images):
            images.append(image)
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=20)
    args = parser.parse_args()
    import mediapipe as mp
    images = distinct_photos()
    hands = mp.solutions.hands.Hands(static_image_mode=True,
                                     model_complexity=1, max_num_hands=2,
                                     min_detection_confidence=0.5)
    found = [len(hands.process(image).multi_hand_landmarks or ())
             for image in images]  # warm-up
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for image in images:
            hands.process(image)
        times.append(1000 * (time.perf_counter() - start) / len(images))
    print(f'MediaPipe {mp.__version__} Hands (static images, complexity 1):'
          f' {statistics.median(times):.1f} ms per frame ({min(times):.1f}-'
          f'{max(times):.1f}), {len(images)} photos, {sum(found)} hands')


if __name__ == '__main__':
    main()
