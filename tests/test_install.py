"""The course installed the way Colab or a JupyterHub image installs it: a wheel, outside the repository.

The notebooks' own install cell (tools/colab.py) installs it, told by ``COURSE_LIB_INSTALL`` to
take the wheel instead of the tagged repository: the logic Colab runs, short of the download.

The wheel is built from a copy of the package (as `pip install .` or `pip install git+…` builds
it) and installed with its dependencies into a fresh virtual environment. So that no test
downloads PyTorch again, the dependencies come from this interpreter's site-packages, linked
into a folder the fresh environment reads (the course's own editable install left out); pip
resolves them as installed and is not allowed to reach an index. Then, from a folder with
nothing of the repository in it, every registry entry is loaded (hash-checked) and a chapter
runs end to end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "01_event_encoding.ipynb"  # reads the shipped corpus, writes MIDI, plays audio


def _ignore(folder, names):
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


def _run(cmd, *, cwd, env=None, timeout=600):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def build_wheel(tmp: Path) -> Path:
    """The wheel `pip install .` builds, from a copy of what it reads (nothing else of the repository)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "course_lib", src / "course_lib", ignore=_ignore)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
          str(src)], cwd=tmp)
    (wheel,) = (tmp / "dist").glob("course_lib-*.whl")
    return wheel


def fresh_venv(tmp: Path) -> Path:
    """A new virtual environment without course_lib whose site can see this interpreter's dependencies.

    Returns:
        Its python.
    """
    venv = tmp / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    deps = tmp / "deps"
    deps.mkdir()
    for folder in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        for entry in Path(folder).iterdir():
            name = entry.name
            if name.startswith(("course_lib", "__editable__", "_course_lib")) or name.endswith(".pth") or \
                    name == "__pycache__" or (deps / name).exists():
                continue
            (deps / name).symlink_to(entry)
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).strip()
    # A plain path line (not `import site`): the linked folder's own .pth files are not run.
    Path(site, "zz_course_dependencies.pth").write_text(f"{deps}\n")
    return python


def clean_env(**extra) -> dict:
    """This process's environment without anything that would point Python or Jupyter back at the repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", JUPYTER_PREFER_ENV_PATH="1", **extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """(python of a fresh venv with the wheel installed, an empty folder outside the repository, its environment).

    The corpus cache folder is a new empty one, so the corpus can only come from the wheel.
    """
    tmp = tmp_path_factory.mktemp("install")
    python = fresh_venv(tmp)
    empty = tmp / "empty"
    empty.mkdir()
    env = clean_env(COURSE_LIB_CACHE=str(tmp / "user-cache"))
    probe = "import importlib.util; print(importlib.util.find_spec('course_lib') is None)"
    assert _run([str(python), "-c", probe], cwd=empty, env=env).strip() == "True", "the fresh venv sees course_lib"
    # What Colab does: the notebook's install cell, with the wheel in place of the tagged repository.
    cell = install_cell(ROOT / "notebooks" / CHAPTER) + "\nimport course_lib; print(course_lib.__file__)"
    out = _run([str(python), "-c", cell], cwd=empty, env={**env, "COURSE_LIB_INSTALL": str(wheel)})
    assert out.strip().startswith(str(python.parent.parent)), out  # installed into the fresh venv
    # One small collection first (seconds to parse): if the wheel's corpus cache cannot be used,
    # say so now rather than after parsing the whole corpus with music21 (minutes).
    _run([str(python), "-c", "from course_lib.corpus import load_works; load_works(collections=['schubert'], "
          "progress=False)"], cwd=empty, env=env)
    parsed = list((tmp / "user-cache").rglob("*.npz"))
    assert not parsed, f"the wheel's corpus cache was not used, scores were parsed again: {parsed} (stale? make cache)"
    return python, empty, env


def install_cell(notebook: Path) -> str:
    """The source of a notebook's install cell (tools/colab.py writes it)."""
    nb = json.loads(notebook.read_text())
    (cell,) = [c for c in nb["cells"] if "course-install" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


def test_the_wheel_carries_every_data_file(wheel):
    data = ROOT / "course_lib" / "data"
    shipped = {p.relative_to(ROOT).as_posix() for p in data.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert {"course_lib/data/checkpoints/registry.json", "course_lib/data/composers.csv"} <= shipped
    assert any(n.endswith(".pt") for n in shipped) and any(n.endswith(".npz") for n in shipped)
    assert shipped - names == set(), f"data files missing from the wheel (pyproject package-data): {shipped - names}"


def test_installed_wheel_loads_every_registry_entry_outside_the_repository(installed):
    python, empty, env = installed
    script = textwrap.dedent("""
        import json
        import course_lib
        from course_lib.pretrained import load_pretrained, registry
        from course_lib.corpus import load_works
        loaded = {}
        for name in registry():
            model = load_pretrained(name)
            loaded[name] = sum(p.numel() for p in model.parameters())
        print(json.dumps({"file": course_lib.__file__, "loaded": loaded, "works": len(load_works(progress=False))}))
    """)
    out = json.loads(_run([str(python), "-c", script], cwd=empty, env=env, timeout=900).strip().splitlines()[-1])
    parsed = list(Path(env["COURSE_LIB_CACHE"]).rglob("*.npz"))
    assert not parsed, f"the wheel's corpus cache was not used, scores were parsed again: {parsed} (stale? make cache)"
    assert "site-packages" in out["file"] and not out["file"].startswith(str(ROOT)), out["file"]
    registry = json.loads((ROOT / "course_lib/data/checkpoints/registry.json").read_text())
    assert set(out["loaded"]) == set(registry) and all(n > 0 for n in out["loaded"].values())
    assert out["works"] > 10_000  # the shipped corpus cache, not a rebuild from music21


def test_installed_wheel_runs_a_chapter_end_to_end(installed):
    python, empty, env = installed
    shutil.copy(ROOT / "notebooks" / CHAPTER, empty / CHAPTER)
    script = textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({CHAPTER!r}, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(
            "import course_lib, sys; print(course_lib.__file__); print(sys.executable)"))
        NotebookClient(nb, timeout=600, kernel_name="python3").execute()
        print(nb.cells[-1].outputs[0]["text"])
    """)
    out = _run([str(python), "-c", script], cwd=empty, env=env, timeout=900).strip().splitlines()
    module, executable = out[-2:]
    assert "site-packages" in module and not module.startswith(str(ROOT)), module
    assert Path(executable).parent == python.parent, executable  # the chapter's kernel ran in the fresh venv
    assert (empty / "out" / "bwv66.6-decoded.mid").exists()
