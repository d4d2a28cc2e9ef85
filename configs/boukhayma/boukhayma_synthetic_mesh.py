# Boukhayma et al. (CVPR 2019, docs/boukhayma.md) on handkit's mesh hands
# (SyntheticHandDataset(hand='mesh'): the open hand rendered, the same hand
# model the network regresses): boukhayma_synthetic.py's model, losses and
# schedule, with the vertex errors (MPVPE, PA-MPVPE, F@5 / F@15 mm) beside
# the joint errors. The paper pre-trains on rendered random MANO hands; this
# is that step on the open hand.
_base_ = ['./boukhayma_synthetic.py']
mesh_hands = dict(hand='mesh')
train_dataloader = dict(dataset=mesh_hands)
val_dataloader = dict(dataset=mesh_hands)
test_dataloader = dict(dataset=mesh_hands)
