"""The guides run as written: each page's files and commands, copied
verbatim.

A page's ```python block whose first line is ``# NAME`` is the file NAME;
its ```bash blocks are commands, one a line, run in order in the page's
folder with the ``python`` that runs the tests. The folder is laid out as
the root of a clone, as the pages ask: ``tools/``, ``configs/`` and
``tests/data/`` are the repository's (links); nothing of a page is
rewritten. Other blocks (```text) are explanations and are not run.
"""
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: page -> text its last command prints (what shows the page worked)
GUIDES = {
    'adding_a_head.md': 'PCK_ave',
    'adding_a_dataset.md': 'PCK_ave',
    'adding_a_codec.md': 'PCK_ave',
    'adding_a_metric.md': 'EPE_px',
    'adding_a_3d_system.md': 'EPE_3D',
}


def page_parts(markdown: str) -> Tuple[Dict[str, str], List[str]]:
    """({file name: text}, [command, ...]) of a page, in page order."""
    files, commands = {}, []
    for kind, body in re.findall(r'```(\w+)\n(.*?)```', markdown, re.S):
        if kind == 'python':
            first = body.splitlines()[0]
            if first.startswith('# ') and not first[2:].strip().count(' '):
                files[first[2:].strip()] = body
        elif kind == 'bash':
            commands += [line for line in body.splitlines() if line.strip()]
    return files, commands


def clone_layout(folder: Path) -> None:
    """``folder`` as the root of a clone, for the parts the pages read."""
    (folder / 'tools').symlink_to(ROOT / 'tools')
    (folder / 'configs').symlink_to(ROOT / 'configs')
    (folder / 'tests').mkdir()
    (folder / 'tests' / 'data').symlink_to(ROOT / 'tests' / 'data')


@pytest.mark.parametrize('page', sorted(GUIDES))
def test_the_guide_runs_as_written(page, tmp_path):
    files, commands = page_parts((ROOT / 'docs' / page).read_text())
    assert files and commands, f'{page}: no files or no commands'
    clone_layout(tmp_path)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    env = dict(os.environ, OMP_NUM_THREADS='1', PATH=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get('PATH', '')]))
    env.pop('PYTHONPATH', None)
    for command in commands:
        result = subprocess.run(command, shell=True, cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (
            f'{page}: `{command}` exited {result.returncode}:\n'
            f'{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    assert GUIDES[page] in result.stdout + result.stderr, (
        f'{page}: the last command printed no {GUIDES[page]}:\n'
        f'{result.stdout[-3000:]}')
