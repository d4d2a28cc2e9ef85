# Fine-tuning MediaPipe Hands' converted landmark model ('full') with
# tools/train.py, like any handkit model (MediaPipe's own Model Maker
# retrains only the gesture classifier, never the landmark network):
#
#   python tools/convert_mediapipe.py          # once: the released weights
#   python tools/train.py configs/mediapipe/hand_landmark_full_finetune_synthetic.py
#
# The model, its codec and its data preprocessor are the inference
# config's (hand_landmark_full.py, the _base_ below): a checkpoint of this
# run loads into HandInferencer(landmarks=(that config, checkpoint)).
# `load_from` is the converted checkpoint, `$HANDKIT_HOME/mediapipe/
# hand_landmark_full.pth` with HANDKIT_HOME defaulting to ~/.cache/handkit,
# as handkit.apis.mediapipe_files finds it. A config cannot call that
# function; mmengine substitutes `{{$VAR:default}}` with the environment
# variable VAR, or the default, when it reads the file (handkit's loader
# expands the `~`). An empty HANDKIT_HOME is an error of mmengine's (unset
# it instead); `--cfg-options load_from=...` names any other file.
#
# The data: handkit's synthetic hands (docs/synthetic.md: natural poses,
# palm or back within 60 degrees of the camera, 10 % occluders), rendered
# once at 256 x 256 into the cache, 2000 training hands (125 iterations of
# 16 a epoch), the val / test splits for PCK.
#
# The crop is MediaPipe's ROI (MediaPipeHandROI,
# handkit/datasets/transforms/mediapipe_roi.py): the square of the hand's
# palm and lower-finger landmarks, turned so that the wrist -> middle MCP
# points up, x 2.0 (hand_landmark_landmarks_to_roi.pbtxt): the crop the
# landmark model was trained on and gets at inference. RandomAffine adds
# +-15 degrees, +-15 % scale and 5 % shift to it.
#
# Targets (MediaPipeLandmarks codec): x, y of the 21 landmarks in crop
# pixels (z weight 0: no relative depth is encoded); hand presence 1 for
# every crop: crops without a hand (negatives) are NOT generated, so the
# presence output only learns "hand" here, and its loss stays near 0 for
# the released model; handedness from the synthetic `hand_side` (a left
# hand is a mirrored right one; ordinary, not mirrored images).
_base_ = [
    './hand_landmark_full.py', '../_base_/schedules/mediapipe_finetune.py',
    '../_base_/datasets/mediapipe_synthetic.py'
]
load_from = ('{{$HANDKIT_HOME:~/.cache/handkit}}'
             '/mediapipe/hand_landmark_full.pth')
# The training encoder: the model's decoder (hand_landmark_full.py's
# codec) plus the handedness target.
finetune_codec = dict(_base_.codec, use_hand_side=True, mirrored=False)
# Named steps (an experiment overrides one by name); `load` is None for the
# synthetic hands (their images are already decoded) and LoadImage for
# image files (hand_landmark_full_finetune_coco.py).
train_pipeline = dict(
    load=None,
    crop=dict(type='MediaPipeHandROI'),
    affine=dict(type='RandomAffine', rotate_range=15.0,
                scale_range=(0.85, 1.15), shift_ratio=0.05, prob=1.0),
    warp=dict(type='TopdownAffine', input_size=_base_.input_size),
    color=dict(type='PhotometricJitter', prob=1.0),
    targets=dict(type='GenerateTargets',
                 encoders=dict(landmarks=finetune_codec)),
    pack=dict(type='PackHandInputs'),
)
val_pipeline = dict(
    load=None,
    crop=dict(type='MediaPipeHandROI'),
    warp=dict(type='TopdownAffine', input_size=_base_.input_size),
    pack=dict(type='PackHandInputs'),
)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, **_base_.loader, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.synthetic, num_samples=400, split='val',
                 test_mode=True, pipeline=val_pipeline))
# replaces the inference config's OneHand10K loader
test_dataloader = dict(
    _delete_=True,
    batch_size=32, **_base_.loader, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.synthetic, num_samples=400, split='test',
                 test_mode=True, pipeline=val_pipeline))
# PCK at the synthetic set's thresholds (0.04-0.12 of the keypoint box);
# the checkpoint hook keeps the best PCK_ave.
val_evaluator = dict(type='PCKMetric')
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=25))
