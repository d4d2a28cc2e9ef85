"""ONNX export of each model family through tools/export_onnx.py, the
parity it prints, and its one-line errors (an operator ONNX cannot export,
a head that cannot be decoded outside PyTorch)."""
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from torch import nn

import handkit.deploy
import handkit.tools.export_onnx as export_tool
from handkit.deploy import (NotExportableError, UnsupportedOpError,
                            export_onnx, find_op_caller)
from handkit.deploy.onnx_export import META_INPUT_SHAPE
from handkit.evaluation.complexity import input_shape_from_config
from handkit.models.heads import KeypointMapHead
from tiny_models import (FAMILIES, IMAGE, ROOT, flat_options, scramble,
                         tiny_checkpoint, tiny_model)

OUTPUTS = {
    'nsrm': ['structure.structure_maps', 'keypoints.heatmaps'],
    'cpm': ['keypoints.heatmaps'],
    'resunet_bone_tree': ['keypoints2d.coords', 'keypoints2d.scores',
                          'bones.bones', 'bones.keypoints_3d'],
    'hourglass_local_regression': ['joints.joints_cube'],
    # Cai et al.: the regression alone, no depth regulariser (training only)
    'cai': ['keypoints2d.heatmaps', 'pose3d.joints_3d_normalized'],
    'zimmermann_brox': ['keypoints.heatmaps', 'pose3d.canonical_keypoints',
                        'pose3d.rotations'],
    'handsegnet': ['segmentation.hand_maps'],
    'detnet': ['heatmaps.heatmaps', 'deltas.delta_maps',
               'locations.location_maps', 'locations.heatmaps_in'],
}


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_each_family_exports_and_matches_eager_within_1e4(
        family, tmp_path, capsys):
    config, options, _ = FAMILIES[family]
    model = tiny_checkpoint(family, tmp_path / 'tiny.pth')
    shape = input_shape_from_config(model.cfg)
    with torch.no_grad():
        outputs = model.predict_tensors(torch.randn(1, *shape))
    assert min(float(t.std()) for t in outputs.values()) > 1e-2
    images = ['--image', str(IMAGE)] if shape[0] == 3 else []
    worst = export_tool.main(
        [str(ROOT / config), str(tmp_path / 'tiny.pth'), '--out',
         str(tmp_path / 'tiny.onnx'), '--dynamic-batch', *images,
         *flat_options(options)])
    assert worst <= 1e-4
    printed = capsys.readouterr().out
    assert f"-> {', '.join(OUTPUTS[family])}" in printed
    checked = {'random', 'random, batch 2', 'synthetic hand'} | (
        {f'image {IMAGE}'} if images else set())
    for batch in checked:
        for output in OUTPUTS[family]:
            assert re.search(rf'^  {re.escape(batch)} +{re.escape(output)} '
                             r'+\d\.\d\de-\d\d$', printed, re.M), (batch,
                                                                   output)
    assert re.search(r'^parity ok: max \d\.\d\de-\d\d \(tolerance 1e-04\)$',
                     printed, re.M)
    graph = onnx.load(str(tmp_path / 'tiny.onnx'))
    assert [out.name for out in graph.graph.output] == OUTPUTS[family]
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param \
        == 'batch'
    metadata = {prop.key: prop.value for prop in graph.metadata_props}
    assert metadata[META_INPUT_SHAPE] == ','.join(map(str, shape))


def test_fixed_batch_export_has_batch_1_and_only_temporary_files_go(
        tmp_path):
    model = tiny_model('cpm')
    names = export_onnx(model, str(tmp_path / 'cpm.onnx'), (3, 96, 96),
                        opset=13)
    assert names == ['keypoints.heatmaps']
    graph = onnx.load(str(tmp_path / 'cpm.onnx'))
    assert graph.opset_import[0].version == 13
    dims = graph.graph.output[0].type.tensor_type.shape.dim
    assert [dim.dim_value for dim in dims] == [1, 21, 12, 12]
    assert sorted(path.name for path in tmp_path.iterdir()) == ['cpm.onnx']


def test_export_leaves_the_model_in_eval_mode_and_unchanged(tmp_path):
    model = scramble(tiny_model('nsrm'), 0.3)
    inputs = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        before = model.predict_tensors(inputs)
    export_onnx(model, str(tmp_path / 'nsrm.onnx'), (3, 96, 96))
    assert not any(module.training for module in model.modules())
    with torch.no_grad():
        after = model.predict_tensors(inputs)
    for name, tensor in before.items():
        assert torch.equal(after[name], tensor)


class Erfinv(nn.Module):
    """An activation built on ``torch.erfinv``, which has no ONNX
    conversion at any opset of torch 2.13's TorchScript exporter."""

    def forward(self, x):
        return torch.erfinv(torch.tanh(x) * 0.5)


def cpm_with_erfinv():
    model = tiny_model('cpm')
    model.heads[0].stages[1][2] = Erfinv()  # the ReLU after conv + BN
    return model


def test_an_unsupported_op_names_the_op_and_the_module(tmp_path, capfd):
    model = cpm_with_erfinv()
    with pytest.raises(UnsupportedOpError) as error:
        export_onnx(model, str(tmp_path / 'bad.onnx'), (3, 96, 96))
    assert str(error.value) == (
        "ONNX opset 17 cannot export the operator 'aten::erfinv' in module "
        "'heads.0.stages.1.2' (Erfinv): Exporting the operator "
        "'aten::erfinv' to ONNX opset version 17 is not supported")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    # the exporter's dump of the whole TorchScript graph is held back
    captured = capfd.readouterr()
    assert 'Torch IR graph' not in captured.out + captured.err


def test_the_tool_gives_the_unsupported_op_in_one_line(
        tmp_path, capsys, monkeypatch):
    config, options, _ = FAMILIES['cpm']
    tiny_checkpoint('cpm', tmp_path / 'cpm.pth')
    monkeypatch.setattr(export_tool, 'init_model',
                        lambda *args, **kwargs: cpm_with_erfinv())
    with pytest.raises(SystemExit) as exit_:
        export_tool.main([str(ROOT / config), str(tmp_path / 'cpm.pth'),
                          '--out', str(tmp_path / 'cpm.onnx')])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert err.startswith("handkit: error: ONNX opset 17 cannot export the "
                          "operator 'aten::erfinv' in module "
                          "'heads.0.stages.1.2' (Erfinv)")
    assert not (tmp_path / 'cpm.onnx').exists()


def test_find_op_caller_sees_tensor_methods_and_head_predict_tensors():
    model = tiny_model('nsrm')
    inputs = torch.zeros(1, 3, 96, 96)
    # StructureMaskHead.predict_tensors applies the sigmoid, outside forward
    assert find_op_caller(model, inputs, 'sigmoid') == 'heads.0'
    assert find_op_caller(model, inputs, 'cat') == 'heads.0'
    assert find_op_caller(model, inputs, 'erfinv') is None


class PredictOnlyHead(KeypointMapHead):
    """A head written before predict was split: runs, cannot export."""

    def predict(self, outputs, batch=None):
        keypoints, scores = self.decoder.decode(outputs[-1].detach().numpy())
        return {'keypoints': keypoints, 'scores': scores}


def test_a_head_overriding_predict_alone_is_refused(tmp_path):
    model = tiny_model('cpm')
    head = model.heads[0]
    head.__class__ = PredictOnlyHead
    predictions = model(torch.zeros(1, 3, 96, 96), mode='predict')
    assert predictions[0]['pred_keypoints'].shape == (21, 2)  # it runs
    with pytest.raises(NotExportableError, match=(
            r"^head 'keypoints' \(PredictOnlyHead\) overrides predict "
            r'instead of splitting it into predict_tensors \+ decode')):
        export_onnx(model, str(tmp_path / 'x.onnx'), (3, 96, 96))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings('ignore:Exporting to ONNX opset version 99')
def test_unknown_opset_and_bad_atol_are_user_errors(tmp_path, capsys):
    config, options, _ = FAMILIES['cpm']
    tiny_checkpoint('cpm', tmp_path / 'cpm.pth')
    base = [str(ROOT / config), str(tmp_path / 'cpm.pth'), '--out',
            str(tmp_path / 'cpm.onnx'), *flat_options(options)]
    with pytest.raises(SystemExit) as exit_:
        export_tool.main(base + ['--opset', '99'])
    assert exit_.value.code == 2
    assert 'handkit: error: --opset 99: Unsupported onnx_opset_version: ' \
        '99' in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        export_tool.main(base + ['--atol', '0'])
    assert exit_.value.code == 2
    assert '--atol must be positive, got 0.0' in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        export_tool.main(base[:3] + [str(tmp_path / 'cpm.pth')] + base[4:])
    assert exit_.value.code == 2
    assert 'would overwrite the input' in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ['cpm.pth']


def test_a_parity_failure_exits_1_and_says_so(tmp_path, capsys, monkeypatch):
    config, options, _ = FAMILIES['cpm']
    tiny_checkpoint('cpm', tmp_path / 'cpm.pth')
    real_run = export_tool.OnnxRuntimeModel.run

    def perturbed(self, inputs):
        return {name: array + np.float32(1e-3)
                for name, array in real_run(self, inputs).items()}

    monkeypatch.setattr(export_tool.OnnxRuntimeModel, 'run', perturbed)
    with pytest.raises(SystemExit) as exit_:
        export_tool.main([str(ROOT / config), str(tmp_path / 'cpm.pth'),
                          '--out', str(tmp_path / 'cpm.onnx'),
                          *flat_options(options)])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert re.search(r'^parity FAILED: max 1\.0\de-03', captured.out, re.M)
    assert '> --atol 1e-04; ' in captured.err


def test_the_exporter_imports_without_mmengine_or_the_datasets():
    """``from handkit.deploy import export_onnx`` loads the exporter alone
    (the package's names are lazy): no mmengine, no datasets, no renderer,
    no OpenCV."""
    code = ('import sys\nfrom handkit.deploy import export_onnx, '
            'MissingDependencyError\n'
            "print(sorted(m for m in sys.modules if m == 'mmengine' or "
            "m == 'cv2' or m.startswith('handkit.datasets') or "
            "m.startswith('handkit.models')))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == '[]'
    assert handkit.deploy.ATOL == 1e-4
    with pytest.raises(AttributeError, match='no attribute'):
        handkit.deploy.not_a_name
