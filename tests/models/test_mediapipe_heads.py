"""MediaPipe Hands' modules: BlazePalm + PalmDetectionHead and
BlazeHandLandmark + HandLandmarkHead (shapes, MediaPipe's output layout,
the losses on hand-made tensors, decoding through the codec)."""
import math

import numpy as np
import pytest
import torch

from handkit.models.backbones import BlazeHandLandmark, BlazePalm
from handkit.models.heads import HandLandmarkHead, PalmDetectionHead
from handkit.models.losses.mediapipe import sigmoid_focal_loss
from handkit.registry import CODECS
from handkit.convert.mediapipe import build_model

# parameters of the configs' estimators (backbone + head)
PARAMETERS = {('palm_detection', 'full'): 1_132_056,
              ('palm_detection', 'lite'): 959_608,
              ('hand_landmark', 'full'): 2_715_680,
              ('hand_landmark', 'lite'): 1_011_712}


@pytest.mark.parametrize('variant', ['full', 'lite'])
def test_palm_detector_shapes(variant):
    model = build_model('palm_detection', variant)
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS[
        ('palm_detection', variant)]
    with torch.no_grad():
        p3, p4 = model.backbone(torch.zeros(2, 3, 192, 192))
        tensors = model.predict_tensors(torch.zeros(2, 3, 192, 192))
    assert p3.shape == (2, 128, 24, 24) and p4.shape == (2, 256, 12, 12)
    assert {key: tuple(value.shape) for key, value in tensors.items()} == {
        'palms.boxes': (2, 2016, 18), 'palms.scores': (2, 2016, 1)}


@pytest.mark.parametrize('variant', ['full', 'lite'])
def test_landmark_model_shapes(variant):
    model = build_model('hand_landmark', variant)
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS[
        ('hand_landmark', variant)]
    with torch.no_grad():
        feats = model.backbone(torch.zeros(2, 3, 224, 224))
        tensors = model.predict_tensors(torch.rand(2, 3, 224, 224))
    assert feats.shape == (2, {'full': 1152, 'lite': 672}[variant], 7, 7)
    assert {key: tuple(value.shape) for key, value in tensors.items()} == {
        'landmarks.landmarks': (2, 63), 'landmarks.presence': (2, 1),
        'landmarks.handedness': (2, 1), 'landmarks.world_landmarks': (2, 63)}
    for key in ('landmarks.presence', 'landmarks.handedness'):
        assert ((tensors[key] > 0) & (tensors[key] < 1)).all()


def test_unknown_variants_are_refused():
    with pytest.raises(ValueError, match='variant must be one of'):
        BlazePalm('tiny')
    with pytest.raises(ValueError, match='variant must be one of'):
        BlazeHandLandmark('heavy')


def test_palm_outputs_follow_mediapipe_anchor_order():
    """Anchor n of the 24 x 24 grid is (y * 24 + x) * 2 + a, then the
    12 x 12 grid's from 1152: TFLite reshapes NHWC maps."""
    head = PalmDetectionHead()
    feats = []
    for channels, size in ((128, 24), (256, 12)):
        feat = torch.zeros(1, channels, size, size)
        feat[0, 0] = torch.arange(size * size, dtype=torch.float32).view(
            size, size)  # the cell index y * size + x
        feats.append(feat)
    with torch.no_grad():
        for level, anchors in enumerate((2, 6)):
            classifier, regressor = (head.classifiers[level],
                                     head.regressors[level])
            classifier.weight.zero_()
            classifier.weight[:, 0] = 1
            classifier.bias.copy_(torch.arange(anchors) * 1e3)
            regressor.weight.zero_()
            regressor.weight[:, 0] = 1
            regressor.bias.copy_((torch.arange(anchors)[:, None] * 1e3
                                  + torch.arange(18) * 1e5).reshape(-1))
        outputs = head.predict_tensors(head(feats))
    scores, boxes = outputs['scores'][0, :, 0], outputs['boxes'][0]
    for offset, size, anchors in ((0, 24, 2), (1152, 12, 6)):
        for y, x, a in ((0, 0, 0), (3, 5, 1), (size - 1, size - 2,
                                               anchors - 1)):
            n = offset + (y * size + x) * anchors + a
            cell = y * size + x
            assert scores[n] == cell + a * 1e3
            assert torch.equal(boxes[n], cell + a * 1e3
                               + torch.arange(18) * 1e5)


def _palm_batch(labels, regression, weights):
    return {'targets': {'palm_labels': torch.tensor(labels),
                        'palm_regression': regression,
                        'palm_regression_weights': torch.tensor(weights)},
            'metas': [{}]}


def test_palm_loss_by_hand():
    head = PalmDetectionHead(losses=dict(
        palm_score=dict(type='SigmoidFocalLoss', gamma=0.0, alpha=-1.0,
                        loss_weight=2.0),
        palm_regression=dict(type='WeightedHuberLoss', delta=1.0,
                             loss_weight=0.5)))
    scores = torch.tensor([[[0.0], [0.0], [2.0], [-2.0]]])
    boxes = torch.zeros(1, 4, 18)
    regression = torch.zeros(1, 4, 18)
    regression[0, 0] = 0.5   # Huber 0.5 * 0.5^2 = 0.125 per number
    regression[0, 2] = 3.0   # Huber 1 * (3 - 0.5) = 2.5 per number
    regression[0, 3] = 9.0   # unmatched: no loss
    losses = head.loss({'boxes': boxes, 'scores': scores}, _palm_batch(
        [[1.0, 0.0, 1.0, 0.0]], regression, [[1.0, 0.0, 1.0, 0.0]]))
    assert list(losses) == ['loss_palm_score', 'loss_palm_regression']
    # binary cross-entropy summed over the anchors / 2 positives
    bce = (2 * math.log(2) + 2 * math.log(1 + math.exp(-2))) / 2
    assert losses['loss_palm_score'].item() == pytest.approx(2.0 * bce)
    assert losses['loss_palm_regression'].item() == pytest.approx(
        0.5 * (0.125 + 2.5) / 2)


def test_focal_loss_by_hand():
    logits, labels = torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])
    loss = sigmoid_focal_loss(logits, labels, gamma=2.0, alpha=0.25)
    p = 1 / (1 + math.exp(-2))
    q = 1 / (1 + math.exp(1))   # probability of the negative's logit
    assert loss[0].item() == pytest.approx(0.25 * (1 - p) ** 2
                                           * -math.log(p))
    assert loss[1].item() == pytest.approx(0.75 * q ** 2
                                           * -math.log(1 - q))


def test_palm_loss_names_a_missing_target():
    head = PalmDetectionHead()
    with pytest.raises(ValueError, match="palm_regression_weights"):
        head.loss({'boxes': torch.zeros(1, 4, 18),
                   'scores': torch.zeros(1, 4, 1)},
                  {'targets': {'palm_labels': torch.zeros(1, 4),
                               'palm_regression': torch.zeros(1, 4, 18)}})


def _landmark_batch(coords, weights, presence, handedness, weight):
    return {'targets': {
        'landmark_coords': coords, 'landmark_weights': weights,
        'hand_presence': torch.tensor(presence),
        'handedness': torch.tensor(handedness),
        'handedness_weight': torch.tensor(weight)}, 'metas': [{}, {}]}


def test_landmark_loss_by_hand():
    head = HandLandmarkHead(input_size=(224, 112), losses=dict(
        landmarks=dict(type='WeightedL1Loss', loss_weight=3.0),
        presence=dict(type='BinaryCrossEntropyLoss', loss_weight=0.5),
        handedness=dict(type='BinaryCrossEntropyLoss')))
    outputs = {'landmarks': torch.zeros(2, 63),
               'presence_logits': torch.zeros(2, 1),
               'handedness_logits': torch.tensor([[0.0], [3.0]]),
               'world_landmarks': torch.zeros(2, 63)}
    coords = torch.zeros(2, 21, 3)
    coords[0, :, 0] = 22.4   # x / 224 = 0.1
    coords[0, :, 1] = 22.4   # y / 112 = 0.2
    coords[0, :, 2] = 67.2   # z / 224 = 0.3
    coords[1] = 50.0         # weight 0: no loss
    weights = torch.zeros(2, 21)
    weights[0] = 1
    losses = head.loss(outputs, _landmark_batch(
        coords, weights, [[1.0], [0.0]], [[1.0], [1.0]], [[1.0], [0.0]]))
    assert list(losses) == ['loss_landmarks', 'loss_presence',
                            'loss_handedness']
    assert losses['loss_landmarks'].item() == pytest.approx(
        3.0 * (0.1 + 0.2 + 0.3) / 3)
    assert losses['loss_presence'].item() == pytest.approx(
        0.5 * math.log(2))
    # the second sample's handedness has weight 0
    assert losses['loss_handedness'].item() == pytest.approx(math.log(2))


def test_landmark_loss_checks_shapes():
    head = HandLandmarkHead()
    outputs = head(torch.zeros(2, 1152, 7, 7))
    with pytest.raises(ValueError, match=r'landmark_coords must be \(2, 21, '
                       r'3\)'):
        head.loss(outputs, _landmark_batch(
            torch.zeros(2, 21, 2), torch.ones(2, 21), [[1.0], [1.0]],
            [[1.0], [1.0]], [[1.0], [1.0]]))


@CODECS.register_module(name='_RecordingCodecForTest', force=True)
class _RecordingCodec:
    def __init__(self, **kwargs):
        self.calls = []

    def decode(self, *arrays):
        self.calls.append(arrays)
        return {'decoded': len(arrays)}


def test_heads_decode_through_their_codec():
    codec = dict(type='_RecordingCodecForTest')
    palm = PalmDetectionHead(decoder=codec)
    feats = [torch.rand(1, 128, 24, 24), torch.rand(1, 256, 12, 12)]
    assert palm.predict(palm(feats)) == {'decoded': 2}
    boxes, scores = palm.decoder.calls[0]
    assert boxes.shape == (1, 2016, 18) and scores.shape == (1, 2016, 1)
    assert boxes.dtype == scores.dtype == np.float32
    landmarks = HandLandmarkHead(decoder=codec)
    assert landmarks.predict(landmarks(torch.rand(1, 1152, 7, 7))) == {
        'decoded': 4}
    shapes = [array.shape for array in landmarks.decoder.calls[0]]
    assert shapes == [(1, 63), (1, 1), (1, 1), (1, 63)]
    assert palm.exportable() and landmarks.exportable()


def test_heads_without_a_decoder_say_so():
    with pytest.raises(ValueError, match='without a decoder'):
        PalmDetectionHead().decode({'boxes': np.zeros((1, 2016, 18)),
                                    'scores': np.zeros((1, 2016, 1))})
    with pytest.raises(ValueError, match='without a decoder'):
        HandLandmarkHead().decode({})


@pytest.mark.parametrize('variant,stride,channels',
                         [('full', 8, 40), ('full', 16, 112),
                          ('lite', 8, 24), ('lite', 16, 64)])
def test_the_landmark_trunk_as_a_backbone_of_stride_8_or_16(variant, stride,
                                                           channels):
    """``out_stride`` cuts MediaPipe's trunk after its last block of that
    stride: the features equal the full network's at that point."""
    torch.manual_seed(0)
    full = BlazeHandLandmark(variant).eval()
    cut = BlazeHandLandmark(variant, out_stride=stride).eval()
    missing, unexpected = cut.load_state_dict(full.state_dict(),
                                              strict=False)
    assert not missing and unexpected
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        expected = full.blocks[:len(cut.blocks)](full.stem(x))
        features = cut(x)
    assert cut.out_channels == channels
    assert features.shape == (2, channels, 96 // stride, 96 // stride)
    torch.testing.assert_close(features, expected)
    with pytest.raises(ValueError, match='out_stride must be 8, 16 or 32'):
        BlazeHandLandmark(variant, out_stride=4)
