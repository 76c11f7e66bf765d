"""Sphinx settings of the course's book site (`make book`).

The site is built from the notebooks as they are stored, with their outputs (nothing is run):
the README is the front page, then the chapters and the instructor's guide (_toc.yml). The
source folder is the repository root, so each page's launch buttons (Binder, Colab) and its
download link point at the same path in the repository. Math and the studio's widget
snapshot use local copies of MathJax 3 and the widget script (npm, book/package.json), so
the site builds and works with no internet.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
NODE = BOOK / "node_modules"
STATIC = ROOT / "out" / "book-static"  # staged here, copied by Sphinx into the site's _static/
EXTRA = ROOT / "out" / "book-extra"  # staged here, copied by Sphinx into the site's root

_project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REPOSITORY = _project["urls"]["Repository"].rstrip("/")
version = release = re.search(r'^__version__ = "([^"]+)"', (ROOT / "course_lib" / "__init__.py").read_text(),
                              re.MULTILINE).group(1)

project = "Conditioned music generation, hands-on"
author = "the course's authors"
copyright = f"{author}; MIT licence"

extensions = ["myst_nb", "sphinx_external_toc"]
external_toc_path = "book/_toc.yml"  # relative to the source folder (the repository root)
external_toc_exclude_missing = True
include_patterns = ["README.md", "notebooks/*.ipynb", "docs/instructor.md", "docs/claims.md"]
exclude_patterns = [".venv", ".git", "out", "build", "book", "**/.ipynb_checkpoints", "node_modules"]

# The stored outputs are the book: never execute.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = [str(STATIC)]
html_extra_path = [str(EXTRA)]
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": f"v{version}",  # what the notebooks' install cell installs
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
}

# Local scripts (staged below): MathJax 3 with its fonts, RequireJS and the widget manager.
mathjax_path = "mathjax/tex-mml-chtml.js"
nb_ipywidgets_js = {
    "require.js": {},
    # No crossorigin attribute: it stops the script loading from file://.
    "embed-amd.js": {"data-jupyter-widgets-cdn": "https://cdn.jsdelivr.net/npm/"},
}


def _stage_scripts() -> None:
    sources = {
        "mathjax": NODE / "mathjax" / "es5",
        "require.js": NODE / "requirejs" / "require.js",
        "embed-amd.js": NODE / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js",
    }
    missing = [str(p) for p in sources.values() if not p.exists()]
    if missing:
        raise RuntimeError(f"missing {missing}: run `make book` (it runs `npm ci --prefix book` first)")
    for folder in (STATIC, EXTRA):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for name, source in sources.items():
        if source.is_dir():
            shutil.copytree(source, STATIC / name, ignore=shutil.ignore_patterns("sre", "*.map"))
        else:
            shutil.copy(source, STATIC / name)
    # The widget script asks for its icon fonts beside the page, under the package's own path
    # (the studio's page is in notebooks/): put them there.
    dist = sources["embed-amd.js"].parent
    fonts = [f for f in dist.iterdir() if f.suffix in (".woff", ".woff2", ".ttf", ".eot", ".svg")]
    for folder in ("notebooks/@jupyter-widgets/html-manager/dist", "notebooks/@jupyter-widgets"):
        (EXTRA / folder).mkdir(parents=True, exist_ok=True)
        for font in fonts:
            shutil.copy(font, EXTRA / folder / font.name)


_stage_scripts()
