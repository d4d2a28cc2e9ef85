# HandSegNet (Zimmermann & Brox, ICCV 2017, Section 4.1) on handkit's
# synthetic RGB hands (the renderer's hand_mask), sized to train on 2 CPU
# cores in minutes (the full-size model is handsegnet_rhd.py). Departures,
# each for training from scratch on a CPU (docs/training_on_cpu.md):
# - the whole 160 px image resampled to 128 x 128 instead of 320 x 320;
# - a narrower, shallower encoder (widths 16-64, one to three convolutions
#   per stage, instead of 64-512 with up to six), a 64-wide 1x1 layer
#   instead of 512, batch norm after every hidden convolution (the paper
#   has none: it starts from CPM weights);
# - the images of posenet_poseprior_synthetic.py (8,000 natural hands,
#   rendered once), no hue augmentation; the from-scratch schedule (Adam at
#   1e-3 with warm-up and cosine decay, bfloat16 autocast where the CPU has
#   it), 2 epochs of 500 steps of batch 16 (theirs: batch 8, Adam 1e-5,
#   40k iterations);
# - plain ReLUs (negative_slope=0; theirs: leaky ReLU, slope 0.01), with
#   which the figures of docs/zimmermann_brox.md were trained; no hand
#   found: the whole image (fallback='image'), as their constant (160, 160)
#   px crop lies outside a 128 px image.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/from_scratch_cpu.py',
    '../_base_/datasets/synthetic_rgb3d_cpu.py',
    '../_base_/models/handsegnet.py'
]
max_epochs = 2
image_size = (128, 128)
mask_codec = dict(_base_.mask_codec, input_size=image_size,
                  heatmap_size=image_size)
norm = dict(type='BN')
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(arch=((16, ), (32, 32), (64, 64), (64, 64, 128)),
                  norm_cfg=norm, negative_slope=0.0),
    heads=dict(segmentation=dict(hidden_channels=64, negative_slope=0.0,
                                 fallback='image')))
whole_image = dict(crop=dict(mode='image'), warp=dict(input_size=image_size))
train_dataloader = dict(dataset=dict(pipeline=dict(
    whole_image, targets=dict(_base_.mask_targets, _delete_=True,
                              encoders=dict(mask=mask_codec)))))
val_dataloader = dict(dataset=dict(pipeline=whole_image))
test_dataloader = dict(dataset=dict(pipeline=whole_image))
val_evaluator = _base_.mask_evaluator
test_evaluator = val_evaluator
param_scheduler = [_base_.param_scheduler[0],
                   dict(_base_.param_scheduler[1], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(save_best='IoU@0.5', rule='greater'))
