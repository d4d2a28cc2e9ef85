# DetNet (Zhou et al., CVPR 2020, Section 4.1) on handkit's synthetic RGB
# hands, sized to train on 2 CPU cores in minutes (the full-size model is
# detnet_{stb,rhd}.py). Departures, each for training from scratch on a CPU
# (docs/models_3d.md, docs/training_on_cpu.md):
# - the trunk has one bottleneck per stage at a quarter of ResNet-50's widths
#   and F has 32 channels instead of 256, the heads 32 hidden channels
#   instead of 256 (the paper starts from a full ResNet-50);
# - heatmap sigma 2 map pixels (the paper states none) and L_heat weighed 4
#   (its weights are not stated here): with sigma 1.5 and weight 1 the 2D
#   learnt more slowly (EPE_3D 56.0 mm after the same steps, half width);
# - natural hands (synthetic_hands.py), 8,000 training samples rendered once
#   at 160 px; the from-scratch schedule (Adam with warm-up and cosine decay,
#   bfloat16 autocast where the CPU has it), 4 epochs of 500 steps;
# - the paper's left-hand model, as detnet_{stb,rhd}.py: the right hands
#   (half of the synthetic ones) are mirrored at the input and their
#   prediction mirrored back (left_hand_model; before, both sides trained as
#   they came: docs/models_3d.md);
# - no coordinate channels (coord_channels=False; the official DetNet
#   appends two, x and y in [-1, 1], to F), as the figures of
#   docs/models_3d.md were trained.
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/from_scratch_cpu_4e.py',
    '../_base_/datasets/synthetic_rgb3d_cpu.py', '../_base_/models/detnet.py'
]
codec = dict(_base_.codec, sigma=2.0)
features = 32
head = dict(in_channels=features, hidden_channels=32, coord_channels=False)
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(stage_blocks=(1, 1, 1), width_multiplier=0.25,
                  out_channels=features),
    heads=dict(heatmaps=dict(head, decoder=codec, loss_weight=4.0),
               deltas=head, locations=dict(head, decoder=codec)))
targets = dict(targets=dict(_base_.detnet_targets, _delete_=True,
                            encoders=dict(location=codec)))
train_dataloader = dict(dataset=dict(
    pipeline=dict(targets, **_base_.left_hand_model)))
val_dataloader = dict(dataset=dict(pipeline=_base_.left_hand_model))
test_dataloader = val_dataloader
val_evaluator = _base_.detnet_evaluator
test_evaluator = val_evaluator
