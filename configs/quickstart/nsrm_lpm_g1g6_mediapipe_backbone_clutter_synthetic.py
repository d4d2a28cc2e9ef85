# handkit's recipe for real photos from synthetic hands alone: the quickstart
# on MediaPipe's real-trained landmark trunk
# (nsrm_lpm_g1g6_mediapipe_backbone_synthetic.py: the mesh hands with the
# camera degradations), its training hands drawn over the procedural clutter
# backgrounds (SyntheticHandDataset(background='clutter'); the validation and
# test hands keep the default ones). The transfer study's
# mesh_mediapipe_degrade_clutter cell (docs/synthetic.md): PCK_ave 60.5 on
# the 8 real crops of tests/data and 74.1 on Ge et al.'s 583 real-world
# photos (two seeds; mean pose 20.3 and 23.9). Needs
# `python tools/convert_mediapipe.py` once.
_base_ = ['./nsrm_lpm_g1g6_mediapipe_backbone_synthetic.py']
train_dataloader = dict(dataset=dict(background='clutter'))
