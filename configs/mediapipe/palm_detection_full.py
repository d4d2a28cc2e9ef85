# MediaPipe Hands' palm detector, 'full' (4 BlazeBlocks per resolution).
_base_ = ['../_base_/default_runtime.py',
          '../_base_/models/mediapipe_palm.py']
model = dict(backbone=dict(variant='full'))
