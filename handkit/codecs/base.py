"""The codec contract: what every codec in ``handkit/codecs`` implements.

A codec turns one sample's annotation into training targets (``encode``) and a
head's output back into annotation space (``decode``), as MMPose's codecs do
(``mmpose/codecs/base.py``). The pipeline's ``GenerateTargets`` reads the
sample's keys that the codec names in ``encode_inputs``, calls ``encode`` on
them and merges the returned dict into ``results['targets']``; a head calls
its ``decoder``'s ``decode``. A config states each codec once (``codec =
dict(...)``) and passes that one dict to the target generator and to the
head's decoder, so the two cannot drift apart;
``handkit.engine.preflight.check_codecs`` compares their
:meth:`BaseCodec.settings` before a run starts.
"""
from abc import ABCMeta, abstractmethod
from typing import Any, Dict, Tuple


class BaseCodec(metaclass=ABCMeta):
    """Base of handkit's codecs.

    Class attributes a codec sets:

    * ``encode_inputs``: the ``results`` keys ``GenerateTargets`` passes to
      :meth:`encode`, in order (default: the input-pixel keypoints and their
      visibility, ``('transformed_keypoints', 'keypoints_visible')``);
    * ``SETTINGS``: the names of the attributes that define the codec (its
      constructor arguments as stored), returned by :meth:`settings`.
    """

    encode_inputs: Tuple[str, ...] = ('transformed_keypoints',
                                      'keypoints_visible')
    SETTINGS: Tuple[str, ...] = ()

    @abstractmethod
    def encode(self, *inputs: Any) -> Dict[str, Any]:
        """One sample's ``encode_inputs`` -> ``{target name: float32 array}``.
        """

    def decode(self, *outputs: Any) -> Any:
        """A head's outputs -> keypoints (input pixels), joints or bones.

        Codecs of auxiliary targets (``LimbMask``) have nothing to decode.
        """
        raise NotImplementedError(
            f'{type(self).__name__} encodes training targets only; it has no '
            f'decode')

    def settings(self) -> Dict[str, Any]:
        """``{name: value}`` of ``SETTINGS``, sizes as tuples: two codecs with
        equal settings encode and decode alike."""
        values = {}
        for name in self.SETTINGS:
            value = getattr(self, name)
            if hasattr(value, 'tolist'):  # numpy sizes
                value = value.tolist()
            values[name] = tuple(value) if isinstance(value, list) else value
        return values

    def __repr__(self) -> str:
        args = ', '.join(f'{name}={value!r}'
                         for name, value in self.settings().items())
        return f'{type(self).__name__}({args})'
