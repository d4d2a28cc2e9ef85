"""handkit's models: backbones, heads, losses, estimators, data preprocessors,
the hand-mesh layer and the inverse-kinematics network.

The package imports nothing: the synthetic generator poses the hand mesh
of :mod:`handkit.models.hand_model`, which must not bring every model (and
through them the datasets) along. ``handkit.registry.MODELS`` imports the
sub-packages that register model classes when a config first names a type.
"""
