"""The studio in a real browser: JupyterLab started here, Debian's Chromium driven by Playwright.

Opens notebooks/00_studio.ipynb (a copy, so JupyterLab's autosave cannot touch the
repository's), runs all cells, asks for a control, clicks Generate, and waits for the
audio player and the piano roll; the piano roll must not be blank. The screenshot is
kept in out/browser/studio.png.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL = ("Debian's Chromium and Playwright's Python package are needed: `sudo apt-get install chromium` "
           "and `pip install -e '.[test]'` (make test installs both when it may)")


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None if CHROMIUM else "chromium is not installed"


@pytest.fixture(scope="module")
def browser_ready():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: the browser test must run in CI. {INSTALL}")
        pytest.skip(f"{missing}. {INSTALL}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def jupyterlab(tmp_path, browser_ready):
    """A JupyterLab of its own on 127.0.0.1 (free port, token, empty config and workspace), stopped after."""
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "00_studio.ipynb", root)
    port, token = _free_port(), "course-lib-browser-test"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"] + (["--allow-root"] if os.geteuid() == 0 else []),
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"JupyterLab exited: {(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not answer within 60 s")
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _ink(png: bytes) -> float:
    """Share of pixels that are not (near) white: a blank piano roll has almost none."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png))[..., :3]
    return float((pixels.min(axis=-1) < 0.9).mean())


def test_studio_generates_in_a_real_browser(jupyterlab):
    from playwright.sync_api import sync_playwright

    url, token = jupyterlab
    shots = ROOT / "out" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/lab/tree/00_studio.ipynb?reset&token={token}")
            # The notebook's own idle mark turns idle too early; the status bar is reliable.
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()

            generate = page.locator("button.studio-generate")
            generate.wait_for(state="visible")
            page.locator(".studio-given-density input").check()       # ask for a density: 2 notes/s…
            density = page.locator(".studio-control-density")
            density.wait_for()
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()  # the scripted cells have finished
            generate.click()

            roll = page.locator("img.studio-piano-roll")
            roll.wait_for(state="visible")
            page.locator("audio.studio-audio").wait_for(state="attached")
            page.locator("a.studio-download").wait_for()
            table = page.locator("table.studio-measured").inner_text()
            assert "density" in table and "4 notes/s" in table, table   # the slider's first value, given
            roll.scroll_into_view_if_needed()
            picture = roll.screenshot()
            page.screenshot(path=str(shots / "studio.png"))
            (shots / "piano_roll.png").write_bytes(picture)
            assert _ink(picture) > 0.01, "the piano roll came out blank"
            assert not page.locator(".studio-message").inner_text().strip(), "the studio reported an error"
        finally:
            browser.close()


def test_ink_tells_a_blank_picture_from_a_drawn_one():
    from matplotlib.figure import Figure

    def png(draw: bool) -> bytes:
        fig = Figure(figsize=(3, 2))
        ax = fig.add_subplot()
        ax.axis("off")
        if draw:
            ax.barh(np.arange(20), np.arange(20))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    assert _ink(png(False)) < 0.001 < 0.01 < _ink(png(True))
