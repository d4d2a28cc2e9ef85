# NSRM LPM-G1&6 at the paper's size (368 x 368 crops, 46 x 46 maps, VGG-19 to
# conv4_4, 128-channel stages) on handkit's synthetic hands: the quickstart's
# recipe (configs/quickstart/nsrm_lpm_g1g6_synthetic.py: its data,
# augmentation, losses and schedule) without its 0.25 width. It gives the
# 368-px network trained weights for the precision benchmarks
# (benchmarks/bench_bf16.py --nsrm: the bfloat16 keypoint shift needs peaked
# maps, which random weights do not have). A GPU job: on the 2-core CPU
# machine a step of 4 crops took 8.2 s in bfloat16 (AMD EPYC, 2 threads), and
# after 50 steps the maps were still the all-zero maps' loss
# (docs/deployment.md, section 6). Departures from lpm_g1g6_panoptic.py, each
# for training from scratch:
# * batch norm after every hidden convolution (the paper starts from ImageNet
#   VGG weights instead), and the quickstart's lambda_1 = 1.0,
#   lambda_2 = 0.5, decayed after 3 of the 5 epochs;
# * handkit's synthetic mesh hands rendered at 368 px, with the quickstart's
#   augmentation and Adam 1e-3 schedule in bfloat16 autocast.
_base_ = ['./nsrm_lpm_g1g6_synthetic.py']
input_size = (368, 368)
heatmap_size = (46, 46)
codec = dict(_base_.codec, input_size=input_size, heatmap_size=heatmap_size)
limbs = dict(_base_.limbs, input_size=input_size, heatmap_size=heatmap_size)
channels = 128
model = dict(
    backbone=dict(width_multiplier=1.0, out_channels=channels),
    heads=dict(
        structure=dict(in_channels=channels, stage_channels=channels),
        keypoints=dict(in_channels=channels, stage_channels=channels,
                       decoder=codec)))
rendered = dict(image_size=input_size)
warp = dict(input_size=input_size)
train_dataloader = dict(dataset=dict(
    rendered, pipeline=dict(warp=warp, targets=dict(encoders=dict(
        kcm=codec, limbs=limbs)))))
val_dataloader = dict(dataset=dict(rendered, pipeline=dict(warp=warp)))
test_dataloader = dict(dataset=dict(rendered, pipeline=dict(warp=warp)))
