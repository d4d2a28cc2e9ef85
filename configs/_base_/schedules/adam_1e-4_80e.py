# NSRM Section 4.2: Adam, initial learning rate 1e-4, other settings default.
# The paper does not state the number of epochs; its loss-weight schedule
# decays every 20 epochs, and the authors' released configs train for 80
# (`"epochs": 80` in their configs/LPM_G1_6.json).
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
train_cfg = dict(by_epoch=True, max_epochs=80, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32, enable=False)
