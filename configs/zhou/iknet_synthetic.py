# IKNet (Zhou et al., "Monocular Real-time Hand Shape and Motion Capture
# using Multi-modal Data", CVPR 2020, Section 4.2): 3D joints (+ bone
# vectors, + the rest pose and its bone vectors) -> 21 global joint
# rotations as quaternions; 7 fully-connected layers (six hidden of 1,024,
# batch norm and sigmoid), losses L_cos, L_l2, L_norm and L_xyz.
# Trained with tools/train_iknet.py, not tools/train.py: the supervision is
# the rotations of handkit's synthetic hand (its forward kinematics knows
# them; the paper fits MANO to MoCap data), drawn afresh from the seed.
# A left-hand model, as the released one (minimal-hand README.md, config.py:
# 4): it trains on left hands only; inverse_kinematics mirrors a right hand
# in and its rotations back (model.hand_side=None: one model for both sides,
# each with its own rest pose: handkit's option).
# Departures: the hands are handkit's natural synthetic hands (palm or back
# within 60 degrees of the camera, natural pose mix) instead of
# MoCap; L_xyz weighs 0.1 (the paper's weights are not stated here; with 1
# the fit of 32 hands after 500 steps was 13.1 degrees instead of 5.7);
# Adam with a cosine decay, sized for a CPU.
default_scope = 'handkit'
model = dict(type='IKNet', num_layers=7, width=1024,
             loss=dict(type='QuaternionLoss', cos_weight=1.0, l2_weight=1.0,
                       norm_weight=1.0),
             xyz_weight=0.1, hand_side='left')
data = dict(num_train=20000, num_val=1000, seed=0,
            pose_mix=dict(open=0.3, point=0.2, pinch=0.25, fist=0.25),
            max_view_angle=60)
train = dict(steps=3000, batch_size=128, lr=1e-3, min_lr=1e-5,
             log_interval=250)
