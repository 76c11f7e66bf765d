"""Put an "Open in Colab" link and an install cell at the top of every notebook (`make colab`).

    python tools/colab.py            # rewrite notebooks/ and solutions/ (then `make exercises`)
    python tools/colab.py --check    # exit 1 if a notebook's cells are not what this writes

The repository is named in one place, ``[project.urls] Repository`` in pyproject.toml (a fork
changes that line and runs ``make colab``); the version is ``course_lib.__version__``. A notebook
opened in Colab therefore installs the library it was written with, from the tag ``v<version>``:
tag every release so. The install cell does nothing where ``course_lib`` is importable (Binder, a
clone, a pip install); ``COURSE_LIB_INSTALL`` names something else for pip to install (a wheel,
a folder), which is how tests/test_install.py tries the cell without Colab.

Both cells carry the tag ``remove-cell``: the book site has its own launch buttons.
exercises/ are generated from solutions/ and keep both cells (course_lib.exercises points
the link at the exercise).
"""

from __future__ import annotations

import copy
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "solutions")
BADGE_TAG, INSTALL_TAG = "colab-badge", "course-install"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"

INSTALL = '''\
# Colab (or any Python without the course): install course_lib at this notebook's version.
# On Binder, in a clone or after a pip install it is already there, and this cell does nothing.
import importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("course_lib") is None:
    requirement = os.environ.get("COURSE_LIB_INSTALL", "course-lib @ git+{repository}@v{version}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", requirement], check=True)
    importlib.invalidate_caches()'''

# Colab renders ipywidgets 8 only through its custom widget manager (the studio's one extra need).
WIDGETS = '''
if "google.colab" in sys.modules:
    from google.colab import output
    output.enable_custom_widget_manager()'''


def repository() -> str:
    """The course's GitHub repository URL, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["urls"]["Repository"].rstrip("/").removesuffix(".git")


def version() -> str:
    """``course_lib.__version__``, read without importing the package."""
    text = (ROOT / "course_lib" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE).group(1)


def colab_url(path: str) -> str:
    """The Colab address of a notebook of the repository at this version (``path`` from the root)."""
    owner_repo = repository().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/v{version()}/{path}"


def header_cells(path: str, widgets: bool = False) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """(the link cell, the install cell) for the notebook at ``path`` (from the repository root)."""
    badge = nbformat.v4.new_markdown_cell(f"[![Open in Colab]({BADGE_IMAGE})]({colab_url(path)})", id=BADGE_TAG)
    badge.metadata["tags"] = [BADGE_TAG, "remove-cell"]
    source = INSTALL.format(repository=repository(), version=version()) + (WIDGETS if widgets else "")
    install = nbformat.v4.new_code_cell(source, id=INSTALL_TAG)
    install.metadata["tags"] = [INSTALL_TAG, "remove-cell", "nbval-ignore-output"]
    return badge, install


def _is_header(cell) -> bool:
    return bool({BADGE_TAG, INSTALL_TAG} & set(cell.get("metadata", {}).get("tags", [])))


def with_header(nb: nbformat.NotebookNode, path: str) -> nbformat.NotebookNode:
    """``nb`` with its header cells (re)written: the link first, the install cell before the first code cell."""
    cells = [c for c in nb.cells if not _is_header(c)]
    badge, install = header_cells(path, widgets="ipywidgets" in _code(cells) or "StudioView" in _code(cells))
    # A notebook run from the top (tools/run_notebooks.py) numbers the install cell: keep that.
    install.execution_count = next((c.get("execution_count") for c in nb.cells if INSTALL_TAG in
                                    c.get("metadata", {}).get("tags", [])), None)
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    nb.cells = [badge] + cells[:first_code] + [install] + cells[first_code:]
    return nb


def _code(cells) -> str:
    return "\n".join(c.source for c in cells if c.cell_type == "code")


def notebooks() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb"))


def _shape(nb) -> list:
    return [(c.cell_type, c.source, c.get("metadata", {}).get("tags", [])) for c in nb.cells]


def main(argv: list[str]) -> int:
    stale = []
    for path in notebooks():
        rel = path.relative_to(ROOT).as_posix()
        nb = nbformat.read(path, as_version=4)
        expected = with_header(copy.deepcopy(nb), rel)
        if _shape(expected) != _shape(nb):  # sources and tags only: other tools may format the JSON
            stale.append(rel)
            if "--check" not in argv:
                nbformat.write(expected, path)
                print("wrote", rel)
    if "--check" in argv and stale:
        print("out of date (run `make colab`):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
