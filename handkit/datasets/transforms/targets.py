"""Target generation: run the codecs on the input-space keypoints.

Pipeline step 6 of docs/architecture.md. Each codec (``handkit/codecs/``,
registry ``CODECS``) turns ``transformed_keypoints`` (K, 2) input pixels and
``keypoints_visible`` (K,) into named float32 arrays, e.g. the keypoint
confidence maps and the limb masks of NSRM (Section 3); this transform merges
them into ``results['targets']``.
"""
from mmcv.transforms import BaseTransform

from handkit.registry import CODECS, TRANSFORMS


@TRANSFORMS.register_module()
class GenerateTargets(BaseTransform):
    """Encode training targets with one or more codecs.

    Args:
        encoders: a codec config dict (``dict(type='KeypointConfidenceMap',
            ...)``), a list of them, or a dict of named codec configs
            (``dict(kcm=dict(type=...), lpm=dict(type=...))``, so that a
            config can override one codec by name); each is built once with
            ``CODECS.build``, in order.

    Calls ``codec.encode(results['transformed_keypoints'],
    results['keypoints_visible'])`` for each codec in order and merges the
    returned dicts into ``results['targets']`` (created when absent).

    Raises:
        ValueError: two codecs (or a codec and an earlier transform) produce
            the same target name.
    """

    def __init__(self, encoders):
        super().__init__()
        if isinstance(encoders, dict):
            configs = ([encoders] if 'type' in encoders else
                       list(encoders.values()))
        else:
            configs = encoders
        if not isinstance(configs, (list, tuple)) or not configs or not all(
                isinstance(cfg, dict) for cfg in configs):
            raise TypeError(f'GenerateTargets: encoders must be a codec '
                            f'config dict, a non-empty list of them or a '
                            f'dict of named ones, got {encoders!r}')
        self.encoder_cfgs = encoders
        self.encoders = [CODECS.build(cfg) for cfg in configs]

    def transform(self, results):
        for key in ('transformed_keypoints', 'keypoints_visible'):
            if key not in results:
                raise KeyError(f"GenerateTargets: results have no '{key}' "
                               f'(run TopdownAffine first; sample '
                               f"{results.get('img_path')})")
        targets = results.setdefault('targets', {})
        for codec in self.encoders:
            encoded = codec.encode(results['transformed_keypoints'],
                                   results['keypoints_visible'])
            for name, value in encoded.items():
                if name in targets:
                    raise ValueError(
                        f"GenerateTargets: target '{name}' is produced twice "
                        f'(again by {type(codec).__name__})')
                targets[name] = value
        return results

    def __repr__(self):
        return f'{type(self).__name__}(encoders={self.encoder_cfgs})'
