# PoseNet -> PosePrior (Zimmermann & Brox, ICCV 2017, Sections 4.2-4.3) on
# handkit's synthetic RGB hands, sized to train on 2 CPU cores in minutes
# (the full-size model is posenet_poseprior_{rhd,stb}.py). Departures, each
# for training from scratch on a CPU (docs/training_on_cpu.md):
# - 128 x 128 crops (1.5 x the keypoint box, as the other synthetic
#   configs) and 16 x 16 score maps instead of 256 and 32 (the encoder keeps
#   its stride 8); sigma 12.5 px, their 25 px in a 256 px crop scaled;
# - a narrower, shallower encoder and stages: widths 16-64 with one to
#   three convolutions per stage instead of 64-512 with up to seven; a 128
#   wide first stage, recurrent stages of three 7x7 convolutions of 32
#   channels (the paper: 512; five of 128); batch norm after every hidden
#   convolution of the encoder and PoseNet (the paper has none: it starts
#   from CPM weights);
#   the PosePrior keeps the paper's sizes (it is cheap);
# - plain ReLUs (negative_slope=0; theirs: leaky, 0.01) and the PosePrior's
#   dropout on (0.2 / 0.25; defined in their network, off in their
#   released training): handkit's former settings, with which the figures
#   of docs/zimmermann_brox.md were trained;
# - natural hands (synthetic_hands.py), 8,000 training samples rendered once
#   at 160 px; the from-scratch schedule (Adam at 1e-3 with warm-up and
#   cosine decay, bfloat16 autocast where the CPU has it) for the whole
#   cascade, 4 epochs of 500 steps of batch 16 (their PoseNet and PosePrior
#   train apart, batch 8, Adam 1e-4 / 1e-5).
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/from_scratch_cpu_4e.py',
    '../_base_/datasets/synthetic_rgb3d_cpu.py',
    '../_base_/models/posenet_poseprior.py'
]
crop_size = (128, 128)
score_map_size = (16, 16)
score_codec = dict(_base_.score_codec, input_size=crop_size,
                   heatmap_size=score_map_size, sigma=12.5)
norm = dict(type='BN')
model = dict(
    data_preprocessor=dict(channels_last=True),
    backbone=dict(arch=((16, ), (32, 32), (64, 64), (64, 64, 128)),
                  norm_cfg=norm, negative_slope=0.0),
    heads=dict(
        keypoints=dict(decoder=score_codec, hidden_channels=128,
                       negative_slope=0.0,
                       stage_channels=32, stage_layers=3, norm_cfg=norm),
        pose3d=dict(heatmap_size=score_map_size, score_codec=score_codec,
                    negative_slope=0.0, canonical_dropout=0.2,
                    view_dropout=0.25)))
targets = dict(_base_.zb_targets, _delete_=True, encoders=dict(
    scoremaps=score_codec, canonical=_base_.canonical_codec))
warp = dict(warp=dict(input_size=crop_size))
train_dataloader = dict(dataset=dict(pipeline=dict(warp, targets=targets)))
val_dataloader = dict(dataset=dict(pipeline=warp))
test_dataloader = dict(dataset=dict(pipeline=warp))
val_evaluator = _base_.zb_rhd_evaluator
test_evaluator = val_evaluator
