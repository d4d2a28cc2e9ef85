# CPM baseline of NSRM Tables 3.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/panoptic.py', '../_base_/models/cpm.py'
]
# The dataset's KCM codec decodes the keypoint maps.
model = dict(heads=dict(keypoints=dict(decoder=_base_.codec)))
