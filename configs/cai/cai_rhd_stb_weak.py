# Cai et al.'s weak setting (ECCV 2018, docs/cai.md): after the fully
# labelled RHD stage (cai_rhd.py), train on RHD and STB together, RHD with
# every 3D label and STB (SK colour + registered depth, B2-B6) without any
# (SubsetLabels3D fraction 0: STB learns through its 2D heatmaps and the
# depth regulariser on its depth images); test on STB B1. One
# ConcatDataset, each member with its own pipeline (LoadRHDDepth /
# LoadSTBDepth, its own labels_3d); the rest is cai_stb.py's.
# The two stages:
#   python tools/train.py configs/cai/cai_rhd.py
#   python tools/train.py configs/cai/cai_rhd_stb_weak.py
# load_from is the RHD stage's last checkpoint as tools/train.py writes it
# (work_dirs/cai_rhd/epoch_80.pth; its best-EPE_3D one is named
# best_EPE_3D_epoch_<N>.pth: pass it with --cfg-options load_from=...).
# Departures: the paper's schedule, loss weights and mixing ratio are not
# available here: handkit's shared schedule (Adam, lr 1e-4, 80 epochs) for
# each stage, the base's weights, and the two sets concatenated as they
# are (41,258 RHD + 15,000 STB samples per epoch, shuffled together).
# STB labels the palm centre in joint 0, RHD the wrist: here RHD's joint 0
# is the palm (root_joint='palm_center': the midpoint of wrist and middle
# MCP, as Zimmermann & Brox's RHD reader gives it to train with STB), so
# the concatenation's metainfo check sees one root joint; the RHD stage
# keeps RHD's wrist. reference_bone_mm stays the synthetic hands' 43.5 (see
# cai_stb.py); the zb protocol does not use it.
_base_ = ['./cai_stb.py']
stb_train = _base_.train_dataloader.dataset
rhd_train = dict(
    type='RHDDataset', data_root='data/rhd/', hands='auto', split='train',
    root_joint='palm_center', with_depth=True,
    pipeline=dict(stb_train.pipeline, depth=dict(type='LoadRHDDepth')))
stb_without_3d = dict(stb_train, pipeline=dict(
    stb_train.pipeline,
    labels_3d=dict(stb_train.pipeline.labels_3d, fraction=0.0)))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ConcatDataset', datasets=[rhd_train, stb_without_3d],
    ignore_keys=['dataset_name']))
load_from = 'work_dirs/cai_rhd/epoch_80.pth'
