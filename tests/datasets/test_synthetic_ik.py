"""SyntheticIKDataset (IKNet's samples, Zhou et al., CVPR 2020) and
HeldOutSplit (the depth regulariser's held-out hands, Cai et al., ECCV
2018)."""
import numpy as np
import pytest
import torch

from handkit.codecs.location_map import LocationMap
from handkit.datasets import HeldOutSplit, SyntheticIKDataset
from handkit.datasets.synthetic.joint_rotations import sample_ik_hands
from handkit.models.ik import IKNet


def test_samples_are_the_seeds_draws_in_iknets_units():
    dataset = SyntheticIKDataset(num_samples=6, split='val', seed=4,
                                 max_view_angle=60)
    rng = np.random.default_rng(np.random.SeedSequence(4, spawn_key=(1, )))
    hands = sample_ik_hands(rng, 6, max_view_angle=60)
    codec = LocationMap()
    joints, rest = (torch.as_tensor(codec.normalize(hands[key]),
                                    dtype=torch.float32)
                    for key in ('keypoints_3d', 'rest_keypoints_3d'))
    torch.testing.assert_close(dataset.inputs,
                               IKNet.pack_inputs(joints, rest))
    sample = dataset[5]
    assert sample['inputs'].shape == (84, 3)
    np.testing.assert_array_equal(
        sample['data_samples']['targets']['quaternions'].numpy(),
        hands['quaternions'][5].astype(np.float32))
    assert sample['data_samples']['meta'] == dict(
        sample_idx=5, hand_side='left' if hands['is_left'][5] else 'right',
        bone_mm=pytest.approx(float(codec.reference_length(
            hands['keypoints_3d'][5]))))


def test_same_seed_same_hands_other_split_other_hands():
    first, again = (SyntheticIKDataset(num_samples=4, seed=2)
                    for _ in range(2))
    assert torch.equal(first.inputs, again.inputs)
    other = SyntheticIKDataset(num_samples=4, seed=2, split='test')
    assert not torch.equal(first.inputs, other.inputs)


def test_left_ratio_one_draws_left_hands_only():
    dataset = SyntheticIKDataset(num_samples=32, left_ratio=1.0)
    assert {dataset.get_data_info(index)['hand_side']
            for index in range(len(dataset))} == {'left'}


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_samples=0), 'num_samples must be an int >= 1, got 0'),
    (dict(split='eval'), "split must be one of ('train', 'val', 'test'), "
     "got 'eval'"),
    (dict(seed=-1), 'seed must be an int >= 0, got -1'),
    (dict(left_ratio=2.0), 'left_ratio must be in [0, 1], got 2.0'),
])
def test_bad_arguments_are_one_line(kwargs, message):
    with pytest.raises(ValueError) as error:
        SyntheticIKDataset(**kwargs)
    assert str(error.value) == f'SyntheticIKDataset: {message}'


def test_held_out_split_parts_are_disjoint_and_seeded():
    dataset = SyntheticIKDataset(num_samples=20)
    train = HeldOutSplit(dataset, val_fraction=0.1, part='train')
    val = HeldOutSplit(dataset, val_fraction=0.1, part='val')
    order = torch.randperm(20, generator=torch.Generator().manual_seed(0))
    assert val.indices == order[:2].tolist()
    assert train.indices == order[2:].tolist()
    assert (len(train), len(val)) == (18, 2)
    assert torch.equal(val[1]['inputs'], dataset[val.indices[1]]['inputs'])
    assert val.get_data_info(0) == dataset.get_data_info(val.indices[0])
    with pytest.raises(ValueError, match="part must be one of"):
        HeldOutSplit(dataset, val_fraction=0.1, part='test')
    with pytest.raises(ValueError, match='val_fraction must be in'):
        HeldOutSplit(dataset, val_fraction=1.0, part='val')
