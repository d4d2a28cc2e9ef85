# NSRM (Figure 5): a structure-mask head of 3 stages in front of a
# keypoint-confidence-map head of 3 stages, on the CPM backbone. Experiments
# set the limb groups, the loss weights (Section 4.2) and the limb-mask codec.
_base_ = ['./cpm.py']
model = dict(heads=dict(
    _delete_=True,
    structure=dict(
        type='StructureMaskHead', in_channels=128, groups='G1', num_stages=3,
        loss=dict(type='MaskCrossEntropyLoss'), loss_weight=1.0),
    keypoints=dict(
        type='KeypointMapHead', in_channels=128, num_keypoints=21,
        num_stages=3, loss=dict(type='HeatmapMSELoss'),
        decoder=dict(type='KeypointConfidenceMap', input_size=(368, 368),
                     heatmap_size=(46, 46), sigma=1.0))))
