# cai_synthetic.py with no 3D label at all: 2D joints and depth images only.
# Anchor (handkit's, not the paper's, which pre-trains on fully-labelled
# RHD): the depth regulariser is first trained alone on ground-truth joints
# -> depth maps of 4,000 other synthetic hands (seed 1, disjoint from the
# seed-0 training hands), then loaded and kept frozen, so that the joints
# the network feeds it must be joints (docs/cai.md):
#   python tools/pretrain_depth_regularizer.py \
#       configs/cai/cai_depth2d_synthetic.py
#   python tools/train.py configs/cai/cai_depth2d_synthetic.py
_base_ = ['./cai_synthetic.py']
train_dataloader = dict(dataset=dict(pipeline=dict(
    labels_3d=dict(fraction=0.0))))
model = dict(heads=dict(pose3d=dict(depth_regularizer=dict(frozen=True))))
depth_pretraining = dict(head='pose3d',
                         dataset=dict(seed=1, num_samples=4000),
                         steps=3000, batch_size=64, lr=1e-3,
                         val_fraction=0.1)
# where tools/pretrain_depth_regularizer.py writes it by default
load_from = ('work_dirs/cai_depth2d_synthetic_regularizer/'
             'depth_regularizer.pth')
