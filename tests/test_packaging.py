"""The course's set-up files agree with each other and with what is installed."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import course_lib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(lines):
    return {canonicalize_name(r.name): r.specifier for r in map(Requirement, lines)}


def _environment_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return _pins(line for line in pip if not line.startswith("-"))


def test_binder_environment_pins_the_same_versions_as_pyproject():
    project = _pins(PYPROJECT["project"]["dependencies"])
    binder = _environment_pins()
    assert set(binder) == set(project)
    for name, spec in project.items():
        if name == "torch":  # Binder names the CPU build explicitly: 2.13.0+cpu
            (pinned,) = binder[name]
            assert spec.contains(Version(pinned.version)), (name, spec, pinned)
        else:
            assert binder[name] == spec, f"{name}: pyproject {spec}, environment.yml {binder[name]}"


def test_installed_packages_satisfy_the_pins():
    for line in PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"]:
        req = Requirement(line)
        installed = Version(importlib.metadata.version(req.name))
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} not in {req.specifier}"


def test_installed_torch_is_a_cpu_build_here():
    import torch

    if not torch.cuda.is_available():
        assert torch.version.cuda is None, "a CUDA build of torch was installed on a machine without a GPU"


def test_version_is_exposed_and_matches_the_installed_package():
    assert re.fullmatch(r"\d+\.\d+\.\d+", course_lib.__version__)
    assert importlib.metadata.version("course-lib") == course_lib.__version__


def test_binder_post_build_installs_the_package_and_checks_the_corpus():
    post = (ROOT / "postBuild").read_text()
    assert "set -e" in post
    assert "pip install --no-deps -e ." in post
    assert "course-lib corpus" in post  # loads the shipped cache, fails the build if it cannot
    assert "OMP_NUM_THREADS=1" in (ROOT / "start").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci


def test_jupyterlab_runs_widget_callbacks_on_the_main_kernel_thread():
    """JupyterLab 4.6 + ipykernel 7 otherwise run widget callbacks on a subshell thread, where
    matplotlib figures came out blank (../shared/MEASURED.md); setup and Binder install the setting."""
    import json
    import sys

    shipped = json.loads((ROOT / "lab" / "overrides.json").read_text())
    assert shipped["@jupyterlab/apputils-extension:kernels-settings"]["commsOverSubshells"] == "disabled"
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert installed.exists(), f"{installed} is missing: run `python tools/install_lab_settings.py` (make setup does)"
    settings = json.loads(installed.read_text())
    for plugin, values in shipped.items():
        assert settings.get(plugin, {}).items() >= values.items(), (plugin, settings.get(plugin))
    assert "python tools/install_lab_settings.py" in (ROOT / "postBuild").read_text()
