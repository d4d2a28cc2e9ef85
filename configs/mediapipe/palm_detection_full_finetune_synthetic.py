# Fine-tuning MediaPipe Hands' converted palm detector ('full') with
# tools/train.py (MediaPipe released no training code for it):
#
#   python tools/convert_mediapipe.py          # once: the released weights
#   python tools/train.py configs/mediapipe/palm_detection_full_finetune_synthetic.py
#
# The model, its codec and its data preprocessor are the inference config's
# (palm_detection_full.py, the _base_ below): a checkpoint of this run loads
# into HandInferencer(detector=(that config, checkpoint)). `load_from` is
# the converted checkpoint under $HANDKIT_HOME (default ~/.cache/handkit),
# as hand_landmark_full_finetune_synthetic.py explains.
#
# The input is the detector's: the whole image letterboxed to 192 x 192
# (HandCrop(mode='image')), here handkit's synthetic hands (docs/
# synthetic.md) rendered once at 256 x 256 into the cache, 2000 training
# images (125 iterations of 16 an epoch), with RandomAffine's +-30 degrees,
# 0.6-1.1 scale and 10 % shift so that hands come at several sizes and
# places. Targets (the MediaPipePalmAnchors codec, handkit/codecs/
# mediapipe_palm.py): an anchor is positive when its centre lies in the
# palm box and the boxes overlap by IoU >= 0.5, plus the best anchor of the
# hand; the head's loss is focal on every anchor's score and Huber on the
# positives' box and 7 palm keypoints (PalmDetectionHead.loss). Every
# synthetic image holds one hand: images without hands (negatives) come only
# from the anchors away from it.
#
# No validation metric: the palm detector's boxes are scored where it is
# used, by the whole pipeline on real photos (benchmarks/
# mediapipe_real_photos.py with HandInferencer(detector=(config, ckpt))).
_base_ = [
    './palm_detection_full.py', '../_base_/schedules/mediapipe_finetune.py',
    '../_base_/datasets/mediapipe_synthetic.py'
]
load_from = ('{{$HANDKIT_HOME:~/.cache/handkit}}'
             '/mediapipe/palm_detection_full.pth')
train_pipeline = dict(
    load=None,
    crop=dict(type='HandCrop', mode='image'),
    affine=dict(type='RandomAffine', rotate_range=30.0,
                scale_range=(0.6, 1.1), shift_ratio=0.1, prob=1.0),
    warp=dict(type='TopdownAffine', input_size=_base_.input_size),
    color=dict(type='PhotometricJitter', prob=1.0),
    targets=dict(type='GenerateTargets',
                 encoders=dict(palms=_base_.codec)),
    pack=dict(type='PackHandInputs'),
)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
# the inference config's loader (its test pipeline) stays in
# palm_detection_full.py, which HandInferencer reads; this run tests nothing
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(save_best=None))
