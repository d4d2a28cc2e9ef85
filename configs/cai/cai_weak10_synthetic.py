# cai_synthetic.py with 10 % of the training hands keeping their 3D label
# (SubsetLabels3D: a fixed subset drawn from each sample's index and the
# seed); the other 90 % learn from their 2D joints and the depth regulariser
# alone (Cai et al.'s weak supervision, docs/cai.md).
_base_ = ['./cai_synthetic.py']
train_dataloader = dict(dataset=dict(pipeline=dict(
    labels_3d=dict(fraction=0.1))))
