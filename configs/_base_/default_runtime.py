# Runtime shared by every handkit config.
default_scope = 'handkit'
# mmengine's Runner with safe checkpoint loading (handkit/engine/runner.py);
# tools/train.py and tools/test.py always use it.
runner_type = 'HandRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Plain-data checkpoints, written atomically (handkit/engine/hooks/
    # safe_checkpoint_hook.py); they load with torch.load(weights_only=True).
    checkpoint=dict(
        type='SafeCheckpointHook', interval=1, save_best='PCK_ave',
        rule='greater', max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Stops at the first NaN / inf loss, naming the iteration and the loss
    # terms, before the NaN weights can be saved (handkit/engine/hooks/
    # non_finite_loss_hook.py).
    non_finite_loss=dict(type='NonFiniteLossHook'),
)
# HandVisualizationHook writes a few validation predictions (skeletons and
# predicted maps) to <work_dir>/vis each validation, and to TensorBoard when
# it is installed (tools/train.py then adds its backend).
custom_hooks = [
    dict(type='HandVisualizationHook', num_samples=4),
]

env_cfg = dict(
    # Every config's inputs have one fixed size, so cuDNN's search for the
    # fastest convolution algorithms runs once and pays (GPU only; nothing
    # changes on a CPU). Still float32: only the algorithm is chosen.
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py uses gloo without CUDA
)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
vis_backends = [dict(type='LocalVisBackend')]
# No fixed name: mmengine then names the visualizer after the run, so that
# two runs in one process (tools/quickstart.py --with-cpm) each log to
# their own work dir instead of sharing the first run's instance.
visualizer = dict(type='HandVisualizer', vis_backends=vis_backends)
load_from = None
resume = False
randomness = dict(seed=0)
