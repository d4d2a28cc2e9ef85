# The quickstart (nsrm_lpm_g1g6_synthetic.py: NSRM LPM-G1&6, same data,
# schedule, heads and budget) on MediaPipe's real-trained landmark trunk
# instead of the from-scratch quarter-width VGG: BlazeHandLandmark ('full')
# up to its stride-8 blocks (40 channels, 12 x 12 maps at the 96 x 96
# input), its weights those of the converted MediaPipe model
# (`python tools/convert_mediapipe.py`; the estimator's
# init_cfg Pretrained reads its `backbone.*` weights, the rest of the file
# is left out), fine-tuned with the heads. MediaPipe feeds RGB in [0, 1].
# docs/mediapipe.md has the comparison on the real crops of tests/data.
_base_ = ['./nsrm_lpm_g1g6_synthetic.py']
model = dict(
    data_preprocessor=dict(mean=[0, 0, 0], std=[255, 255, 255]),
    backbone=dict(_delete_=True, type='BlazeHandLandmark', variant='full',
                  out_stride=8),
    heads=dict(structure=dict(in_channels=40),
               keypoints=dict(in_channels=40)),
    init_cfg=dict(type='Pretrained',
                  checkpoint='{{$HANDKIT_HOME:~/.cache/handkit}}'
                  '/mediapipe/hand_landmark_full.pth'))
