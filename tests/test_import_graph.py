"""The tree holds its shape: handkit's modules import each other in layers,
never in a circle (docs/architecture.md, section 11).

Every module of ``handkit/`` is parsed with ``ast``; every ``import`` counts,
at module level and inside functions (a lazy import is a dependency that
waits). Importing ``a.b.c`` also runs the faces ``a/__init__.py`` and
``a/b/__init__.py``: a face is a dependency of its importer too, unless it
imports nothing of handkit (then it costs nothing) or is the importer's own
package (already running).
"""
import ast
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: handkit's layers, lowest first; a module belongs to the layer of its
#: longest prefix here, and may import its own layer and those below.
LAYERS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('ground', ('handkit', 'handkit.version', 'handkit.errors',
                'handkit.skeleton', 'handkit.geometry', 'handkit.fileio',
                'handkit.registry', 'handkit.labels', 'handkit.rasterizer',
                'handkit.config_files')),
    ('hand', ('handkit.hand', )),
    ('checkpoint files', ('handkit.engine.checkpoint',
                          'handkit.engine.download')),
    ('codecs', ('handkit.codecs', )),
    ('hand mesh', ('handkit.models.hand_model', )),
    ('datasets', ('handkit.datasets', )),
    ('models', ('handkit.models', )),
    ('evaluation', ('handkit.evaluation', )),
    ('visualization', ('handkit.visualization', )),
    ('engine', ('handkit.engine', )),
    ('deploy', ('handkit.deploy', )),
    ('apis', ('handkit.apis', )),
    ('convert', ('handkit.convert', )),
    ('tools', ('handkit.tools', 'handkit.cli', 'handkit.__main__')),
)
#: modules only some packages may import: the synthetic generator renders
#: and caches data, so only its dataset adapters and the tools use it
PRIVATE = {'handkit.datasets.synthetic': ('handkit.datasets',
                                          'handkit.tools')}

Import = Tuple[str, str, int]  # (importer, imported module, line)


def find_modules(package_dir: Path) -> Dict[str, Path]:
    """{dotted name: file} of every module of the package at
    ``package_dir`` (a folder with ``__init__.py``)."""
    modules = {}
    for path in sorted(package_dir.rglob('*.py')):
        parts = list(path.relative_to(package_dir.parent).with_suffix(
            '').parts)
        if parts[-1] == '__init__':
            parts = parts[:-1]
        modules['.'.join(parts)] = path
    return modules


def _resolve(name: str, modules: Dict[str, Path]) -> str:
    """The most specific module of ``modules`` that ``name`` is or lies in."""
    while name and name not in modules:
        name = name.rpartition('.')[0]
    return name


def find_imports(modules: Dict[str, Path], top: str) -> List[Import]:
    """Every import of a module of ``top`` by a module of ``modules``, at
    any depth of the file (functions included), resolved to a module."""
    found = []
    for name, path in modules.items():
        package = name if path.name == '__init__.py' else name.rpartition(
            '.')[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    parts = package.split('.')
                    parts = parts[:len(parts) - node.level + 1]
                    base = '.'.join(parts + ([base] if base else []))
                # ``from a import b``: the module a.b where b is one
                targets = [f'{base}.{alias.name}'
                           if f'{base}.{alias.name}' in modules else base
                           for alias in node.names]
            else:
                continue
            found += [(name, _resolve(target, modules), node.lineno)
                      for target in targets
                      if target.split('.')[0] == top]
    return found


def _faces(target: str) -> List[str]:
    """The packages whose ``__init__`` runs before ``target``."""
    parts = target.split('.')
    return ['.'.join(parts[:end]) for end in range(1, len(parts))]


def _runs(importer: str, target: str, modules: Dict[str, Path],
          imports_something: set) -> List[str]:
    """The modules an import of ``target`` by ``importer`` runs: the target
    and the faces above it that import something of handkit, except the
    importer's own packages."""
    own = set(_faces(importer)) | {importer}
    ran = [face for face in _faces(target)
           if face not in own and face in imports_something]
    return ran + ([target] if target not in own else [])


def layer_of(module: str, layers=LAYERS) -> Optional[int]:
    """Index in ``layers`` of the longest prefix of ``module`` (the top
    package's name stands for its face alone: a new module of handkit
    belongs nowhere until the table names it)."""
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            inside = '.' in prefix and module.startswith(prefix + '.')
            if (module == prefix or inside) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def _where(module: str, line: int, modules: Dict[str, Path]) -> str:
    """``handkit/x/y.py:LINE``: the file relative to the folder that holds
    the top package."""
    top = modules[module.split('.')[0]].parent.parent
    return f'{modules[module].relative_to(top)}:{line}'


def layer_problems(modules: Dict[str, Path], imports: Sequence[Import],
                   layers=LAYERS, private=PRIVATE) -> List[str]:
    """One line per import against the layer order or a private module."""
    imports_something = {importer for importer, _, _ in imports}
    problems = [f'{_where(name, 1, modules)}: {name} is in no layer of '
                f'tests/test_import_graph.py LAYERS'
                for name in modules if layer_of(name, layers) is None]
    for importer, target, line in imports:
        where = _where(importer, line, modules)
        low = layer_of(importer, layers)
        # the imported module first, then the faces it runs: one line each
        ran = _runs(importer, target, modules, imports_something)[::-1]
        above = [name for name in ran if None not in (
            low, layer_of(name, layers)) and layer_of(name, layers) > low]
        if above:
            high = layer_of(above[0], layers)
            problems.append(
                f'{where}: {importer} ({layers[low][0]}) imports '
                f'{above[0]} ({layers[high][0]}), a higher layer')
        for hidden, allowed in private.items():
            inside = target == hidden or target.startswith(hidden + '.')
            if inside and not any(
                    importer == user or importer.startswith(user + '.')
                    for user in allowed):
                problems.append(f'{where}: {importer} imports {target}; '
                                f"only {', '.join(allowed)} may")
    return sorted(set(problems))


def _components(graph: Dict[str, Dict[str, int]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan,
    iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            name, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[name] = min(low[name], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[name])
            if low[name] == index[name]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == name:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _loop(graph: Dict[str, Dict[str, int]], members: List[str]) -> list:
    """A shortest loop through the first of ``members`` (breadth first,
    inside the component)."""
    start, inside = members[0], set(members)
    came_from = {start: None}
    queue = [start]
    while queue:
        name = queue.pop(0)
        for child in sorted(graph[name]):
            if child == start:
                loop = [name]
                while came_from[loop[-1]] is not None:
                    loop.append(came_from[loop[-1]])
                return loop[::-1] + [start]
            if child in inside and child not in came_from:
                came_from[child] = name
                queue.append(child)
    raise AssertionError(f'no loop through {start}')


def cycle_problems(modules: Dict[str, Path],
                   imports: Sequence[Import]) -> List[str]:
    """One line per import cycle (a group of modules that import each
    other), naming each import of one loop with its file:line."""
    imports_something = {importer for importer, _, _ in imports}
    graph: Dict[str, Dict[str, int]] = {name: {} for name in modules}
    for importer, target, line in imports:
        for ran in _runs(importer, target, modules, imports_something):
            graph[importer].setdefault(ran, line)
    problems = []
    for members in _components(graph):
        loop = _loop(graph, members)
        problems.append(
            f'import cycle of {len(members)} modules: ' + ' -> '.join(
                f'{a} ({_where(a, graph[a][b], modules)})'
                for a, b in zip(loop, loop[1:])) + f' -> {loop[-1]}')
    return problems


@pytest.fixture(scope='module')
def handkit_graph():
    modules = find_modules(ROOT / 'handkit')
    return modules, find_imports(modules, 'handkit')


def test_no_import_cycle(handkit_graph):
    problems = cycle_problems(*handkit_graph)
    assert not problems, '\n'.join(problems)


def test_every_import_follows_the_layers(handkit_graph):
    problems = layer_problems(*handkit_graph)
    assert not problems, '\n'.join(problems)


def _package(tmp_path: Path, files: Dict[str, str]) -> Dict[str, Path]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return find_modules(tmp_path / 'handkit')


def test_the_checks_name_a_cycle_through_a_face_and_an_upward_import(
        tmp_path):
    # the cycle of issue 26: apis/inference.py -> deploy/__init__.py ->
    # deploy/parity.py -> apis (a function-level import)
    modules = _package(tmp_path, {
        'handkit/__init__.py': '',
        'handkit/apis/__init__.py': 'from .inference import inference\n',
        'handkit/apis/inference.py':
            'def inference():\n    from handkit.deploy import Model\n',
        'handkit/deploy/__init__.py': 'from .parity import Model\n',
        'handkit/deploy/parity.py':
            'class Model:\n    pass\n\n\ndef check():\n'
            '    from handkit.apis.inference import inference\n',
        'handkit/datasets/__init__.py': '',
        'handkit/datasets/synthetic/__init__.py': '',
        'handkit/datasets/synthetic/renderer.py': '',
    })
    modules['handkit.deploy.parity'].write_text(
        modules['handkit.deploy.parity'].read_text()
        + 'from handkit.datasets.synthetic.renderer import *\n')
    imports = find_imports(modules, 'handkit')
    cycles = cycle_problems(modules, imports)
    assert len(cycles) == 1 and all(
        part in cycles[0] for part in (
            'handkit.apis.inference (handkit/apis/inference.py:2)',
            'handkit.deploy (handkit/deploy/__init__.py:1)',
            'handkit.deploy.parity (handkit/deploy/parity.py:6)'))
    problems = layer_problems(modules, imports)
    assert ('handkit/deploy/parity.py:6: handkit.deploy.parity (deploy) '
            'imports handkit.apis.inference (apis), a higher layer'
            in problems)
    assert ('handkit/deploy/parity.py:7: handkit.deploy.parity imports '
            'handkit.datasets.synthetic.renderer; only handkit.datasets, '
            'handkit.tools may' in problems)
