"""Every notebook opens in Colab and installs the course there (tools/colab.py writes both cells).

The install cell's real work, installing into a Python without the course, is tried in a fresh
virtual environment by tests/test_install.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tool_loader import load_tool

import course_lib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).glob("*.ipynb"))


colab = load_tool("colab", "colab_tool")


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_notebooks_header_cells_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "colab.py"), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_notebook_opens_itself_in_colab_and_installs_this_version(path):
    cells = _cells(path)
    badge = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and "Open in Colab" in badge
    assert colab.colab_url(path.relative_to(ROOT).as_posix()) in badge, badge  # exercises open the exercise
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert "course-install" in first_code["metadata"]["tags"]
    source = "".join(first_code["source"])
    assert f"git+{colab.repository()}@v{course_lib.__version__}" in source
    assert not first_code.get("outputs"), "the install cell has a stored output"


def test_the_install_cell_does_nothing_where_course_lib_is_importable(monkeypatch):
    source = "".join(next(c for c in _cells(NOTEBOOKS[0]) if c["cell_type"] == "code")["source"])
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"the cell ran {a}"))
    exec(compile(source, "install-cell", "exec"), {})


def test_the_repository_is_named_in_one_place_and_the_readme_links_to_colab():
    readme = (ROOT / "README.md").read_text()
    assert colab.repository().startswith("https://github.com/")
    assert colab.colab_url("notebooks/00_studio.ipynb") in readme
    owner_repo = colab.repository().removeprefix("https://github.com/")
    for line in readme.splitlines():
        for marker in ("mybinder.org/v2/gh/", "colab.research.google.com/github/"):
            if marker in line:
                assert f"{marker}{owner_repo}/" in line, line
