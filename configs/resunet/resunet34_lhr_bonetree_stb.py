# ResUnet (Bekiri and Babahenini, Section II) on STB (Section III-A), reported
# as EPE, 3D PCK and AUC over 20-50 mm (Section III-B). The paper states no
# optimiser or schedule: Adam, lr 1e-4, 80 epochs (the shared schedule).
_base_ = [
    '../_base_/runtime_3d.py', '../_base_/schedules/adam_1e-4_80e.py',
    '../_base_/datasets/stb.py', '../_base_/models/resunet34.py'
]
# The 2D head decodes with the dataset's coordinate codec.
model = dict(heads=dict(keypoints2d=dict(
    decoder=_base_.target_encoders.coords)))
