"""tools/claims_ledger.py: docs/claims.md says what the notebooks' stored outputs say, and bad tags fail loudly."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from course_lib import stats
from course_lib.stats import Estimate

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("claims_ledger", ROOT / "tools" / "claims_ledger.py")
ledger = importlib.util.module_from_spec(_spec)
sys.modules["claims_ledger"] = ledger  # dataclasses look their module up while the file runs
_spec.loader.exec_module(ledger)


def test_the_ledger_agrees_with_the_notebooks():
    assert ledger.LEDGER.read_text(encoding="utf-8") == ledger.current_ledger(), (
        "docs/claims.md differs from the notebooks' stored outputs: run python tools/claims_ledger.py "
        "and commit docs/claims.md with the notebooks")


def test_every_claim_names_a_chapter_and_a_paper():
    papers, claims = ledger.load_claims()
    assert len(claims) >= 15
    assert {c["paper"] for c in claims} == set(papers)
    for c in claims:
        assert (ROOT / "notebooks" / f"{c['chapter']}.ipynb").exists(), c["id"]


def _notebook(tmp_path, name, *texts):
    """A stored notebook whose code cells printed ``texts`` (one cell each), after a markdown cell."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# a chapter"}]
    cells += [{"cell_type": "code", "metadata": {}, "source": "", "execution_count": i, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": text.splitlines(keepends=True)}]}
        for i, text in enumerate(texts, 1)]
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_a_claim_printed_by_the_library_reaches_the_ledger(tmp_path, capsys):
    est = Estimate(0.121, 0.053, 0.187, 384, kind="difference", unit="nats", groups=185)
    stats.claim("huang-mt-beats-transformer", est, "greater", model="music-transformer-cpu")
    rate = stats.wilson(30, 40)
    stats.claim("huang-skew-memory", rate, "greater", than=0.5)
    printed = capsys.readouterr().out
    path = _notebook(tmp_path, "07_music_transformer", "a table\n" + printed)
    found = ledger.read_tags([path])
    assert [(m.claim, m.verdict, m.cell) for m in found] == [
        ("huang-mt-beats-transformer", "holds", 1), ("huang-skew-memory", "holds", 1)]
    assert found[0].estimate == Estimate(0.121, 0.053, 0.187, 384, kind="difference", unit="nats", groups=185)
    papers, claims = ledger.load_claims()
    text = ledger.build_ledger(papers, claims, found)
    row = next(line for line in text.splitlines() if line.startswith("| `huang-mt-beats-transformer`"))
    assert "effect 0.121 nats [0.053, 0.187], n = 384 (185 groups); model music-transformer-cpu" in row
    assert "**holds**" in row and "07_music_transformer.ipynb, cell 1" in row
    assert "rate 75.0 %" in text and f"2 holds, 0 does not hold, 0 cannot tell at this size, " \
                                      f"{len(claims) - 2} not yet measured" in text


@pytest.mark.parametrize("line, message", [
    ("CLAIM huang-skew-memory effect=1 lo=0 hi=2 n=3 verdict=holds", "malformed"),
    ("CLAIM huang-skew-memory: effect=1 lo=0 hi=2 n=3", "missing"),
    ("CLAIM huang-skew-memory: effect=1 lo=0 hi=2 n=3 verdict=wins", "verdict"),
    ("CLAIM huang-skew-memory: effect=1 lo=0 hi=2 n=3 verdict=holds colour=red", "bad or repeated field"),
    ("CLAIM huang-skew-memory: effect=big lo=0 hi=2 n=3 verdict=holds", "not a number"),
    ("CLAIM huang-skew-memory: effect=1 lo=3 hi=2 n=3 verdict=holds", "above"),
])
def test_a_malformed_tag_fails_naming_its_cell(tmp_path, line, message):
    path = _notebook(tmp_path, "07_music_transformer", "fine\n", line + "\n")
    with pytest.raises(ledger.LedgerError, match=message) as err:
        ledger.read_tags([path])
    assert "07_music_transformer.ipynb cell 2" in str(err.value)


@pytest.mark.parametrize("chapter, lines, message", [
    ("07_music_transformer", ["CLAIM no-such-claim: effect=1 lo=0 hi=2 n=3 verdict=holds"], "not in docs/claims.toml"),
    ("07_music_transformer", ["CLAIM huang-skew-memory: effect=1 lo=0 hi=2 n=3 verdict=holds"] * 2, "measured again"),
    ("05_beam_vs_stochastic_search", ["CLAIM huang-skew-memory: effect=1 lo=0 hi=2 n=3 verdict=holds"],
     "belongs to chapter 07_music_transformer"),
])
def test_unknown_repeated_or_misplaced_claims_fail(tmp_path, chapter, lines, message):
    path = _notebook(tmp_path, chapter, *[line + "\n" for line in lines])
    papers, claims = ledger.load_claims()
    with pytest.raises(ledger.LedgerError, match=message):
        ledger.build_ledger(papers, claims, ledger.read_tags([path]))
