import sys

import pytest
import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import init_default_scope

from handkit.registry import MODELS, UnknownTypeError


@MODELS.register_module(force=True)
class TinyRegistryProbe(torch.nn.Module):
    pass


def test_unknown_type_names_type_registry_and_closest_names():
    init_default_scope('handkit')
    with pytest.raises(UnknownTypeError) as info:
        MMENGINE_MODELS.build(dict(type='TinyRegistryProbes'))
    message = str(info.value)
    assert '\n' not in message
    assert "unknown type 'TinyRegistryProbes'" in message
    assert "registry 'handkit::model'" in message
    assert 'closest registered: TinyRegistryProbe' in message


def test_known_type_builds_through_the_mmengine_root():
    init_default_scope('handkit')
    assert isinstance(MMENGINE_MODELS.build(dict(type='TinyRegistryProbe')),
                      TinyRegistryProbe)


def test_import_error_inside_a_module_surfaces_as_itself(tmp_path,
                                                         monkeypatch):
    from handkit.registry import HandkitRegistry
    package = tmp_path / 'brokenpkg'
    package.mkdir()
    (package / '__init__.py').write_text('import not_a_real_module_xyz\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = HandkitRegistry('probe', scope='brokenpkg',
                               locations=['brokenpkg'])
    with pytest.raises(ModuleNotFoundError, match='not_a_real_module_xyz'):
        registry.get('Anything')
    sys.modules.pop('brokenpkg', None)
