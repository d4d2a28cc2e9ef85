"""Every shipped config resolves to the model, parameter count and pipelines
recorded in tests/data/config_snapshot.json.

The snapshot pins what a refactor of the configs or of the layers below them
(``_base_`` pieces, codecs stated once, heads on one base class) must not
change: each model's state-dict keys and shapes (so old checkpoints still
load), its parameter count and module types, and each loader's resolved
dataset arguments and pipeline steps. A deliberate change regenerates it:

    python tests/test_config_snapshot.py   # rewrites the JSON, then review the diff
"""
import hashlib
import json
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

ROOT = Path(__file__).resolve().parents[1]
# configs/studies/ holds study files (tools/study.py), not model configs
CONFIGS = sorted(path for path in (ROOT / 'configs').glob('*/*.py')
                 if path.parent.name not in ('_base_', 'studies'))
SNAPSHOT = ROOT / 'tests' / 'data' / 'config_snapshot.json'


def _plain(value):
    """Config values as JSON-comparable data (tuples become lists)."""
    return json.loads(json.dumps(value, default=str))


def snapshot(path: Path) -> dict:
    from handkit.registry import MODELS
    cfg = Config.fromfile(str(path))
    init_default_scope('handkit')
    model = MODELS.build(cfg.model)
    shapes = sorted(f'{key}:{tuple(value.shape)}'
                    for key, value in model.state_dict().items())
    modules = sorted({type(module).__name__ for module in model.modules()})
    loaders = {}
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is not None:
            dataset = dict(loader['dataset'])
            loaders[name] = dict(
                batch_size=loader.get('batch_size'),
                dataset=_plain({key: value for key, value in dataset.items()
                                if key != 'pipeline'}),
                pipeline=_plain(dataset.get('pipeline')))
    return dict(
        parameters=sum(p.numel() for p in model.parameters()),
        state_dict_sha1=hashlib.sha1('\n'.join(shapes).encode()).hexdigest(),
        modules=modules,
        test_cfg=_plain(cfg.model.get('test_cfg')),
        loaders=loaders)


def _key(path: Path) -> str:
    return str(path.relative_to(ROOT / 'configs'))


@pytest.fixture(scope='module')
def recorded():
    return json.loads(SNAPSHOT.read_text())


def test_every_config_is_in_the_snapshot(recorded):
    assert sorted(recorded) == sorted(_key(path) for path in CONFIGS)


@pytest.mark.parametrize('path', CONFIGS, ids=_key)
def test_config_resolves_as_recorded(path, recorded):
    now, before = snapshot(path), recorded[_key(path)]
    assert now['parameters'] == before['parameters']
    assert now['state_dict_sha1'] == before['state_dict_sha1']
    assert now['modules'] == before['modules']
    assert now['test_cfg'] == before['test_cfg']
    assert now['loaders'] == before['loaders']


@pytest.mark.parametrize('path', CONFIGS, ids=_key)
def test_every_loader_collates_with_hand_collate(path):
    cfg = Config.fromfile(str(path))
    # inference-only configs (MediaPipe's converted detector) have a test
    # loader only, its fine-tuning config a training loader only
    names = [name for name in ('train_dataloader', 'val_dataloader',
                               'test_dataloader')
             if cfg.get(name) is not None]
    assert 'test_dataloader' in names or 'train_dataloader' in names
    for name in names:
        assert cfg[name].get('collate_fn') == dict(
            type='handkit.hand_collate'), name


if __name__ == '__main__':
    sys.path.insert(0, str(ROOT))
    SNAPSHOT.write_text(json.dumps(
        {_key(path): snapshot(path) for path in CONFIGS}, indent=1,
        sort_keys=True) + '\n')
    print(f'wrote {SNAPSHOT} ({len(CONFIGS)} configs)')
