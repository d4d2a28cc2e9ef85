"""The part of a handkit model that another runtime runs, decoded by handkit.

:class:`BackendModel` stands where the PyTorch estimator stands: the same
data preprocessor before the network and the same numpy ``decode`` of each
head after it (:meth:`CascadeEstimator.decode`), so
:func:`handkit.apis.inference`, ``HandInferencer``, ``tools/demo.py`` and
``tools/test.py`` run it unchanged. A subclass runs the network between
them: :class:`~handkit.deploy.OnnxRuntimeModel` (ONNX Runtime),
:class:`~handkit.deploy.LiteRTModel` (LiteRT).
"""
import contextlib
from typing import Any, Dict, Iterator, List, Optional, Union

import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope

from handkit.registry import MODELS


def build_decoder(cfg: Config) -> tuple:
    """(estimator without weights, its data preprocessor) of ``cfg``.

    The estimator only decodes (its heads' codecs), so it is built on the
    meta device where it can be: no memory for weights it never uses. The
    data preprocessor, which runs, is built on the CPU.
    """
    init_default_scope(cfg.get('default_scope', 'handkit'))
    try:
        with torch.device('meta'):
            estimator = MODELS.build(cfg.model)
    except (RuntimeError, NotImplementedError) as error:
        if 'meta' not in str(error):
            raise
        # a head that computes constants from its hand model when built
        # (Boukhayma's mean vector) needs real tensors
        estimator = MODELS.build(cfg.model)
    preprocessor = cfg.model.get('data_preprocessor')
    preprocessor = (MODELS.build(preprocessor) if preprocessor is not None
                    else None)
    return estimator, preprocessor


@contextlib.contextmanager
def torch_threads(count: Optional[int]) -> Iterator[None]:
    """PyTorch's intra-op threads set to ``count`` inside the block (None:
    unchanged), restored after it."""
    previous = torch.get_num_threads()
    if count is not None and count != previous:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


class BackendModel(BaseModel):
    """A config's estimator whose network another runtime runs.

    ``model(inputs, data_samples, mode)``, as the PyTorch estimator:
    'predict' -> the list of prediction dicts of
    :meth:`CascadeEstimator.decode`; 'tensor' -> ``{'<head>.<tensor>':
    tensor}``, the network outputs. There is no 'loss': train in PyTorch.
    Subclasses set ``backend`` and define :meth:`run` (the network's
    ``{'<head>.<tensor>': array}`` for the preprocessed (B, C, H, W)
    inputs) and :meth:`describe` (one line). ``preprocess_threads``: the
    PyTorch threads that the pre-processing around :meth:`run` should take
    (``torch_threads``), None: PyTorch's own.
    """

    backend = ''
    preprocess_threads: Optional[int] = None

    def __init__(self, cfg: Config) -> None:
        estimator, preprocessor = build_decoder(cfg)
        super().__init__(data_preprocessor=preprocessor)
        self.cfg = cfg
        # Kept out of the module tree: its parameters are on the meta device
        # and must not move with ``.to()`` nor count as this model's.
        self.__dict__['estimator'] = estimator

    @property
    def heads(self) -> Any:
        """The config's heads (their codecs decode)."""
        return self.estimator.heads

    @property
    def head_names(self) -> List[str]:
        return self.estimator.head_names

    @property
    def device_type(self) -> str:
        """Where the network runs, whatever device the inputs come from."""
        return 'cpu'

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[dict] = None, mode: str = 'tensor',
                output_maps: Optional[bool] = None
                ) -> Union[List[dict], Dict[str, torch.Tensor]]:
        arrays = self.run(inputs)
        if mode == 'tensor':
            return {name: torch.from_numpy(array)
                    for name, array in arrays.items()}
        if mode == 'predict':
            return self.estimator.decode(arrays, data_samples, output_maps)
        raise ValueError(f"{type(self).__name__} runs mode 'predict' or "
                         f"'tensor', got {mode!r} (train the PyTorch model)")
