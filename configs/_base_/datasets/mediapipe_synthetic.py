# handkit's synthetic hands (docs/synthetic.md: natural poses, palm or back
# within 60 degrees of the camera, 10 % occluders) for fine-tuning the
# converted MediaPipe models, rendered once at 256 x 256 into the cache;
# 2000 training images (125 iterations of 16 an epoch). A config sets the
# training pipeline (dataset=dict(pipeline=...)) and its other loaders.
synthetic = dict(type='SyntheticHandDataset', image_size=(256, 256),
                 occlusion=0.1, seed=0, data_root='',
                 cache_dir='work_dirs/.synthetic_cache',
                 pose_mix=dict(open=0.3, point=0.2, pinch=0.25, fist=0.25),
                 max_view_angle=60)
# in the main process, on the CPU (the images come decoded from the cache)
loader = dict(num_workers=0, persistent_workers=False, pin_memory=False,
              collate_fn=dict(type='handkit.hand_collate'))
train_dataloader = dict(
    batch_size=16, **loader,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(synthetic, num_samples=2000, split='train'))
