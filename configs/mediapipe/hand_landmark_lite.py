# MediaPipe Hands' hand landmark model, 'lite' (672 features).
_base_ = ['../_base_/default_runtime.py',
          '../_base_/models/mediapipe_hand_landmark.py']
model = dict(backbone=dict(variant='lite'),
             heads=dict(landmarks=dict(in_channels=672)))
