"""The labels of a sample, declared once (docs/architecture.md, sections 1
and 2).

A label is a key of an adapter's ``data_info`` that no transform computes:
the ground truth a codec encodes, a metric scores against or a head reads.
Three parts read :data:`LABELS`, and nothing else names them:

* ``PackHandInputs`` packs the packed ones into each sample's ``meta``;
* ``CascadeEstimator`` copies the scored ones from the meta into its
  predictions as ``gt_<key>`` (:func:`gt_key`), beside the ``pred_<key>``
  a metric compares them with;
* ``preflight`` (:mod:`handkit.engine.preflight`) checks, before anything
  is written, that a dataset's first sample gives each optional label that
  the config's codecs, metrics or heads need, from one of its ``sources``.

Adding a label is one :class:`Label` here (and the adapter that gives it).
What to do about a missing label comes from the label's owners: its own
``missing`` text; the adapters that give it, each with how to ask for it
(a dataset class's ``label_hints``: ``{'depth':
"STBDataset(camera='SK', with_depth=True) + LoadSTBDepth"}``); and a
codec, metric or head that can do without it, with the setting that does
(its ``label_fallbacks``).

The dataset layer owns this declaration; it sits on the ground floor, as
``handkit.skeleton`` (the keypoint order adapters convert to) does,
because the models read it too and ``handkit.datasets`` imports the models
(the synthetic renderer poses the hand model). It imports nothing.
"""
from typing import Dict, NamedTuple, Tuple


class Label(NamedTuple):
    """One label of a sample.

    Attributes:
        key (str): its ``data_info`` / ``results`` / ``meta`` key.
        scored (bool): copied into each prediction as ``gt_<key>`` (what a
            metric scores against).
        packed (bool): ``PackHandInputs`` puts it into the meta by default
            (False: too large to carry, e.g. a depth image).
        optional (bool): not every adapter gives it, so ``preflight`` checks
            that a dataset does wherever a codec, metric or head needs it
            (False: the adapter contract of section 1 guarantees it).
        sources (tuple of str): the ``data_info`` keys any of which gives
            it (default: the key itself); e.g. a hand mask comes as the
            array or as the mask file ``LoadImage`` reads into it.
        missing (str): what a dataset needs to have it, the start of the
            one-line hint when a dataset lacks it.
    """
    key: str
    scored: bool = False
    packed: bool = True
    optional: bool = True
    sources: Tuple[str, ...] = ()
    missing: str = ''

    def given_by(self) -> Tuple[str, ...]:
        """The ``data_info`` keys that give this label."""
        return self.sources or (self.key, )


def _three_d(key: str) -> str:
    return f'a dataset that has {key} labels (3D formats: docs/datasets_3d.md)'


#: every label, in the order ``PackHandInputs`` packs them
LABELS: Dict[str, Label] = {label.key: label for label in (
    Label('keypoints', scored=True, optional=False),
    Label('keypoints_visible', scored=True, optional=False),
    Label('keypoints_3d', scored=True, missing=_three_d('keypoints_3d')),
    Label('cam_K', missing=_three_d('cam_K')),
    Label('hand_mask', scored=True, sources=('hand_mask', 'mask_path'),
          missing='a dataset with hand masks'),
    Label('occluded', scored=True,
          missing='a dataset with per-joint occlusion flags'),
    Label('hand_side', missing='a dataset that tells left from right hands'),
    Label('vertices', scored=True, missing=_three_d('vertices')),
    # a depth map comes as the renderer's array or as the file a loading
    # transform reads (STB's SK depth images: LoadSTBDepth)
    Label('depth', packed=False, sources=('depth', 'depth_path'),
          missing='a dataset with depth images of the RGB hands'),
)}

#: the prefix of a label in a prediction dict (``gt_keypoints_3d``)
GT_PREFIX = 'gt_'


def gt_key(key: str) -> str:
    """The prediction-dict key of label ``key`` (``keypoints_3d`` ->
    ``gt_keypoints_3d``)."""
    return GT_PREFIX + key


def packed_labels() -> Tuple[str, ...]:
    """The labels ``PackHandInputs`` puts into the meta by default."""
    return tuple(key for key, label in LABELS.items() if label.packed)


def scored_labels() -> Tuple[str, ...]:
    """The labels a prediction carries as ``gt_<key>``."""
    return tuple(key for key, label in LABELS.items() if label.scored)
