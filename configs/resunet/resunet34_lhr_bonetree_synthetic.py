# ResUnet (Bekiri and Babahenini, Section II) on handkit's synthetic RGB
# hands, sized to train on 2 CPU cores in minutes (the full-size model and
# schedule are resunet34_lhr_bonetree_{stb,rhd}.py). Departures, each for
# training from scratch on a CPU (docs/models_3d.md, docs/training_on_cpu.md):
# every width x 0.25; natural hands (synthetic_hands.py), 8,000 training
# samples rendered once at 160 px; the from-scratch schedule (Adam with
# warm-up and cosine decay, bfloat16 autocast where the CPU has it) at lr
# 3e-4 (1e-3 left the bone loss at the mean-bone level for 1,000 steps);
# the left hands (half of the synthetic ones) mirrored into right hands at
# the crop and their prediction mirrored back: with both sides as they
# came, the same run ended at 48.10 mm and a palm 12.7 mm wide against
# 58.0 (docs/models_3d.md, "Why the 3D hands shrank").
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/from_scratch_cpu.py',
    '../_base_/datasets/synthetic_rgb3d_cpu.py',
    '../_base_/models/resunet34.py'
]
max_epochs = 8
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(width_multiplier=0.25),
    heads=dict(
        # decodes with the dataset's coordinate codec
        keypoints2d=dict(decoder=_base_.target_encoders.coords),
        bones=dict(in_channels=16, feature_channels=128,
                   conv_channels=(16, 32, 32, 32), hidden=(128, ))))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [_base_.param_scheduler[0],
                   dict(_base_.param_scheduler[1], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
right_hand_model = dict(warp=dict(mirror_side='left'))
train_dataloader = dict(dataset=dict(pipeline=right_hand_model))
val_dataloader = dict(dataset=dict(pipeline=right_hand_model))
test_dataloader = dict(dataset=dict(pipeline=right_hand_model))
