"""The side models' metrics name what a prediction lacks (one line)."""
import re

import numpy as np
import pytest

from handkit.evaluation.metrics.depth_map_metric import DepthMapMetric
from handkit.evaluation.metrics.rotation_metric import RotationMetric


@pytest.mark.parametrize('metric, given, missing', [
    (RotationMetric(), ('pred_quaternions', ), 'gt_quaternions'),
    (DepthMapMetric(), ('pred_depth_map', 'gt_depth_map'), 'depth_weight'),
])
def test_a_missing_prediction_key_is_named(metric, given, missing):
    sample = {key: np.zeros((2, 2)) for key in given}
    name = type(metric).__name__
    message = (f"{name}: a prediction has no '{missing}'; it holds "
               f'{sorted(sample)}')
    with pytest.raises(KeyError, match=re.escape(message)):
        metric.process({}, [sample])
