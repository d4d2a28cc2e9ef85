# Cai et al. (ECCV 2018, docs/cai.md) on handkit's synthetic RGB hands with
# their depth images, every training sample with its 3D label; sized to
# train on 2 CPU cores in minutes (the full-size model is cai_stb.py).
# Departures, each for training from scratch on a CPU:
# - the 2D network is DetNet's small dilated ResNet trunk (one bottleneck
#   per stage at a quarter of ResNet-50's widths, 32 channels of F at
#   32 x 32 for the 128 x 128 crop) and 2 CPM stages of 16 channels
#   instead of VGG-19 and 6 stages of 128;
# - 128 x 128 crops (rendered at 160 px), 32 x 32 depth maps, heatmap sigma
#   2 map pixels, narrower regression (64 / 256) and regulariser layers;
# - natural hands (synthetic_hands.py), 8,000 training samples rendered
#   once; the from-scratch schedule (Adam with warm-up and cosine decay,
#   bfloat16 autocast where the CPU has it), 4 epochs of 500 steps.
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/from_scratch_cpu_4e.py',
    '../_base_/datasets/synthetic_rgb3d_cpu.py', '../_base_/models/cai.py'
]
input_size = (128, 128)
depth_size = (32, 32)
kcm_codec = dict(_base_.kcm_codec, input_size=input_size, sigma=2.0)
depth_codec = dict(_base_.depth_codec, output_size=depth_size)
# the wrist in joint 0: rooted at the palm, Zimmermann & Brox's RHD root
pose3d_codec = dict(_base_.pose3d_codec, palm_root=True)
features = 32
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(_delete_=True, type='DilatedResNet', in_channels=3,
                  stage_blocks=(1, 1, 1), dilations=(1, 2, 4),
                  out_channels=features, width_multiplier=0.25),
    heads=dict(
        keypoints2d=dict(in_channels=features, num_stages=2,
                         stage_channels=16, norm_cfg=dict(type='BN'),
                         decoder=kcm_codec),
        pose3d=dict(in_channels=features, conv_channels=64, fc_channels=256,
                    decoder=pose3d_codec,
                    depth_regularizer=dict(output_size=depth_size,
                                           hidden_channels=256,
                                           base_channels=64))))
targets = dict(_base_.cai_targets, encoders=dict(
    _base_.cai_targets['encoders'], kcm=kcm_codec, pose3d=pose3d_codec,
    depth=depth_codec))
train_steps = dict(_base_.train_pipeline)
pack = train_steps.pop('pack')
rendering = dict(with_depth=True)
train_dataloader = dict(dataset=dict(
    rendering, pipeline=dict(train_steps, _delete_=True, targets=targets,
                             labels_3d=_base_.labels_3d, pack=pack)))
val_evaluator = _base_.zb_rhd_evaluator
test_evaluator = val_evaluator
