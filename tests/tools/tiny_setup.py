"""A tiny dataset on disk and a tiny config on top of the real `_base_` files,
shared by the end-to-end tool tests."""
import json
from pathlib import Path

import cv2
import numpy as np

from handkit.skeleton import LIMBS, limb_color

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def write_nsrm_layout(root, num_images=12, size=64, seed=0):
    """Images of a drawn hand skeleton in the NSRM authors' layout."""
    rng = np.random.default_rng(seed)
    (root / 'imgs').mkdir(parents=True)
    labels, names = {}, []
    for index in range(num_images):
        center = rng.uniform(0.4, 0.6, 2) * size
        keypoints = center + rng.normal(0, size * 0.12, (21, 2))
        keypoints = np.clip(keypoints, 2, size - 3)
        image = np.full((size, size, 3), 40, np.uint8)
        for limb, (a, b) in enumerate(LIMBS):
            cv2.line(image, tuple(int(v) for v in keypoints[a]),
                     tuple(int(v) for v in keypoints[b]), limb_color(limb), 2)
        name = f'{index:04d}.jpg'
        cv2.imwrite(str(root / 'imgs' / name), image)
        labels[name] = keypoints.round(2).tolist()
        names.append(name)
    (root / 'labels.json').write_text(json.dumps(labels))
    (root / 'partitions.json').write_text(json.dumps(
        dict(train=names[:8], valid=names[8:10], test=names[10:])))


TINY_CONFIG = """
_base_ = [
    '{configs}/_base_/nsrm_runtime.py',
    '{configs}/_base_/schedules/adam_1e-4_80e.py',
    '{configs}/_base_/datasets/panoptic.py', '{configs}/_base_/models/nsrm.py'
]
size, maps = (64, 64), (8, 8)
kcm = dict(type='KeypointConfidenceMap', input_size=size, heatmap_size=maps)
model = dict(
    backbone=dict(width_multiplier=0.125, out_channels=16),
    heads=dict(
        structure=dict(in_channels=16, stage_channels=16, groups='G1G6',
                       loss_weight=0.1, loss_weight_g6=0.02),
        keypoints=dict(in_channels=16, stage_channels=16, decoder=kcm)))
data = dict(type='NSRMHandDataset', data_root='{data_root}')
pipeline = dict(crop=dict(mode='image'), warp=dict(input_size=size))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data, pipeline=dict(pipeline, targets=dict(encoders=dict(
        kcm=kcm, limbs=dict(type='LimbMask', kind='lpm', groups='G1G6',
                            input_size=size, heatmap_size=maps))))))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data, pipeline=pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs={epochs}, val_interval={epochs})
default_hooks = dict(logger=dict(interval=1))
log_processor = dict(window_size=1)
"""


def write_tiny_config(path, data_root, epochs=3, configs=CONFIGS):
    """The tiny config at ``path`` over the ``_base_`` files of ``configs``
    (the clone's, or an installed package's: tools/check_install.py)."""
    path.write_text(TINY_CONFIG.format(configs=configs, data_root=data_root,
                                       epochs=epochs))
    return path


def exit_code(main, argv):
    """Run a tool's ``main(argv)`` in this process; its exit code (0 when it
    returned)."""
    try:
        main([str(arg) for arg in argv])
    except SystemExit as exit_:
        return exit_.code
    return 0
