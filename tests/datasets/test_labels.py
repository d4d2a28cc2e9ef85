"""Labels are declared once (handkit.labels): the packing transform, the
estimator and preflight read the same table, and a missing label's hint
comes from the adapters and codecs that own it."""
import numpy as np

from handkit.datasets.transforms.formatting import FRAME_KEYS, PackHandInputs
from handkit.engine.preflight import missing_label_hint
from handkit.labels import LABELS, gt_key, packed_labels, scored_labels
from handkit.models.estimators.cascade import _META_TO_PREDICTION


def test_the_packing_transform_packs_the_declared_labels():
    meta_keys = PackHandInputs().meta_keys
    assert meta_keys == FRAME_KEYS + packed_labels()
    assert 'depth' not in meta_keys  # an image: its depth_path is packed
    assert not set(FRAME_KEYS) & set(LABELS)


def test_the_estimator_copies_the_scored_labels_as_gt():
    copied = dict(_META_TO_PREDICTION)
    for key in scored_labels():
        assert copied[key] == gt_key(key) == f'gt_{key}'
    assert 'cam_K' not in copied and 'hand_side' not in copied


def test_a_packed_label_reaches_the_prediction():
    """One sample through PackHandInputs and the estimator's formatting."""
    from handkit.models.estimators.cascade import CascadeEstimator
    occluded = np.zeros(21, bool)
    packed = PackHandInputs().transform(dict(
        img=np.zeros((8, 8, 3), np.uint8), occluded=occluded,
        keypoints_3d=np.ones((21, 3)), cam_K=np.eye(3)))
    meta = packed['data_samples']['meta']
    result, = CascadeEstimator._format_predictions(
        None, {}, dict(metas=[meta]), 1, False)
    assert result['gt_occluded'] is occluded
    assert 'gt_keypoints_3d' in result and 'gt_cam_K' not in result


def test_missing_label_hints_come_from_their_owners():
    from handkit.codecs.depth_lifted_keypoints import DepthLiftedKeypoints
    import handkit.datasets  # noqa: F401  (the adapters register)
    assert missing_label_hint('depth') == (
        'a dataset with depth images of the RGB hands, e.g. '
        'RHDDataset(with_depth=True) + LoadRHDDepth, '
        "STBDataset(camera='SK', with_depth=True) + LoadSTBDepth or "
        'SyntheticHandDataset(with_depth=True)')
    assert missing_label_hint('occluded', DepthLiftedKeypoints(
        exclude_occluded=True)) == (
        'a dataset with per-joint occlusion flags, e.g. SyntheticHandDataset,'
        ' or exclude_occluded=False in DepthLiftedKeypoints')
    assert missing_label_hint('keypoints_3d') == (
        'a dataset that has keypoints_3d labels (3D formats: '
        'docs/datasets_3d.md)')
