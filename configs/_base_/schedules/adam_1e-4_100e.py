# NSRM Section 4.2: Adam, initial learning rate 1e-4, other settings default.
# The paper does not state the number of epochs; its loss-weight schedule
# decays every 20 epochs, and 100 epochs is what its released code trains.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32, enable=False)
