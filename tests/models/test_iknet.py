"""IKNet (Zhou et al., CVPR 2020, Section 4.2): shapes at the paper's size,
the quaternion losses on hand-computed cases, the forward kinematics of its
L_xyz, mmengine's model contract on SyntheticIKDataset batches, and that it
recovers known rotations of the synthetic hand."""
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from handkit.datasets import SyntheticIKDataset
from handkit.datasets.collate import hand_collate
from handkit.datasets.synthetic.joint_rotations import sample_ik_hands
from handkit.evaluation.metrics import RotationMetric
from handkit.hand import rotate_rest_pose
from handkit.models.ik import IKNet, bone_vectors, quaternion_to_matrix
from handkit.models.losses import QuaternionLoss


def test_paper_sized_network_shapes():
    model = IKNet().eval()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    # 7 fully-connected layers: 252 inputs (4 x 21 x 3), six of 1,024, 84
    assert [(m.in_features, m.out_features) for m in linears] == (
        [(252, 1024)] + [(1024, 1024)] * 5 + [(1024, 84)])
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in model.modules()) == 6
    joints, rest = torch.randn(3, 21, 3), torch.randn(3, 21, 3)
    inputs = model.pack_inputs(joints, rest)
    assert inputs.shape == (3, 84, 3)
    torch.testing.assert_close(inputs[:, 21:42], bone_vectors(joints))
    assert model(inputs).shape == (3, 21, 4)
    unit = model.predict(joints, rest)
    torch.testing.assert_close(unit.norm(dim=-1), torch.ones(3, 21))
    assert (unit[..., 0] >= 0).all()


def test_bone_vectors_follow_the_tree():
    joints = torch.arange(63, dtype=torch.float32).view(1, 21, 3)
    bones = bone_vectors(joints)
    assert bones[0, 0].tolist() == [0, 0, 0]
    torch.testing.assert_close(bones[0, 6], joints[0, 6] - joints[0, 5])
    torch.testing.assert_close(bones[0, 5], joints[0, 5] - joints[0, 0])


def test_quaternion_to_matrix_matches_scipy():
    quaternions = Rotation.random(20, random_state=0).as_quat()  # x, y, z, w
    wxyz = torch.tensor(quaternions[:, [3, 0, 1, 2]] * 3.0)  # not unit
    torch.testing.assert_close(
        quaternion_to_matrix(wxyz),
        torch.tensor(Rotation.from_quat(quaternions).as_matrix()))


def test_fk_of_the_true_rotations_gives_the_joints():
    hands = sample_ik_hands(np.random.default_rng(0), 8)
    posed = rotate_rest_pose(
        quaternion_to_matrix(torch.tensor(hands['quaternions'])),
        torch.tensor(hands['rest_keypoints_3d']))
    torch.testing.assert_close(posed, torch.tensor(hands['keypoints_3d']))


def test_quaternion_losses_hand_computed():
    loss = QuaternionLoss()
    target = torch.tensor([[[1.0, 0, 0, 0], [1.0, 0, 0, 0]]])
    pred = torch.tensor([[[2.0, 0, 0, 0], [0, 1.0, 0, 0]]])
    values = loss(pred, target)
    # joint 0: same rotation, norm 2 -> L_cos 0, L_l2 ||(1, 0, 0, 0)||^2 = 1,
    # L_norm (1 - 2)^2 = 1; joint 1: orthogonal -> L_cos 1, L_l2 2, L_norm 0
    assert values['loss_cos'].item() == pytest.approx(1.0)
    assert values['loss_l2'].item() == pytest.approx(3.0)
    assert values['loss_norm'].item() == pytest.approx(1.0)
    # -q is q's rotation: the paper's losses see the sign, the invariant
    # variant does not
    flipped = torch.tensor([[[-1.0, 0, 0, 0]]])
    paper = loss(flipped, target[:, :1])
    assert (paper['loss_cos'].item(), paper['loss_l2'].item()) == (2.0, 4.0)
    invariant = QuaternionLoss(sign_invariant=True)(flipped, target[:, :1])
    assert (invariant['loss_cos'].item(), invariant['loss_l2'].item()) == (
        0.0, 0.0)
    weighted = QuaternionLoss(cos_weight=0.5, l2_weight=0, norm_weight=2)(
        pred, target)
    assert weighted['loss_cos'].item() == pytest.approx(0.5)
    assert weighted['loss_l2'].item() == 0
    assert weighted['loss_norm'].item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r'must both be \(B, J, 4\)'):
        loss(torch.zeros(1, 21, 3), torch.zeros(1, 21, 3))


def test_iknet_loss_adds_l_xyz_from_the_rotated_rest_pose():
    hands = sample_ik_hands(np.random.default_rng(1), 4)
    quaternions = torch.tensor(hands['quaternions'], dtype=torch.float32)
    joints = torch.tensor(hands['keypoints_3d'], dtype=torch.float32)
    rest = torch.tensor(hands['rest_keypoints_3d'], dtype=torch.float32)
    model = IKNet(width=16)
    # the true rotations as the raw output: every loss ~0
    losses = model.loss(quaternions, quaternions, joints, rest)
    assert set(losses) == {'loss_cos', 'loss_l2', 'loss_norm', 'loss_xyz'}
    assert all(value.item() < 1e-6 for value in losses.values())
    assert 'loss_xyz' not in IKNet(width=16, xyz_weight=0).loss(
        quaternions, quaternions, joints, rest)


def batch_of(dataset, count):
    return hand_collate([dataset[index] for index in range(count)])


def evaluate(model, batch):
    """RotationMetric of ``model``'s predictions on ``batch``."""
    model.eval()
    with torch.no_grad():
        predictions = model(**model.data_preprocessor(batch, False),
                            mode='predict')
    metric = RotationMetric()
    metric.process(batch, predictions)
    return metric.compute_metrics(metric.results)


def test_iknet_recovers_known_rotations_of_32_hands(fixed_threads):
    """A 256-wide IKNet fits the rotations of 32 synthetic hands.

    Measured (1 thread, seed 0, 500 full-batch Adam steps): 2.1 degrees mean
    error, 2.8 mm for the posed rest pose; predicting each joint's mean
    rotation is off by 115 degrees (the hands face the camera from every
    roll). The test asserts <= 10 degrees: a net that learnt the mapping is
    far below the baseline, and the margin covers thread-count-dependent
    float sums.
    """
    torch.manual_seed(0)
    batch = batch_of(SyntheticIKDataset(num_samples=32, max_view_angle=60),
                     32)
    model = IKNet(width=256, xyz_weight=0.1)
    data = model.data_preprocessor(batch, True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(500):
        loss = sum(model(**data, mode='loss').values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    metrics = evaluate(model, batch)
    assert metrics['rotation_error_mean_rotation_deg'] > 100
    assert metrics['rotation_error_deg'] <= 10.0
    assert metrics['fk_epe_mm'] <= 10.0


def test_model_contract_on_dataset_batches():
    """mode='tensor' is the network, 'loss' its losses with L_xyz on the
    inputs' joints and rest poses, 'predict' what IKNet.predict gives (the
    rotations inverse_kinematics reads) next to the ground truth, in mm."""
    dataset = SyntheticIKDataset(num_samples=4, seed=3)
    batch = batch_of(dataset, 4)
    model = IKNet(width=16).eval()
    assert torch.equal(model(batch['inputs']),
                       model(batch['inputs'], mode='tensor'))
    losses = model(**batch, mode='loss')
    assert set(losses) == {'loss_cos', 'loss_l2', 'loss_norm', 'loss_xyz'}
    predictions = model(**batch, mode='predict')
    joints, rest = model.unpack_inputs(batch['inputs'])
    expected = model.predict(joints, rest).numpy()
    truth = batch['data_samples']['targets']['quaternions'].numpy()
    for index, prediction in enumerate(predictions):
        np.testing.assert_array_equal(prediction['pred_quaternions'],
                                      expected[index])
        np.testing.assert_array_equal(prediction['gt_quaternions'],
                                      truth[index])
        gt = prediction['gt_keypoints_3d']  # wrist at 0, mm
        assert np.abs(gt[0]).max() == 0
        assert np.linalg.norm(gt[9]) == pytest.approx(
            dataset.get_data_info(index)['bone_mm'], rel=1e-5)
    with pytest.raises(ValueError, match=r"mode must be 'tensor', 'loss' "
                       r"or 'predict', got 'train'"):
        model(**batch, mode='train')
    with pytest.raises(ValueError, match=r"mode='loss' needs data_samples "
                       r"with targets\['quaternions'\]"):
        model(batch['inputs'], mode='loss')


def test_a_one_side_model_refuses_the_other_side():
    batch = batch_of(SyntheticIKDataset(num_samples=8, left_ratio=0.5), 8)
    sides = [meta['hand_side'] for meta in batch['data_samples']['metas']]
    first_right = sides.index('right')
    with pytest.raises(ValueError, match=(
            rf"^IKNet\(hand_side='left'\) got a right hand \(sample "
            rf"{first_right}\): draw left hands only \(the dataset's "
            rf"left_ratio=1.0\) or set model.hand_side=None$")):
        IKNet(width=8, hand_side='left')(**batch, mode='loss')
    left = batch_of(SyntheticIKDataset(num_samples=4, left_ratio=1.0), 4)
    assert IKNet(width=8, hand_side='left')(**left, mode='loss')


def test_iknet_arguments_are_checked():
    with pytest.raises(ValueError, match='num_joints must be 21'):
        IKNet(num_joints=14)
    with pytest.raises(ValueError, match=r'inputs must be \(B, 84, 3\)'):
        IKNet(width=8)(torch.zeros(2, 21, 3))
    with pytest.raises(ValueError, match='must both be'):
        IKNet.pack_inputs(torch.zeros(2, 21, 3), torch.zeros(2, 20, 3))
    with pytest.raises(ValueError, match="hand_side must be None, 'left' or "
                       "'right', got 'both'"):
        IKNet(width=8, hand_side='both')
