"""Target generation: run the codecs on the sample's keypoints.

Pipeline step 6 of docs/architecture.md. Each codec (``handkit/codecs/``,
registry ``CODECS``) turns keys of ``results`` into named float32 arrays, e.g.
``transformed_keypoints`` (K, 2) input pixels and ``keypoints_visible`` (K,)
into the keypoint confidence maps and limb masks of NSRM (Section 3), or
``keypoints_3d`` (21, 3) mm into ResUnet's bones (Bekiri and Babahenini, eq.
3); this transform merges them into ``results['targets']``.
"""
from typing import Sequence, Union

from mmcv.transforms import BaseTransform

from handkit.codecs.base import BaseCodec
from handkit.registry import CODECS, TRANSFORMS


@TRANSFORMS.register_module()
class GenerateTargets(BaseTransform):
    """Encode training targets with one or more codecs.

    Args:
        encoders: a codec config dict (``dict(type='KeypointConfidenceMap',
            ...)``), a list of them, or a dict of named codec configs
            (``dict(kcm=dict(type=...), lpm=dict(type=...))``, so that a
            config can override one codec by name); each is built once with
            ``CODECS.build``, in order; each must be a
            :class:`~handkit.codecs.base.BaseCodec`.

    Calls ``codec.encode(*(results[key] for key in codec.encode_inputs))``
    for each codec in order and merges the returned dicts into
    ``results['targets']`` (created when absent). ``encode_inputs`` is
    ``('transformed_keypoints', 'keypoints_visible')`` unless the codec
    declares others (``BoneTree``: ``('keypoints_3d',
    'keypoints_visible')``).

    Raises:
        TypeError: a codec is not a ``BaseCodec``.
        KeyError: ``results`` lack a key a codec takes (names both).
        ValueError: two codecs (or a codec and an earlier transform) produce
            the same target name.
    """

    def __init__(self, encoders: Union[dict, Sequence[dict]]) -> None:
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
        for cfg, codec in zip(configs, self.encoders):
            if not isinstance(codec, BaseCodec):
                raise TypeError(
                    f"GenerateTargets: codec {cfg.get('type')!r} is a "
                    f'{type(codec).__name__}, not a BaseCodec subclass '
                    '(handkit/codecs/base.py)')

    def transform(self, results: dict) -> dict:
        targets = results.setdefault('targets', {})
        for codec in self.encoders:
            inputs = codec.encode_inputs
            for key in inputs:
                if key not in results:
                    hint = ('; run TopdownAffine first'
                            if key == 'transformed_keypoints' else '')
                    raise KeyError(
                        f"GenerateTargets: results have no '{key}' (needed "
                        f'by {type(codec).__name__}{hint}; sample '
                        f"{results.get('img_path')})")
            encoded = codec.encode(*(results[key] for key in inputs))
            for name, value in encoded.items():
                if name in targets:
                    raise ValueError(
                        f"GenerateTargets: target '{name}' is produced twice "
                        f'(again by {type(codec).__name__})')
                targets[name] = value
        return results

    def __repr__(self):
        return f'{type(self).__name__}(encoders={self.encoder_cfgs})'
