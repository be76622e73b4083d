# Length of the MFNet Stage-2 runs (linear probe and UPerNet): 20 epochs,
# validation after each. The two configs differ in optimizer and learning
# rate schedule, so each defines its own, ending at _base_.max_epochs.
max_epochs = 20
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
