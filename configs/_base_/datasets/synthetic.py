# handkit's procedural synthetic hands (docs/synthetic.md) for the CPU
# quickstart: nothing is downloaded, each split is rendered once into a cache
# under work_dirs/ and reused by every epoch and run. Images are already
# decoded, so the pipelines start at the crop: the NSRM Panoptic protocol (a
# square around the tightest keypoint box) at a small input.
#
# Departures from the paper's Panoptic setting, for training from scratch on
# 2 CPU cores in minutes (measured in docs/training_on_cpu.md):
# * 96 x 96 input, 12 x 12 maps (stride 8), the crop 1.5 x the keypoint box
#   (the paper: 368, 46 x 46, 2.2 x): the hand spans 8 map pixels (the
#   paper's 21), and the smaller input buys more iterations, which paid more
#   here;
# * KCM sigma 1 map pixel, as the paper; decoded by bicubic upsampling;
# * natural hands (synthetic_hands.py): the palm or the back within 60
#   degrees of facing the camera, natural poses;
# * the mesh hands (handkit's open hand, rasterised; hand='capsule' for the
#   procedural capsule hands) with camera blur, noise and JPEG: the best of
#   the variants measured on real photos, capsules with the same
#   degradations within the seed spread (docs/synthetic.md, "Which hands
#   transfer to real photos");
# * random rotation, scale, shift and colour jitter on every epoch;
# * PCK at OneHand10K's thresholds (NSRM Table 2: 0.10 - 0.30).
_base_ = ['./panoptic.py', './synthetic_hands.py']
dataset_type = 'SyntheticHandDataset'
input_size = (96, 96)
heatmap_size = (12, 12)
# The one KCM codec: the training targets, the model's decoder and the input
# size all come from here.
codec = dict(type='KeypointConfidenceMap', input_size=input_size,
             heatmap_size=heatmap_size, sigma=1.0, subpixel='upsample')
synthetic = dict(type=dataset_type, hand='mesh', image_size=(160, 160),
                 occlusion=0.1,
                 seed=0, data_root='', cache_dir=_base_.synthetic_cache_dir,
                 **_base_.natural_hands)
test_pipeline = dict(load=None, crop=dict(padding=1.5),
                     warp=dict(input_size=input_size))

# No loader processes: from the cache the pipeline costs under 1 ms a
# sample in the main process, while a worker's inter-process transfer costs
# more than that and takes a core from the model (benchmarks/bench_data.py:
# 0.18 s/iter with 0 workers, 0.24 with 1, 0.22 with 2). No pinned memory
# either (panoptic.py's loaders pin it for a GPU): these configs train on
# the CPU.
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    pin_memory=False,
    dataset=dict(
        synthetic, num_samples=6800, split='train',
        pipeline=dict(
            load=None, crop=dict(padding=1.5),
            affine=dict(rotate_range=30.0, scale_range=(0.85, 1.15),
                        shift_ratio=0.05, prob=1.0),
            warp=dict(input_size=input_size),
            color=dict(prob=1.0),
            degrade=dict(prob=0.5),
            targets=dict(encoders=dict(kcm=codec)))))
val_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    pin_memory=False,
    dataset=dict(synthetic, num_samples=400, split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    pin_memory=False,
    dataset=dict(synthetic, num_samples=400, split='test', test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = dict(type='PCKMetric', thresholds=[0.10, 0.15, 0.20, 0.25,
                                                  0.30])
test_evaluator = val_evaluator
