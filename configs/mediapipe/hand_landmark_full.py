# MediaPipe Hands' hand landmark model, 'full' (1152 features).
_base_ = ['../_base_/default_runtime.py',
          '../_base_/models/mediapipe_hand_landmark.py']
model = dict(backbone=dict(variant='full'),
             heads=dict(landmarks=dict(in_channels=1152)))
