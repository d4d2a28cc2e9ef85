# NSRM (Figure 5): a structure-mask head of 3 stages in front of a
# keypoint-confidence-map head of 3 stages, on the CPM backbone. Experiments
# set the limb groups, the loss weights (Section 4.2), the limb-mask codec
# and, as for CPM, the KCM head's decoder (decoder=_base_.codec).
_base_ = ['./cpm.py']
model = dict(heads=dict(
    _delete_=True,
    structure=dict(
        type='StructureMaskHead', in_channels=128, groups='G1', num_stages=3,
        loss=dict(type='MaskCrossEntropyLoss'), loss_weight=1.0),
    keypoints=dict(
        type='KeypointMapHead', in_channels=128, num_keypoints=21,
        num_stages=3, loss=dict(type='HeatmapMSELoss'))))
