"""Engine glue: the runner, hooks, the autocast optimiser wrapper, the
tools' preflight and safe checkpoint loading.

The package imports nothing: the models read their pretrained weights
through :mod:`handkit.engine.checkpoint`, which must not bring the runner
and its hooks (and through them the datasets) along. The registries import
``hooks``, ``runner`` and ``optim_wrapper`` when a config names one of
their types (:mod:`handkit.registry`); import a class from its module
(``from handkit.engine.runner import HandRunner``).
"""
