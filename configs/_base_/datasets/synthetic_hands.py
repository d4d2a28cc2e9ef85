# The hands that handkit's synthetic configs train and test on (the renderer,
# docs/synthetic.md, draws every viewpoint and independent random joint
# angles by default; natural_hands restricts both, as hand photos are):
# both hands, the palm or the back within 60 degrees of facing the camera,
# and natural poses (open, pointing / counting, pinches, fists). Each split
# is rendered once into the cache and reused by every epoch and run.
natural_hands = dict(
    pose_mix=dict(open=0.3, point=0.2, pinch=0.25, fist=0.25),
    max_view_angle=60)
synthetic_cache_dir = 'work_dirs/.synthetic_cache'
