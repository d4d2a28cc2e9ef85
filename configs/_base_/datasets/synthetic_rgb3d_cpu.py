# synthetic_rgb3d.py sized for training from scratch on a CPU in minutes
# (docs/training_on_cpu.md): 8,000 training hands in batches of 16 (500
# steps an epoch), 500 validation and 500 test hands, rendered at 160 px
# (instead of 20,000, 1,000 and 256 px), each split rendered once.
_base_ = ['./synthetic_rgb3d.py']
rendering = dict(image_size=(160, 160))
train_dataloader = dict(batch_size=16,
                        dataset=dict(rendering, num_samples=8000))
val_dataloader = dict(dataset=dict(rendering, num_samples=500))
test_dataloader = dict(dataset=dict(rendering, num_samples=500))
