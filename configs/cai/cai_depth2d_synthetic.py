# cai_synthetic.py with no 3D label at all: 2D joints and depth images only.
# Anchors (handkit's, not the paper's, which pre-trains on fully-labelled
# RHD; docs/cai.md):
# - the 2D labels lifted through the depth image (DepthLiftedKeypoints: the
#   depth at each joint's pixel, back-projected with the camera; the joints
#   the renderer flags as occluded left out) tie the 3D joints up to each
#   hand's scale and shift (ScaleShiftAlignedLoss, weight 100);
# - the unit of the normalised joints, their middle MCP -> PIP bone, which
#   only 3D labels teach otherwise (UnitBoneLoss, weight 100).
# The depth regulariser trains with the model, as at 100 %.
_base_ = ['./cai_synthetic.py']
lift_codec = dict(type='DepthLiftedKeypoints', depth_range_mm=300.0,
                  exclude_occluded=True)
train_dataloader = dict(dataset=dict(pipeline=dict(
    targets=dict(encoders=dict(lifted=lift_codec)),
    labels_3d=dict(fraction=0.0))))
model = dict(heads=dict(pose3d=dict(losses=dict(
    lift=dict(loss_weight=100.0), unit=dict(loss_weight=100.0)))))
