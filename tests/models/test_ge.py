"""Ge et al. (CVPR 2019; docs/ge.md): the Chebyshev convolution on a
hand-computed graph, the coarsening and its pinned file, each mesh loss on a
hand-computed case, the model's shapes and parameter count at 256 x 256,
the configs on tiny data, the one-line errors, and an overfit of a few
synthetic mesh hands."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from handkit.datasets.collate import hand_collate
from handkit.engine.preflight import preflight
from handkit.models.graph_layers import (ChebConv, graph_max_pool,
                                         graph_upsample, neighbour_table)
from handkit.models.hand_model import load_hand_model
from handkit.models.hand_model.layer import open_hand_path
from handkit.models.hand_model.mesh_hierarchy import (MeshHierarchy,
                                                      MeshHierarchyError,
                                                      adjacency,
                                                      build_hierarchy,
                                                      heavy_edge_matching,
                                                      load_mesh_hierarchy,
                                                      mesh_edges,
                                                      tree_orders)
from handkit.models.losses.ge import (DepthMapL1Loss, EdgeLengthLoss,
                                      HeatmapL2Loss, LaplacianLoss,
                                      NormalLoss, PseudoMeshLoss,
                                      VertexL2Loss, rasterize_visible)
from handkit.registry import DATASETS, MODELS
from handkit.tools.build_mesh_hierarchy import main as build_main

TESTS = Path(__file__).resolve().parents[1]
CONFIGS = TESTS.parent / 'configs' / 'ge'
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / 'models'))
from test_boukhayma import write_tiny_freihand  # noqa: E402
from test_configs_cai_rhd_stb import write_tiny_stb  # noqa: E402
from test_overfitting import fit as fit_config  # noqa: E402

# the open hand's hierarchy: real nodes (with the fake ones) per level
SIZES = [1686, 895, 480, 253, 134]
PADDED = [2144, 1072, 536, 268, 134]


def load(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    init_default_scope('handkit')
    return cfg


def path_laplacian(num):
    """Rescaled Laplacian (lmax = 2) of a path graph: -D^-1/2 W D^-1/2."""
    edges = np.stack([np.arange(num - 1), np.arange(1, num)], 1)
    weights = adjacency(edges, num).toarray()
    degree = weights.sum(1)
    return -weights / np.sqrt(np.outer(degree, degree))


# -- the Chebyshev convolution -----------------------------------------------

def test_cheb_conv_on_a_path_graph_by_hand():
    # 0 - 1 - 2: degrees 1, 2, 1; L~ = -D^-1/2 W D^-1/2 has -1/sqrt(2) on
    # both edges. x = (1, 2, 3): T1 = L~ x = (-sqrt2, -2 sqrt2, -sqrt2),
    # L~ T1 = (2, 2, 2), T2 = 2 L~ T1 - x = (3, 2, 1).
    laplacian = path_laplacian(3)
    assert laplacian[0, 1] == pytest.approx(-1 / math.sqrt(2))
    conv = ChebConv(1, 1, sp.csr_matrix(laplacian), order=3)
    with torch.no_grad():
        conv.linear.weight.copy_(torch.tensor([[0.5, 1.0, 2.0]]))
        conv.linear.bias.zero_()
        x = torch.tensor([[[1.0], [2.0], [3.0]]])
        out = conv(x)[0, :, 0]
        gathered = conv.propagate_gather(x)[0, :, 0]
    root2 = math.sqrt(2)
    expected = [0.5 * 1 - root2 + 2 * 3, 0.5 * 2 - 2 * root2 + 2 * 2,
                0.5 * 3 - root2 + 2 * 1]
    assert out.tolist() == pytest.approx(expected, abs=1e-6)
    assert gathered.tolist() == pytest.approx([-root2, -2 * root2, -root2],
                                              abs=1e-6)
    # order 1 is a plain per-node linear layer
    assert ChebConv(4, 2, laplacian, order=1).linear.in_features == 4


def test_sparse_and_gather_propagation_agree_on_the_mesh():
    hierarchy = load_mesh_hierarchy()
    conv = ChebConv(5, 7, hierarchy.rescaled_laplacian(0))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, PADDED[0], 5, generator=generator)
    torch.testing.assert_close(conv.propagate(x), conv.propagate_gather(x),
                               atol=1e-5, rtol=1e-5)
    index, weight = neighbour_table(np.array([[0.0, 2.0], [3.0, 4.0]]))
    assert index.tolist() == [[1, 0], [0, 1]] and \
        weight.tolist() == [[2.0, 0.0], [3.0, 4.0]]


# -- the coarsening ----------------------------------------------------------

def test_heavy_edge_matching_and_tree_order_on_a_path():
    # 0 - 1 - 2 - 3 - 4: the degree-1 ends are visited first and take their
    # only neighbour; 2 is left alone (a singleton with a fake sibling).
    weights = adjacency(np.array([[0, 1], [1, 2], [2, 3], [3, 4]]), 5)
    rng = np.random.default_rng(0)
    permutation = np.random.default_rng(0).permutation(5)
    cluster = heavy_edge_matching(weights, rng)
    zero_first = list(permutation).index(0) < list(permutation).index(4)
    first, second = ([0, 1], [3, 4]) if zero_first else ([3, 4], [0, 1])
    assert cluster[first].tolist() == [0, 0]
    assert cluster[second].tolist() == [1, 1]
    assert cluster[2] == 2
    orders = tree_orders([cluster], [5, 3])
    # coarse node p's children sit at 2p, 2p + 1; 5 is a fake node
    assert orders[1].tolist() == [0, 1, 2]
    assert orders[0].tolist() == first + second + [2, 5]


def test_pinned_hierarchy_sizes_tree_and_upsampling():
    hierarchy = load_mesh_hierarchy()
    assert hierarchy.sizes == SIZES and hierarchy.padded_sizes == PADDED
    assert hierarchy.num_vertices == 1686 and hierarchy.levels == 4
    assert hierarchy.real_mask.sum() == 1686
    assert np.array_equal(hierarchy.orders[0][hierarchy.vertex_positions],
                          np.arange(1686))
    for level in range(4):
        # each fine edge joins two children of one coarse node or two
        # coarse nodes joined by a coarse edge
        fine = hierarchy.edges[level] // 2
        fine = fine[fine[:, 0] != fine[:, 1]]
        coarse = {tuple(edge) for edge in hierarchy.edges[level + 1]}
        assert {tuple(edge) for edge in np.sort(fine, 1)} == coarse
        # fake nodes have no edges
        real = hierarchy.orders[level] < hierarchy.sizes[level]
        assert real[hierarchy.edges[level]].all()
        up = hierarchy.upsample_matrix(level).toarray()
        assert up.shape == (PADDED[level], PADDED[level + 1])
        assert (up.sum(1) == 1).all() and (up.sum(0) == 2).all()
        assert up[2 * 7 + 1, 7] == 1 and up[2 * 7 + 2, 7] == 0
    x = torch.randn(1, PADDED[3], 2)
    up = torch.from_numpy(hierarchy.upsample_matrix(2).toarray()).float()
    torch.testing.assert_close(graph_upsample(x)[0], up @ x[0])
    assert torch.equal(graph_max_pool(graph_upsample(x)), x)
    # the mesh's normalised Laplacian, rescaled with lmax 2: no diagonal,
    # symmetric, its spectrum in [-1, 1]
    laplacian = hierarchy.rescaled_laplacian(0)
    assert abs(laplacian - laplacian.T).max() == 0
    assert laplacian.diagonal().max() == 0
    # the left hand has the same edges: one hierarchy serves both
    right = mesh_edges(load_hand_model(open_hand_path('right')).faces)
    left = mesh_edges(load_hand_model(open_hand_path('left')).faces)
    assert np.array_equal(right, left)


def test_pinned_file_rebuilds_byte_for_byte(capsys):
    assert build_main(['--check']) == 0
    assert 'identical to a rebuild' in capsys.readouterr().out


def test_hierarchy_of_a_small_mesh_pads_to_a_binary_tree():
    # a square of two triangles: every node has a partner, 4 -> 2 nodes
    arrays = build_hierarchy(np.array([[0, 1, 2], [0, 2, 3]]), 4, levels=1)
    assert arrays['sizes'].tolist() == [4, 2]
    assert arrays['padded_sizes'].tolist() == [4, 2]
    hierarchy = MeshHierarchy(arrays, 'square')
    assert sorted(hierarchy.orders[0].tolist()) == [0, 1, 2, 3]
    assert hierarchy.edges[1].tolist() == [[0, 1]]
    assert hierarchy.weights[1].tolist() == [3.0]  # 3 edges merged


def test_a_model_whose_vertex_count_differs_is_one_line():
    hierarchy = load_mesh_hierarchy()
    with pytest.raises(MeshHierarchyError) as error:
        hierarchy.check_vertices(778, 'data/mano/MANO_RIGHT.npz')
    message = str(error.value)
    assert '\n' not in message
    assert '778' in message and '1686' in message
    assert 'tools/build_mesh_hierarchy.py' in message


def test_head_refuses_a_hierarchy_of_another_mesh(tmp_path):
    from handkit.models.hand_model.mesh_hierarchy import hierarchy_bytes
    path = tmp_path / 'square_hierarchy.npz'
    path.write_bytes(hierarchy_bytes(build_hierarchy(
        np.array([[0, 1, 2], [0, 2, 3]]), 4, levels=4)))
    init_default_scope('handkit')
    with pytest.raises(MeshHierarchyError, match=r'the hand model has 1686 '
                       r'vertices but the mesh hierarchy .* was built for 4'):
        MODELS.build(dict(type='GraphMeshHead', hierarchy_path=str(path)))


# -- the losses, by hand -----------------------------------------------------

TRIANGLE = torch.tensor([[0, 1, 2]])
FLAT = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
LIFTED = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.5]]])


def test_vertex_and_heatmap_losses_by_hand():
    pred = torch.zeros(1, 2, 3)
    target = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    assert VertexL2Loss()(pred, target).item() == pytest.approx(2.5)
    assert VertexL2Loss()(pred, target, torch.zeros(1, 1)).item() == 0
    maps = torch.zeros(1, 2, 2, 2)
    true = torch.ones(1, 2, 2, 2)
    true[0, 1] = 3.0
    # keypoint 0: mean 1, keypoint 1 (weight 0) left out; per stage
    assert HeatmapL2Loss()([maps], true, torch.tensor([[1.0, 0.0]])).item() \
        == pytest.approx(1.0)
    assert HeatmapL2Loss()([maps, maps + 1], true,
                           torch.tensor([[1.0, 0.0]])).item() == 1.0


def test_normal_loss_by_hand():
    # true normal (0, 0, 1); the lifted corner puts the sides (1, 2) and
    # (2, 0) 0.5 off the plane: (0 + 0.25 + 0.25) / 3
    assert NormalLoss()(LIFTED, FLAT, TRIANGLE).item() == pytest.approx(1 / 6)
    assert NormalLoss()(FLAT + 1.0, FLAT, TRIANGLE).item() == 0


def test_edge_length_loss_by_hand():
    # true lengths 1, sqrt 2, 1; lifted 1, 1.5, sqrt 1.25
    expected = ((1.5 - math.sqrt(2))**2 + (math.sqrt(1.25) - 1)**2) / 3
    assert EdgeLengthLoss()(LIFTED, FLAT, TRIANGLE).item() == \
        pytest.approx(expected, rel=1e-5)


def test_laplacian_loss_by_hand():
    # path 0 - 1 - 2, offsets d = ((1, 0, 0), 0, 0): node 0's neighbour
    # mean is 0 -> 1; node 1's (0.5, 0, 0) -> 0.25; node 2's 0 -> 0
    graph = adjacency(np.array([[0, 1], [1, 2]]), 3)
    degree = np.asarray(graph.sum(1)).ravel()
    index, weight = (torch.from_numpy(a) for a in
                     neighbour_table(sp.diags(1 / degree) @ graph))
    pred = torch.tensor([[[1.0, 0, 0], [5.0, 5.0, 5.0], [2.0, 0, 0]]])
    target = torch.tensor([[[0.0, 0, 0], [5.0, 5.0, 5.0], [2.0, 0, 0]]])
    assert LaplacianLoss()(pred, target, index, weight).item() == \
        pytest.approx(1.25 / 3)
    # a translation of the whole mesh costs nothing
    assert LaplacianLoss()(target + 3.0, target, index, weight).item() == \
        pytest.approx(0, abs=1e-12)
    # L_pM: (vertex, edge, Laplacian) weights
    faces = torch.tensor([[0, 1, 2]])
    combined = PseudoMeshLoss((1.0, 2.0, 3.0))(pred, target, faces, index,
                                               weight).item()
    assert combined == pytest.approx(
        VertexL2Loss()(pred, target).item() +
        2 * EdgeLengthLoss()(pred, target, faces).item() + 3 * 1.25 / 3)


def test_depth_map_loss_by_hand():
    # a triangle facing the camera at z = 100 mm covers pixels of a 20 x 20
    # image; the depth image says 110 mm on its left half, nothing on the
    # right: |100 - 110| mm on the covered left pixels, times 0.1
    vertices = torch.tensor([[[-40.0, -40.0, 100.0], [40.0, -40.0, 100.0],
                              [-40.0, 40.0, 100.0]]], requires_grad=True)
    faces = torch.tensor([[0, 2, 1]])
    cam_k = torch.tensor([[[20.0, 0, 9.5], [0, 20.0, 9.5], [0, 0, 1]]])
    face_ids, _ = rasterize_visible(vertices, faces, cam_k, (20, 20))
    assert (face_ids >= 0).sum() > 50
    depth = torch.zeros(1, 20, 20)
    depth[..., :10] = 110.0
    loss = DepthMapL1Loss(scale=0.1)(vertices, faces, cam_k, depth)
    assert loss.item() == pytest.approx(1.0, rel=1e-5)
    loss.backward()
    # d/dz of the mean of (110 - sum_k b_k z_k) 0.1: -0.1 in total
    assert vertices.grad[0, :, 2].sum().item() == pytest.approx(-0.1,
                                                                rel=1e-5)
    assert vertices.grad[0, :, :2].abs().max() == 0  # the seam is fixed
    # no covered pixel with depth: weight 0, loss 0
    empty = DepthMapL1Loss()(vertices, faces, cam_k, torch.zeros(1, 20, 20))
    assert empty.item() == 0


def test_head_losses_by_hand():
    """Each term through the registry, reported as loss_<name> times its
    weight: the fully supervised defaults, then the weak head's."""
    init_default_scope('handkit')
    head = MODELS.build(dict(type='GraphMeshHead'))
    assert head.loss_module.weights == dict(heatmap=1.0, vertex=1.0,
                                            normal=1.0, edge=1.0,
                                            laplacian=50.0, joint=1.0)
    vertices = torch.randn(1, head.num_vertices, 3,
                           generator=torch.Generator().manual_seed(0))
    outputs = dict(heatmaps=[torch.zeros(1, 21, 4, 4)] * 2,
                   vertices=vertices, joints=torch.zeros(1, 21, 3))
    joints = torch.zeros(1, 21, 3)
    joints[..., 2] = 0.2
    targets = dict(heatmaps=torch.ones(1, 21, 4, 4),
                   keypoint_weights=torch.ones(1, 21),
                   mesh_vertices=vertices + torch.tensor([0.1, 0.0, 0.0]),
                   mesh_weight=torch.ones(1, 1), mesh_joints=joints)
    losses = head.loss(outputs, dict(targets=targets))
    assert list(losses) == ['loss_heatmap', 'loss_vertex', 'loss_normal',
                            'loss_edge', 'loss_laplacian', 'loss_joint']
    # L_H: 1 per stack, two stacks; a translated mesh: L_v = 0.1^2 and
    # nothing for its shape; L_J = 0.2^2
    assert losses['loss_heatmap'].item() == 2.0
    assert losses['loss_vertex'].item() == pytest.approx(0.01)
    assert losses['loss_joint'].item() == pytest.approx(0.04)
    for name in ('loss_normal', 'loss_edge', 'loss_laplacian'):
        assert losses[name].item() == pytest.approx(0, abs=1e-9)
    weak = MODELS.build(dict(type='WeakGraphMeshHead'))
    targets.update(depth_target=torch.zeros(1, 8, 8),  # no depth: L_D 0
                   crop_K=torch.eye(3)[None], root_3d=torch.zeros(1, 3),
                   depth_weight=torch.ones(1, 1), pseudo_vertices=vertices)
    losses = weak.loss(outputs, dict(targets=targets))
    assert list(losses) == ['loss_heatmap', 'loss_depth', 'loss_pseudo']
    assert [value.item() for value in losses.values()] == [2.0, 0.0, 0.0]


def test_configs_resolve_to_their_own_loss_terms():
    """The base states Section 3.3's terms; the synthetic config sums L_H
    over its 32 x 32 pixels; the weak configs replace the terms whole (a
    base term merged in would train a mesh loss they have no mesh for)."""
    def weights(name):
        losses = load(name).model.heads.mesh.losses
        return {term: cfg['loss_weight'] for term, cfg in losses.items()}
    assert weights('ge_synthetic.py') == dict(
        heatmap=1024.0, vertex=1.0, normal=1.0, edge=1.0, laplacian=50.0,
        joint=1.0)
    assert weights('ge_stb.py') == dict(heatmap=1.0, depth=1.0, pseudo=1.0)
    assert weights('ge_freihand.py') == dict(heatmap=1.0, joint=1.0,
                                             pseudo=1.0)


# -- the model at the paper's size -------------------------------------------

def test_paper_size_shapes_and_parameter_count():
    cfg = load('ge_stb.py')
    model = MODELS.build(cfg.model).eval()
    head = model.heads[0]

    def count(module):
        return sum(p.numel() for p in module.parameters())
    counts = dict(total=count(model), hourglass=count(model.backbone),
                  mesh=count(head.mesh_decoder),
                  pose=count(head.pose_regressor))
    counts['features'] = count(head) - counts['mesh'] - counts['pose']
    print(f'Ge et al. at 256 x 256: {counts} (the paper and the release '
          'state no count)')
    assert counts == dict(total=25_320_812, hourglass=12_572_202,
                          mesh=6_519_331, pose=4_445_727,
                          features=1_783_552)
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, 256, 256), mode='tensor')[0]
        tensors = model.predict_tensors(torch.randn(1, 3, 256, 256))
    assert [tuple(m.shape) for m in outputs['heatmaps']] == [
        (1, 21, 64, 64)] * 2
    assert {key: tuple(value.shape) for key, value in tensors.items()} == {
        'mesh.heatmaps': (1, 21, 64, 64), 'mesh.vertices': (1, 1686, 3),
        'mesh.keypoints_3d': (1, 21, 3), 'mesh.keypoints_3d_mesh': (1, 21, 3)}
    assert head.num_features == 4096


# -- the configs on tiny data ------------------------------------------------

def test_stb_config_trains_a_weak_step_against_a_frozen_copy(tmp_path):
    write_tiny_stb(tmp_path, sequence='B2Counting')
    cfg = load('ge_stb.py')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.update(data_root=str(tmp_path),
                                   sequences=['B2Counting'])
    preflight(cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader'],
              check_first=1)
    # a small model for speed, the same heads and losses
    cfg.model.backbone.update(channels=32, num_modules=1, order=2)
    cfg.model.heads.mesh.update(in_channels=32, num_modules=1)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(hand_collate([dataset[0], dataset[1]]),
                                    True)
    assert 495 < batch['data_samples']['targets']['depth_target'].max() < 505
    losses = model(batch['inputs'], batch['data_samples'], mode='loss')
    assert set(losses) == {'loss_heatmap', 'loss_depth', 'loss_pseudo'}
    # the student trains with batch statistics, the frozen copy is in eval
    # mode: L_pM is not 0, but the copy holds the student's weights
    assert losses['loss_pseudo'].item() > 0
    assert losses['loss_depth'].item() > 0
    sum(losses.values()).backward()
    teacher = model.teacher
    assert teacher is not None and not teacher.training
    for (name, mine), theirs in zip(model.named_parameters(),
                                    teacher.parameters()):
        assert torch.equal(mine, theirs), name
    assert not any(p.requires_grad for p in teacher.parameters())
    assert not any(key.startswith('_teacher') for key in model.state_dict())
    head = model.heads[0]
    assert head.mesh_decoder.convs[0].linear.weight.grad is not None


def test_freihand_config_and_a_dataset_without_vertices(tmp_path):
    write_tiny_freihand(tmp_path)
    cfg = load('ge_freihand.py')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.update(data_root=str(tmp_path),
                                   holdout_fraction=0.5)
    preflight(cfg, ['train_dataloader'], check_first=1)
    # the fully supervised head needs true meshes: one line naming the
    # dataset and the key
    cfg.model.heads.mesh.type = 'GraphMeshHead'
    with pytest.raises(Exception) as error:
        preflight(cfg, ['train_dataloader'], check_first=1)
    message = str(error.value)
    assert '\n' not in message
    assert 'FreiHANDDataset' in message and "'vertices'" in message


# -- overfitting a few synthetic mesh hands ----------------------------------

STEPS = 100


def fit(num_samples=4, steps=STEPS, lr=2e-3):
    """The synthetic config's model on its first training hands (no
    augmentation, no cache), full-batch Adam steps (test_overfitting's)."""
    return fit_config('ge/ge_synthetic.py', steps, lr, num_samples)


def mesh_errors(predictions):
    """Root-relative MPVPE and MPJPE (mm) and the same of the hands' own
    mean root-relative mesh / pose (the oracle mean pose)."""
    def stack(key):
        return np.stack([p[key] for p in predictions]).astype(np.float64)
    gt_joints = stack('gt_keypoints_3d')
    root = gt_joints[:, :1]
    gt_v, gt_j = stack('gt_vertices') - root, gt_joints - root
    pred_v, pred_j = stack('pred_vertices'), stack('pred_keypoints_3d')

    def error(a, b):
        return float(np.linalg.norm(a - b, axis=-1).mean())
    return dict(mpvpe=error(pred_v, gt_v), mpjpe=error(pred_j, gt_j),
                mean_v=error(gt_v.mean(0), gt_v),
                mean_j=error(gt_j.mean(0), gt_j))


def test_ge_synthetic_fits_4_mesh_hands(fixed_threads):
    errors = mesh_errors(fit())
    print('MPVPE {mpvpe:.1f} mm (mean pose {mean_v:.1f}), MPJPE {mpjpe:.1f} '
          'mm (mean pose {mean_j:.1f})'.format(**errors))
    # measured (1 thread, 100 steps, 128 px, channels-last inputs, L_H
    # summed): MPVPE 12.7 mm, MPJPE 8.5 mm (AVX2 kernels: 12.7 / 7.4); the
    # 4 hands' own mean pose 89.2 / 90.6 mm (docs/ge.md)
    assert errors['mpvpe'] < min(25.0, errors['mean_v'] / 4)
    assert errors['mpjpe'] < min(25.0, errors['mean_j'] / 4)


def test_exports_to_onnx_up_to_the_vertices(tmp_path, capsys):
    from handkit.tools.export_onnx import main as export_main
    cfg = load('ge_synthetic.py')
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'init.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    out = tmp_path / 'ge.onnx'
    export_main([str(CONFIGS / 'ge_synthetic.py'), str(checkpoint),
                 '--out', str(out)])
    assert out.is_file()
    printed = capsys.readouterr().out
    assert 'mesh.vertices' in printed and 'parity ok' in printed
