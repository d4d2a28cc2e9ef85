"""CascadeEstimator: backbone, optional neck and an ordered cascade of heads.

NSRM Section 3 and Figure 1b: a backbone produces features, then each head
of the cascade takes the features and the prior maps of the head before it
(``BaseHead.prior_maps``, one (B, C, h, w) tensor). This one rule expresses
NSRM (structure-mask head -> KCM head), CPM (KCM head alone), ResUnet
(Bekiri and Babahenini: LatentHeatmapHead -> BoneTreeHead), the
local-regression hourglass (Li and Wang) and lets a structure-mask head be
put in front of any head by config alone (docs/architecture.md sections
3-5). When the backbone returns a dict of features (ResNet34UNet), the
config says which of them each head receives (``head_features``): the
heads never read a backbone's keys themselves.
"""
import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import nn

from handkit.geometry import apply_affine, invert_affine
from handkit.labels import gt_key, scored_labels
from handkit.models.heads.base_head import BaseHead
from handkit.models.precision import checked_test_cfg, precision_context
from handkit.registry import MODELS

# Meta keys copied into each prediction dict, as (meta key, prediction
# key): the scored labels as gt_<key> (handkit.labels, where labels are
# declared), and as they are where the sample comes from and, to draw maps
# on the image, its image -> input pixels map
_META_TO_PREDICTION = tuple(
    [(key, gt_key(key)) for key in scored_labels()]
    + [(key, key) for key in ('bbox', 'img_path', 'img_id', 'warp_mat',
                              'input_size')])


def _mirror_back(result):
    """A sample mirrored at the input (``TopdownAffine(mirror_side=...)``,
    ``DepthCubeCrop(mirror_side=...)``): its 3D prediction and 3D label (joints, vertices, the depth cube's
    joints) back in the image's frame (camera x negated); 2D keypoints come
    back through the inverse ``warp_mat``."""
    for name in ('pred_keypoints_3d', 'pred_keypoints_3d_normalized',
                 'pred_joints_cube',
                 'gt_keypoints_3d', 'pred_vertices', 'gt_vertices'):
        if name in result:
            points = np.array(result[name], dtype=np.float64, copy=True)
            points[..., 0] = -points[..., 0]
            result[name] = points.astype(np.asarray(result[name]).dtype)


def _is_map_key(name):
    """Head prediction keys that hold maps (``heatmaps``,
    ``structure_maps``): kept only with output_maps."""
    return name.endswith('maps')


# How the prediction dicts name what the heads predict, stated once: a
# head's ``k`` is ``pred_<k>``, beside the ``gt_<k>`` label a metric scores
# it against; a map (``_is_map_key``) has no label twin and keeps its name.
PRED_PREFIX = 'pred_'


def prediction_key(name: str) -> str:
    """The prediction-dict key of a head's prediction ``name``
    (``keypoints_3d`` -> ``pred_keypoints_3d``, ``heatmaps`` as is)."""
    return name if _is_map_key(name) else PRED_PREFIX + name


def head_predictions(prediction: Mapping[str, Any]) -> Dict[str, Any]:
    """What the heads predicted in one prediction dict, under the heads' own
    names: the inverse of :func:`prediction_key` (``pred_keypoints`` ->
    ``keypoints``, maps as they are), leaving out the labels and metas the
    dict also carries (``gt_*``, ``warp_mat``, ...)."""
    return {(key[len(PRED_PREFIX):] if key.startswith(PRED_PREFIX)
             else key): value
            for key, value in prediction.items()
            if key.startswith(PRED_PREFIX) or _is_map_key(key)}


def _as_float32(outputs: Any) -> Any:
    """``outputs`` (tensors in dicts, lists and tuples) with every floating
    tensor in float32."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.is_floating_point() else outputs
    if isinstance(outputs, dict):
        return {key: _as_float32(value) for key, value in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(_as_float32(value) for value in outputs)
    return outputs


def _select_feature(feats, selector, head_name):
    """``feats[key][index]`` for ``selector = (key, index)``, or feats[key];
    a dict of selectors gives the dict of their selections."""
    if isinstance(selector, dict):
        return {name: _select_feature(feats, part, head_name)
                for name, part in selector.items()}
    key, *index = (selector if isinstance(selector, (list, tuple))
                   else (selector, ))
    if not isinstance(feats, dict) or key not in feats:
        found = sorted(feats) if isinstance(feats, dict) else type(
            feats).__name__
        raise ValueError(f"head '{head_name}': head_features asks for "
                         f"backbone output '{key}', the backbone gives "
                         f'{found}')
    selected = feats[key]
    for position in index:
        selected = selected[position]
    return selected


def _input_to_original(keypoints, metas):
    """Map (B, K, 2) input-pixel keypoints to original-image pixels.

    Each meta's ``warp_mat`` (2, 3) maps original to input pixels; its
    inverse is applied. A meta without ``warp_mat`` keeps input pixels.
    """
    identity = np.eye(3)[:2]
    warps = [np.asarray(meta.get('warp_mat', identity), np.float64)
             for meta in metas]
    for index, warp in enumerate(warps):
        if warp.shape != (2, 3):
            raise ValueError(f'metas[{index}] warp_mat must be (2, 3), got '
                             f'{warp.shape}')
    return apply_affine(keypoints, invert_affine(np.stack(warps)))


@MODELS.register_module()
class CascadeEstimator(BaseModel):
    """Top-down estimator running a cascade of heads on backbone features.

    Args:
        backbone: config of the backbone (e.g. ``VGG19CPM``).
        heads: head configs run in order: a list, or a dict name -> config
            (insertion order; lets a config override one head by name through
            ``_base_`` inheritance, e.g. ``heads=dict(structure=dict(
            groups='G1G6'))``; a head set to None is dropped, e.g.
            ``--cfg-options model.heads.structure=None``). Each is a
            ``BaseHead``; a head after the first whose config has no
            ``prior_channels`` gets the previous head's ``out_channels``.
        neck: optional config of a module between backbone and heads.
        data_preprocessor: config (or module) of the data preprocessor,
            e.g. ``HandDataPreprocessor``.
        init_cfg: mmengine weight-initialisation config.
        test_cfg: ``output_maps=True`` adds each head's maps (e.g.
            ``structure_maps``, ``heatmaps``) to the predictions;
            ``precision='bf16'`` predicts under bfloat16 autocast where the
            device computes it natively ('fp32', the default, elsewhere;
            ``handkit.models.precision``).
        head_features: dict head name -> which backbone output that head
            receives as ``feats`` when the backbone returns a dict: a key,
            ``(key, index)`` (e.g. ``structure=('decoder_features', -1)``:
            the last Unet-Block of ResNet34UNet), or a dict of those
            (``bones=dict(maps=('decoder_features', -1), encoder=
            ('features', -1))``: the head gets a dict with its own names).
            Heads not named get the whole backbone output.
        pseudo_label: None, or ``dict(head='mesh', tensor='vertices',
            target='pseudo_vertices')``: the pseudo ground truth of Ge et
            al. (CVPR 2019, Section 3.4): on real images without meshes the
            model is fine-tuned against the output of the pretrained model.
            Here that model is the estimator as training starts (after
            ``load_from``): the first ``mode='loss'`` call keeps a frozen,
            eval-mode deep copy (not a submodule: not trained, saved or
            moved by ``.train()``), whose ``<head>.<tensor>`` output goes
            into the batch's targets as ``target`` before the heads' losses.
            A resumed run takes the resumed weights as that copy: start the
            fine-tuning from the pretrained checkpoint with ``load_from``.

    Predictions (``mode='predict'``): a head's ``keypoints`` (B, K, 2) input
    px and ``scores`` become ``pred_keypoints`` (original pixels, through the
    inverse ``warp_mat``) and ``pred_scores``; keys ending in ``maps``
    (``heatmaps``, ``structure_maps``) are maps, kept only with
    ``output_maps``; every other key
    ``k`` becomes ``pred_<k>`` per sample (``pred_keypoints_3d``,
    ``pred_joints_cube``, ``pred_bones``): :func:`prediction_key`, which
    :func:`head_predictions` reverses. Two heads predicting the same key
    is an error, as two heads returning the same loss name is. Each
    scored label of the meta (``handkit.labels``: ``keypoints_3d``,
    ``vertices``, ...) is copied to ``gt_<key>`` for the metrics;
    ``warp_mat`` and ``input_size`` are carried along, to place the maps
    on the image.
    """

    def __init__(self, backbone: dict,
                 heads: Union[Sequence[dict], Dict[str, Optional[dict]]],
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 test_cfg: Optional[dict] = None,
                 head_features: Optional[dict] = None,
                 pseudo_label: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if isinstance(heads, dict):
            heads = {name: cfg for name, cfg in heads.items()
                     if cfg is not None}
        if not heads:
            raise ValueError('CascadeEstimator needs at least one head')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        # names of the heads (their keys when given as a dict), in order
        self.head_names = (list(heads) if isinstance(heads, dict) else
                           [str(index) for index in range(len(heads))])
        head_cfgs = heads.values() if isinstance(heads, dict) else heads
        self.heads = nn.ModuleList()
        for head_cfg in head_cfgs:
            head_cfg = copy.deepcopy(head_cfg)
            if len(self.heads) > 0 and 'prior_channels' not in head_cfg:
                head_cfg['prior_channels'] = self.heads[-1].out_channels
            head = MODELS.build(head_cfg)
            if not isinstance(head, BaseHead):
                raise TypeError(
                    f"head '{self.head_names[len(self.heads)]}' is a "
                    f'{type(head).__name__}, not a BaseHead subclass '
                    '(handkit/models/heads/base_head.py)')
            self.heads.append(head)
        self.test_cfg = checked_test_cfg(test_cfg)
        self.head_features = dict(head_features or {})
        unknown = sorted(set(self.head_features) - set(self.head_names))
        if unknown:
            raise ValueError(f'head_features names heads {unknown} that the '
                             f'cascade does not have ({self.head_names})')
        self.pseudo_label = None if pseudo_label is None else dict(
            dict(head='mesh', tensor='vertices', target='pseudo_vertices'),
            **pseudo_label)
        if self.pseudo_label and \
                self.pseudo_label['head'] not in self.head_names:
            raise ValueError(f"pseudo_label's head "
                             f"{self.pseudo_label['head']!r} is not one of "
                             f'the heads {self.head_names}')
        if getattr(self.data_preprocessor, 'channels_last', False):
            # the weights in the inputs' memory format: oneDNN then reorders
            # nothing per call (loading a checkpoint keeps the format)
            self.to(memory_format=torch.channels_last)

    @property
    def teacher(self) -> Optional['CascadeEstimator']:
        """The frozen copy of ``pseudo_label`` (None until the first loss
        call)."""
        return self.__dict__.get('_teacher')

    def _pseudo_targets(self, inputs: torch.Tensor,
                        data_samples: dict) -> dict:
        """``data_samples`` with the frozen copy's output as the
        ``pseudo_label`` target (the copy made on the first call)."""
        teacher = self.teacher
        if teacher is None:
            teacher = copy.deepcopy(self)
            teacher.pseudo_label = None
            teacher.eval()
            teacher.requires_grad_(False)
            self.__dict__['_teacher'] = teacher  # not a submodule
        index = self.head_names.index(self.pseudo_label['head'])
        with torch.no_grad():
            outputs = teacher(inputs, mode='tensor')[index]
        targets = dict(data_samples.get('targets') or {})
        targets[self.pseudo_label['target']] = \
            outputs[self.pseudo_label['tensor']].detach()
        return dict(data_samples, targets=targets)

    def extract_feat(self, inputs: torch.Tensor) -> Any:
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[dict] = None, mode: str = 'tensor',
                output_maps: Optional[bool] = None
                ) -> Union[list, Dict[str, torch.Tensor]]:
        """Run the cascade.

        Args:
            inputs: float (B, 3, H, W), normalised.
            data_samples: the batch dict ``{'targets': ..., 'metas': ...}``
                of ``HandDataPreprocessor`` (needed by 'loss'; 'predict'
                uses its metas when present).
            mode: 'tensor' -> list of every head's outputs; 'loss' -> dict of
                named losses; 'predict' -> list of B prediction dicts.
            output_maps: 'predict' keeps the heads' maps in the predictions;
                None: as ``test_cfg['output_maps']`` says (default False).
        """
        if mode == 'loss' and self.pseudo_label and data_samples is not None:
            data_samples = self._pseudo_targets(inputs, data_samples)
        # a prediction runs in test_cfg's precision (training's autocast is
        # the optimiser wrapper's; 'tensor' is what ONNX export traces)
        head_outputs = (self._predict_outputs(inputs) if mode == 'predict'
                        else self._run_heads(inputs))
        if mode == 'tensor':
            return head_outputs
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("mode='loss' needs data_samples with "
                                 'targets')
            return self._merge_losses(head_outputs, data_samples)
        if mode == 'predict':
            if output_maps is None:
                output_maps = bool(self.test_cfg.get('output_maps', False))
            return self._predict(head_outputs, data_samples, len(inputs),
                                 output_maps)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got "
                         f'{mode!r}')

    def _run_heads(self, inputs: torch.Tensor) -> List[dict]:
        """Every head's outputs, in order, each given the previous head's
        prior maps."""
        feats = self.extract_feat(inputs)
        prior, head_outputs = None, []
        for index, (name, head) in enumerate(zip(self.head_names,
                                                 self.heads)):
            head_feats = (feats if name not in self.head_features else
                          _select_feature(feats, self.head_features[name],
                                          name))
            outputs = head(head_feats, prior)
            head_outputs.append(outputs)
            if index + 1 < len(self.heads):
                prior = head.prior_maps(outputs)
        return head_outputs

    def _predict_outputs(self, inputs: torch.Tensor) -> List[dict]:
        """The heads' outputs in ``test_cfg['precision']``, as float32 (the
        decoders read numpy)."""
        precision = self.test_cfg.get('precision', 'fp32')
        with precision_context(precision, inputs.device):
            head_outputs = self._run_heads(inputs)
        return (head_outputs if precision == 'fp32' else
                _as_float32(head_outputs))

    def predict_tensors(self, inputs: torch.Tensor
                        ) -> Dict[str, torch.Tensor]:
        """The tensors the heads decode, named ``'<head>.<tensor>'``.

        Args:
            inputs: float (B, C, H, W), normalised (the data preprocessor's
                output).

        Returns:
            dict in cascade order, e.g. ``{'structure.structure_maps':
            (B, 7, h, w), 'keypoints.heatmaps': (B, 21, h, w)}`` for NSRM:
            each head's :meth:`BaseHead.predict_tensors`, computed in
            ``test_cfg['precision']``.
        """
        tensors = {}
        for name, head, outputs in zip(self.head_names, self.heads,
                                       self._predict_outputs(inputs)):
            for key, tensor in head.predict_tensors(outputs).items():
                tensors[f'{name}.{key}'] = tensor
        return tensors

    def decode(self, tensors: Mapping[str, np.ndarray],
               data_samples: Optional[dict] = None,
               output_maps: Optional[bool] = None) -> List[dict]:
        """Prediction dicts, as ``mode='predict'`` returns them, from the
        numpy arrays of :meth:`predict_tensors` (e.g. the outputs of an ONNX
        Runtime session), through each head's :meth:`BaseHead.decode`.

        Args:
            tensors: ``'<head>.<tensor>'`` -> (B, ...) array.
            data_samples: the batch dict (its metas: ``warp_mat``, the cube
                of a depth crop); None for bare inputs.
            output_maps: keep the maps; None: as ``test_cfg`` says.
        """
        per_head = {name: {} for name in self.head_names}
        for key, array in tensors.items():
            head_name, _, tensor_name = key.rpartition('.')
            if head_name not in per_head:
                raise ValueError(f'decode: tensor {key!r} names no head of '
                                 f'the cascade ({self.head_names})')
            per_head[head_name][tensor_name] = np.asarray(array)
        empty = [name for name, arrays in per_head.items() if not arrays]
        if empty:
            raise ValueError(f'decode: no tensors for the heads {empty}; '
                             f'got {sorted(tensors)}')
        if output_maps is None:
            output_maps = bool(self.test_cfg.get('output_maps', False))
        batch_size = len(next(iter(tensors.values())))
        preds = self._merge_heads('decode', list(per_head.values()),
                                  data_samples, 'predict')
        return self._format_predictions(preds, data_samples, batch_size,
                                        output_maps)

    def _merge_heads(self, method, head_outputs, batch, what):
        """Union of ``head.<method>(outputs, batch)`` over the heads; a name
        two heads both give is an error."""
        merged, owner = {}, {}
        for head_name, head, outputs in zip(self.head_names, self.heads,
                                            head_outputs):
            for name, value in getattr(head, method)(outputs, batch).items():
                if name in merged:
                    raise ValueError(
                        f"heads '{owner[name]}' and '{head_name}' both "
                        f"{what} '{name}'")
                merged[name], owner[name] = value, head_name
        return merged

    def _merge_losses(self, head_outputs, batch):
        return self._merge_heads('loss', head_outputs, batch, 'return loss')

    def _predict(self, head_outputs, batch, batch_size, output_maps):
        preds = self._merge_heads('predict', head_outputs, batch, 'predict')
        return self._format_predictions(preds, batch, batch_size,
                                        output_maps)

    def _format_predictions(self, preds, batch, batch_size, output_maps):
        """Merged head predictions -> one dict per sample (original-image
        keypoints, ``pred_<key>``, maps with ``output_maps``, metas)."""
        metas = (batch or {}).get('metas') or [{}] * batch_size
        if len(metas) != batch_size:
            raise ValueError(f'got {len(metas)} metas for a batch of '
                             f'{batch_size} inputs')
        results = [{} for _ in range(batch_size)]
        if 'keypoints' in preds:
            keypoints = _input_to_original(preds.pop('keypoints'), metas)
            scores = np.asarray(preds.pop('scores'), np.float32)
            for result, sample_keypoints, sample_scores in zip(
                    results, keypoints, scores):
                result[prediction_key('keypoints')] = sample_keypoints
                result[prediction_key('scores')] = sample_scores
        for result, meta in zip(results, metas):
            result.update({name: meta[key]
                           for key, name in _META_TO_PREDICTION
                           if key in meta})
        for name, values in preds.items():
            if _is_map_key(name) and not output_maps:
                continue
            if isinstance(values, torch.Tensor):
                values = values.detach().cpu().numpy()
            for result, sample_values in zip(results, values):
                result[prediction_key(name)] = sample_values
        for result, meta in zip(results, metas):
            if meta.get('hand_mirrored'):
                _mirror_back(result)
        return results
