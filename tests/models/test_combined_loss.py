"""CombinedLoss: named losses built through the registry, each with the
one weight its ``losses`` entry states (MMPose's CombinedLoss)."""
import pytest
import torch

from handkit.models.losses import CombinedLoss, CoordL1Loss, JointL2Loss


def test_each_entry_is_built_with_its_weight():
    losses = CombinedLoss(
        dict(coord=dict(type='CoordL1Loss', loss_weight=2.5),
             joints=dict(type='JointL2Loss'), off=dict(type='CoordL1Loss',
                                                        loss_weight=0.0)),
        ('coord', 'joints', 'off'), 'MyHead')
    assert isinstance(losses['coord'], CoordL1Loss)
    assert isinstance(losses['joints'], JointL2Loss)
    assert losses.weights == dict(coord=2.5, joints=1.0, off=0.0)
    assert [losses.active(name) for name in ('coord', 'joints', 'off',
                                             'absent')] == [True, True,
                                                            False, False]
    pred, target = torch.zeros(1, 2, 2), torch.ones(1, 2, 2)
    assert float(losses('coord', pred, target)) == 2.5 * float(
        CoordL1Loss()(pred, target))
    losses.weights['coord'] = 0.5  # a plain float: a hook may change it
    assert float(losses('coord', pred, target)) == 0.5


def test_a_wrong_entry_is_one_line_naming_it():
    with pytest.raises(ValueError, match="MyHead: unknown loss 'cord' in "
                       r"losses; expected some of \['coord'\]"):
        CombinedLoss(dict(cord=dict(type='CoordL1Loss')), ('coord', ),
                     'MyHead')
    with pytest.raises(ValueError, match=r"MyHead: losses\['coord'\] must be "
                       "a loss config with a 'type', got 2.0"):
        CombinedLoss(dict(coord=2.0), ('coord', ), 'MyHead')
