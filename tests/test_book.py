"""The book site: built from the stored notebooks with warnings as errors, then read in a real browser.

The build is `make book`'s command into a temporary folder. The site is served on 127.0.0.1
(as GitHub Pages serves it) and a chapter page is opened in Debian's Chromium, driven by
Playwright: a figure must have loaded, MathJax must have typeset the formulas, and an audio
player must hold sound the browser can decode. The screenshot is kept in out/browser/book.png.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPHINX = Path(sys.executable).parent / "sphinx-build"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGE = "notebooks/02_teacher_forcing"  # a formula, figures, players
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def _need(missing: str | None, install: str):
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: the book test must run in CI. {install}")
        pytest.skip(f"{missing}. {install}")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    node = ROOT / "book" / "node_modules" / "mathjax"
    _need(None if SPHINX.exists() and node.exists() else "the book's tools are not installed", "Run `make book-setup`.")
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run([str(SPHINX), "-W", "--keep-going", "-q", "-b", "html", "-c", "book", "-d",
                             str(out / "doctrees"), ".", str(out / "html")], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"the book does not build cleanly:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return out / "html"


def test_the_site_has_every_page_search_and_downloads(site):
    assert (site / "index.html").exists() and (site / "README.html").exists()
    for stem in CHAPTERS:
        html = (site / "notebooks" / f"{stem}.html").read_text()
        assert "colab.research.google.com/github/" in html and f"/notebooks/{stem}.ipynb" in html, stem
        assert "mybinder.org/v2/gh/" in html, stem
        assert f"_sources/notebooks/{stem}.ipynb" in html, stem  # the download button
        assert (site / "_sources" / "notebooks" / f"{stem}.ipynb").exists()
        assert "install course_lib at this notebook" not in html, "the Colab install cell belongs to Colab only"
    assert (site / "docs" / "instructor.html").exists()
    assert (site / "search.html").exists() and "teacher" in (site / "searchindex.js").read_text().lower()
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    index = (site / "README.html").read_text()
    assert all(f"notebooks/{stem}.html" in index for stem in CHAPTERS), "the table of contents misses a chapter"


@pytest.fixture()
def served(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_chapter_page_shows_a_figure_a_formula_and_a_player(served):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    _need(None if sync_playwright else "playwright is not installed", "pip install -e '.[test]'")
    _need(None if CHROMIUM else "chromium is not installed", "sudo apt-get install chromium (make test does)")
    shots = ROOT / "out" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.set_default_timeout(60_000)
            errors = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(f"{served}/{PAGE}.html")

            figure = page.locator(".cell_output img").first
            figure.wait_for(state="visible")
            assert figure.evaluate("img => img.complete && img.naturalWidth > 100"), "a figure did not load"

            formula = page.locator("mjx-container").first  # MathJax typeset it (CHTML output)
            formula.wait_for(state="attached")
            assert page.locator("mjx-container").count() >= 2
            assert formula.evaluate("el => el.getBoundingClientRect().width > 5"), "an empty formula"
            assert "$$" not in page.locator("article").inner_text()[:2000], "raw TeX left on the page"

            player = page.locator(".cell_output audio").first
            player.wait_for(state="attached")
            assert page.locator('.cell_output audio source[type="audio/mpeg"]').count() >= 3
            seconds = player.evaluate("""a => new Promise((ok, no) => {
                if (a.readyState >= 1) return ok(a.duration);
                a.addEventListener('loadedmetadata', () => ok(a.duration));
                a.addEventListener('error', () => no('the browser cannot decode the player: ' + a.error.code));
                a.load();
            })""")
            assert 9.5 < seconds < 11.5, f"the first player lasts {seconds} s, not the cell's 10 s"

            figure.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "book.png"))
            assert not errors, f"errors on the page: {errors}"
        finally:
            browser.close()


def test_a_pages_workflow_publishes_what_make_book_builds():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert any("make book" in step.get("run", "") for step in steps)
    upload = next(s for s in steps if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "out/book/html"
    assert "BOOK_OUT ?= out/book/html" in (ROOT / "Makefile").read_text()
