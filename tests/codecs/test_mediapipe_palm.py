"""MediaPipePalmAnchors: SSD anchors, decoding, weighted NMS, encoding."""
from pathlib import Path

import numpy as np
import pytest

from handkit.codecs.mediapipe_palm import (PALM_KEYPOINT_INDICES,
                                           MediaPipePalmAnchors, box_iou,
                                           palm_from_hand, weighted_nms)
from handkit.registry import CODECS

FIXTURE = Path(__file__).resolve().parents[1] / 'data' / 'mediapipe' / \
    'tflite_full_outputs.npz'
S1 = 0.1484375 + (0.75 - 0.1484375) / 3  # scale of stride layer 1
S2 = 0.1484375 + 2 * (0.75 - 0.1484375) / 3


def raw_tensors(entries, num=2016):
    """(1, num, 18) raw boxes (zeros) and (1, num, 1) logits (-20), with
    ``{anchor: (raw row (18,), logit)}`` filled in."""
    boxes = np.zeros((1, num, 18), np.float32)
    scores = np.full((1, num, 1), -20.0, np.float32)
    for anchor, (row, logit) in entries.items():
        boxes[0, anchor] = row
        scores[0, anchor] = logit
    return boxes, scores


def test_anchors_count_order_and_values_by_hand():
    codec = MediaPipePalmAnchors()
    assert codec.anchors.shape == (2016, 2)
    # stride 8: 24 x 24 cells x 2 anchors; (col + 0.5) * 8 - 0.5
    np.testing.assert_allclose(codec.anchors[0], [3.5, 3.5])
    np.testing.assert_allclose(codec.anchors[1], [3.5, 3.5])
    np.testing.assert_allclose(codec.anchors[2], [11.5, 3.5])  # next column
    np.testing.assert_allclose(codec.anchors[48], [3.5, 11.5])  # next row
    np.testing.assert_allclose(codec.anchors[1151], [187.5, 187.5])
    # strides 16, 16, 16 merged: 12 x 12 cells x 6 anchors
    np.testing.assert_allclose(codec.anchors[1152:1158], [[7.5, 7.5]] * 6)
    np.testing.assert_allclose(codec.anchors[1158], [23.5, 7.5])
    np.testing.assert_allclose(codec.anchors[2015], [183.5, 183.5])
    # the nominal scales: each layer's and the interpolated one
    np.testing.assert_allclose(codec.anchor_scales[:2],
                               [0.1484375, np.sqrt(0.1484375 * S1)])
    np.testing.assert_allclose(
        codec.anchor_scales[1152:1158],
        [S1, np.sqrt(S1 * S2), S2, np.sqrt(S2 * 0.75), 0.75, np.sqrt(0.75)])
    assert isinstance(CODECS.build(dict(type='MediaPipePalmAnchors')),
                      MediaPipePalmAnchors)


def test_decode_recovers_one_box_and_its_keypoints_exactly():
    codec = MediaPipePalmAnchors()
    anchor = 1160  # stride 16, cell (col 1, row 0), anchor 2: (23.5, 7.5)
    keypoint_offsets = np.arange(14, dtype=np.float32) - 7  # x, y pairs
    row = np.concatenate([[5, -4, 40, 30], keypoint_offsets])
    decoded = codec.decode(*raw_tensors({anchor: (row, 3.0)}))
    assert [len(value) for value in decoded.values()] == [1, 1, 1]
    np.testing.assert_allclose(decoded['palm_boxes'][0],
                               [[8.5, -11.5, 48.5, 18.5]], atol=1e-5)
    expected = np.array([23.5, 7.5]) + keypoint_offsets.reshape(7, 2)
    np.testing.assert_allclose(decoded['palm_keypoints'][0], [expected],
                               atol=1e-5)
    np.testing.assert_allclose(decoded['palm_scores'][0],
                               [1 / (1 + np.exp(-3))], rtol=1e-6)


def test_decode_thresholds_clips_and_drops_negative_sizes():
    codec = MediaPipePalmAnchors()
    far = np.zeros(18)
    decoded = codec.decode(*raw_tensors({
        0: (np.r_[0, 0, 10, 10, far[4:]], 0.0),  # score exactly 0.5: kept
        500: (np.r_[0, 0, 10, 10, far[4:]], -0.01),  # below: dropped
        1000: (np.r_[0, 0, -1, 10, far[4:]], 5.0),  # negative width
        2000: (np.r_[0, 0, 10, 10, far[4:]], 1e6)}))  # clipped to 100
    np.testing.assert_allclose(decoded['palm_scores'][0],
                               [1 / (1 + np.exp(-100)), 0.5])
    with pytest.raises(ValueError, match=r'raw_boxes must be \(B, 2016, 18'):
        codec.decode(np.zeros((1, 2000, 18)), np.zeros((1, 2000, 1)))


def test_weighted_nms_averages_the_overlapping_boxes_and_keypoints():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60],
                      [8, 8, 18, 18]], np.float64)
    keypoints = np.stack([np.full((7, 2), value) for value in
                          (0.0, 10.0, 55.0, 13.0)])
    scores = np.array([0.9, 0.6, 0.8, 0.7])
    # IoU(A, B) = 81 / 119 > 0.3; D overlaps A and B by 4 / 196, 9 / 191
    assert box_iou(boxes[:1], boxes[1:2])[0, 0] == pytest.approx(81 / 119)
    merged_boxes, merged_keypoints, merged_scores = weighted_nms(
        boxes, keypoints, scores, 0.3)
    # A and B merge: (0.9 A + 0.6 B) / 1.5, A's score; then C, then D
    np.testing.assert_allclose(merged_boxes, [[0.4, 0.4, 10.4, 10.4],
                                              [50, 50, 60, 60],
                                              [8, 8, 18, 18]], atol=1e-6)
    np.testing.assert_allclose(merged_keypoints[:, 0, 0], [4.0, 55.0, 13.0],
                               atol=1e-6)
    np.testing.assert_allclose(merged_scores, [0.9, 0.8, 0.7], atol=1e-7)


def test_decode_merges_two_anchors_of_one_palm_by_score():
    codec = MediaPipePalmAnchors()
    # anchors 0 and 1 share the centre (3.5, 3.5); boxes 20 and 24 wide
    row_a = np.r_[0, 0, 20, 20, np.zeros(14)]
    row_b = np.r_[2, 2, 24, 24, np.full(14, 4.0)]
    logit_a, logit_b = 2.0, 0.5
    decoded = codec.decode(*raw_tensors({0: (row_a, logit_a),
                                         1: (row_b, logit_b)}))
    weight_a, weight_b = (1 / (1 + np.exp(-logit))
                          for logit in (logit_a, logit_b))
    box_a = np.array([-6.5, -6.5, 13.5, 13.5])
    box_b = np.array([-6.5, -6.5, 17.5, 17.5])
    expected = (weight_a * box_a + weight_b * box_b) / (weight_a + weight_b)
    np.testing.assert_allclose(decoded['palm_boxes'][0], [expected],
                               atol=1e-5)
    np.testing.assert_allclose(
        decoded['palm_keypoints'][0][0, :, 0],
        3.5 + 4 * weight_b / (weight_a + weight_b), atol=1e-5)
    np.testing.assert_allclose(decoded['palm_scores'][0], [weight_a])


def hand(offset=(0.0, 0.0), scale=1.0):
    """A right hand, fingers up, in input pixels: wrist (96, 140), middle
    MCP 40 px above it."""
    rng = np.random.default_rng(1)
    points = np.zeros((21, 2))
    points[0] = [96, 140]
    for finger, x in enumerate((70, 84, 96, 108, 120)):
        for joint in range(4):
            points[1 + 4 * finger + joint] = [
                x + rng.normal(0, 1), 100 - 12 * joint + (
                    20 if finger == 0 else 0)]
    centre = np.array([96, 120])
    return (points - centre) * scale + centre + np.asarray(offset)


def test_encode_then_decode_round_trip():
    codec = MediaPipePalmAnchors()
    keypoints = hand()
    targets = codec.encode(keypoints.astype(np.float32), np.ones(21))
    assert set(targets) == {'palm_labels', 'palm_label_weights',
                            'palm_regression', 'palm_regression_weights'}
    positive = targets['palm_labels'] > 0
    assert positive.sum() >= 1
    np.testing.assert_array_equal(targets['palm_regression_weights'] > 0,
                                  positive)
    box, palm = palm_from_hand(keypoints)
    np.testing.assert_allclose(palm, keypoints[list(PALM_KEYPOINT_INDICES)],
                               rtol=1e-6)
    # a square of side 1.15 x wrist -> middle MCP, centred on the palm
    np.testing.assert_allclose(
        box[2] - box[0], 1.15 * np.linalg.norm(keypoints[9] - keypoints[0]),
        rtol=1e-5)
    centres = codec.anchors[positive]
    assert ((centres >= box[:2]) & (centres <= box[2:])).all()
    logits = np.where(positive, 8.0, -8.0)[None, :, None]
    decoded = codec.decode(targets['palm_regression'][None], logits)
    assert len(decoded['palm_boxes'][0]) == 1
    np.testing.assert_allclose(decoded['palm_boxes'][0][0], box, atol=1e-4)
    np.testing.assert_allclose(decoded['palm_keypoints'][0][0], palm,
                               atol=1e-4)


def test_encode_several_hands_and_an_incomplete_one():
    codec = MediaPipePalmAnchors()
    hands = np.stack([hand(), hand((-60, -70), 0.6), hand((50, 30), 0.8)])
    visible = np.ones((3, 21))
    visible[2, 9] = 0  # the third hand lacks its middle MCP
    targets = codec.encode(hands, visible)
    logits = np.where(targets['palm_labels'] > 0, 8.0, -8.0)[None, :, None]
    decoded = codec.decode(targets['palm_regression'][None], logits)
    assert len(decoded['palm_boxes'][0]) == 2  # the complete hands
    ignored = targets['palm_label_weights'] == 0
    assert ignored.any() and not (targets['palm_labels'][ignored]).any()
    assert not targets['palm_regression_weights'][ignored].any()
    expected = sorted(palm_from_hand(points)[0][0] for points in hands[:2])
    np.testing.assert_allclose(sorted(decoded['palm_boxes'][0][:, 0]),
                               expected, atol=1e-3)


def test_encode_an_image_whose_only_hand_is_incomplete():
    """A hand cropped at the border (its middle MCP not labelled): no
    positive, its anchors left out of both losses, every other anchor a
    negative."""
    codec = MediaPipePalmAnchors()
    visible = np.ones(21)
    visible[9] = 0
    targets = codec.encode(hand(), visible)
    assert not targets['palm_labels'].any()
    assert not targets['palm_regression_weights'].any()
    assert targets['palm_regression'].shape == (2016, 18)
    ignored = targets['palm_label_weights'] == 0
    assert 0 < ignored.sum() < 2016


def test_decode_of_the_released_model_on_real_photos():
    """The full model's raw outputs (TFLite, kept sparse in the fixture):
    the 7 palm keypoints land on the labelled wrist, MCPs and thumb CMC /
    MCP (the order PALM_KEYPOINT_INDICES states), in the letterbox."""
    import json

    import cv2

    from handkit.geometry import apply_affine, invert_affine
    from handkit.datasets.transforms import HandCrop, TopdownAffine
    data = np.load(FIXTURE)
    root = FIXTURE.parents[1]
    codec = MediaPipePalmAnchors()
    for key, folder, name, found in (
            ('onehand10k_9', 'onehand10k_coco', '9.jpg', 1),
            ('panoptic_ex2', 'panoptic_coco', 'ex2_2.flv_000040_l.jpg', 2)):
        boxes, scores = raw_tensors({})
        index = data[f'{key}.palm_anchor_indices'].astype(int)
        boxes[0, index] = data[f'{key}.palm_raw_boxes']
        scores[0, index] = data[f'{key}.palm_raw_scores']
        decoded = codec.decode(boxes, scores)
        assert len(decoded['palm_boxes'][0]) == found
        image = cv2.imread(str(root / folder / name))
        results = TopdownAffine((192, 192)).transform(HandCrop(
            mode='image').transform(dict(img=image)))
        palms = apply_affine(decoded['palm_keypoints'][0],
                             invert_affine(results['warp_mat']))
        annotation = json.loads(next((root / folder).glob('*.json'))
                                .read_text())
        ids = {item['file_name']: item['id']
               for item in annotation['images']}
        for item in annotation['annotations']:
            if item['image_id'] != ids[name]:
                continue
            labels = np.reshape(item['keypoints'], (21, 3))
            shown = labels[list(PALM_KEYPOINT_INDICES), 2] > 0
            truth = labels[list(PALM_KEYPOINT_INDICES), :2]
            size = np.ptp(labels[labels[:, 2] > 0, :2], axis=0).max()
            errors = np.linalg.norm(palms - truth, axis=-1)[:, shown].max(
                1) / size  # the worst palm keypoint of each palm
            assert errors.min() < 0.2, (key, errors)
