# Quickstart: NSRM LPM-G1&6 (the paper's best variant), trained from scratch
# on synthetic hands on 2 CPU cores in minutes. The architecture (VGG-19 to
# conv4_4 + CPM convs, 3 structure stages then 3 KCM stages), the LPM G1&6
# targets and the losses (eq. 5, 7, 8) are the paper's. Departures, each for
# training from scratch (docs/training_on_cpu.md):
# * every width x 0.25 (VGG 16..128 channels, 32-channel features and stages);
# * batch norm after every hidden convolution (the paper starts from
#   ImageNet weights instead); channels-last inputs;
# * lambda_1 = 1.0, lambda_2 = 0.5 (the paper: 0.1 and 0.02), which trained
#   better from scratch (measured); decayed by 0.1 after 3 of the 5 epochs
#   (the paper: every 20 epochs);
# * the data and the schedule of the two _base_ files below.
_base_ = [
    '../_base_/nsrm_runtime.py', '../_base_/datasets/synthetic.py',
    '../_base_/models/nsrm.py', '../_base_/schedules/from_scratch_cpu.py'
]
bn = dict(type='BN')
# The limb-mask codec on the KCM codec's grid (synthetic.py), its groups also
# the structure head's channels.
limbs = dict(type='LimbMask', kind='lpm', groups='G1G6',
             input_size=_base_.codec.input_size,
             heatmap_size=_base_.codec.heatmap_size, sigma=1.0)
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(width_multiplier=0.25, out_channels=32, norm_cfg=bn),
    heads=dict(
        structure=dict(in_channels=32, stage_channels=32,
                       groups=limbs['groups'], norm_cfg=bn, loss_weight=1.0,
                       loss_weight_g6=0.5),
        keypoints=dict(in_channels=32, stage_channels=32, norm_cfg=bn,
                       decoder=_base_.codec)),
    # the structure maps reach MaskIoUMetric
    test_cfg=dict(output_maps=True))
train_dataloader = dict(dataset=dict(pipeline=dict(targets=dict(encoders=dict(
    limbs=limbs)))))
test_evaluator = [_base_.val_evaluator, dict(type='MaskIoUMetric')]
custom_hooks = _base_.custom_hooks[:-1] + [
    dict(type='LossWeightDecayHook', gamma=0.1, step=3),
]
default_hooks = dict(logger=dict(interval=50))
