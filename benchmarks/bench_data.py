"""Does the data keep up with the model? Samples/s of the quickstart's
loader against the model's training step alone, on this machine.

    python benchmarks/bench_data.py [--config CONFIG] [--iters 40]

Prints, for the config's training set (the rendered-once synthetic cache,
random affine + colour jitter + KCM / LPM targets on every sample):

* the loader alone, at 0, 1 and 2 worker processes (samples/s);
* the model's training step alone on one fixed batch (s/iter, samples/s);
* a real training step fed by the loader at each worker count.

The loader must deliver well above the model's samples/s; the fastest real
step is the setting to use (workers take cores from the model's threads).
The cache is rendered first if it is not there yet (not timed).
"""
import argparse
import itertools
import time
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from handkit.registry import DATASETS, MODELS, OPTIM_WRAPPERS

CONFIG = (Path(__file__).resolve().parents[1] / 'configs' / 'quickstart' /
          'nsrm_lpm_g1g6_synthetic.py')


def loader(cfg, workers):
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.update(num_workers=workers, persistent_workers=workers > 0)
    return Runner.build_dataloader(loader_cfg)


def loader_rate(cfg, workers, iters):
    batches = iter(itertools.cycle(loader(cfg, workers)))
    next(batches)  # start the workers
    start = time.perf_counter()
    for _ in range(iters):
        next(batches)
    return iters * cfg.train_dataloader.batch_size / (
        time.perf_counter() - start)


def step_time(cfg, batches, iters):
    model = MODELS.build(cfg.model)
    wrapper = OPTIM_WRAPPERS.build(dict(cfg.optim_wrapper.to_dict(),
                                        optimizer=torch.optim.Adam(
                                            model.parameters(), 1e-3)))
    model.train_step(next(batches), wrapper)  # warm up
    start = time.perf_counter()
    for _ in range(iters):
        model.train_step(next(batches), wrapper)
    return (time.perf_counter() - start) / iters


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=str(CONFIG))
    parser.add_argument('--iters', type=int, default=40)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope('handkit')
    DATASETS.build(cfg.train_dataloader.dataset)  # render the cache once
    batch = cfg.train_dataloader.batch_size
    print(f'{args.config}: batch {batch}, {torch.get_num_threads()} torch '
          'threads')
    for workers in (0, 1, 2):
        print(f'loader alone, {workers} workers: '
              f'{loader_rate(cfg, workers, args.iters):7.1f} samples/s')
    fixed = next(iter(loader(cfg, 0)))
    seconds = step_time(cfg, itertools.repeat(fixed), args.iters)
    print(f'model step alone (one fixed batch): {seconds:.3f} s/iter, '
          f'{batch / seconds:7.1f} samples/s')
    for workers in (0, 1, 2):
        seconds = step_time(cfg, iter(itertools.cycle(loader(cfg, workers))),
                            args.iters)
        print(f'training step fed by {workers} workers: {seconds:.3f} '
              f's/iter, {batch / seconds:7.1f} samples/s')


if __name__ == '__main__':
    main()
