"""The studio's judges: chapter 4's period and form classifiers, shipped as small files, equal to a fresh fit."""

import json
from pathlib import Path

import numpy as np
import pytest

from course_lib import style, tempo_form
from course_lib.performance import Performance
from tool_loader import load_tool



def _piece(seed: int, seconds: float = 10.0) -> Performance:
    rng = np.random.default_rng(seed)
    start = np.sort(rng.uniform(0, seconds, 40))
    return Performance(rng.integers(48, 84, 40), rng.integers(40, 100, 40), start, start + rng.uniform(0.1, 1.0, 40))


def test_the_shipped_judge_loads_once_and_judges():
    judge, held_out = style.load_period_judge()
    assert style.load_period_judge()[0] is judge   # cached: the studio pays for it once
    assert "Modern" not in judge.labels and "Baroque" in judge.labels
    assert sorted(held_out) == list(style.JUDGE_SECONDS)
    for report in held_out.values():
        assert 0.5 < report["balanced_accuracy"] <= report["accuracy"] < 1 and report["excerpts"] > 1000
    probabilities = judge.predict_proba([_piece(0), _piece(1)])
    assert probabilities.shape == (2, len(judge.labels)) and np.allclose(probabilities.sum(1), 1)


def test_a_judge_round_trips_through_its_dict():
    judge, _ = style.load_period_judge()
    again = style.PeriodClassifier.from_dict(json.loads(json.dumps(judge.to_dict())))
    pieces = [_piece(s) for s in range(5)]
    assert np.allclose(again.predict_proba(pieces), judge.predict_proba(pieces))
    other = {**judge.to_dict(), "feature_names": ["a", "b"]}
    with pytest.raises(ValueError, match="rebuild it"):
        style.PeriodClassifier.from_dict(other)
    with pytest.raises(RuntimeError, match="not fitted"):
        style.PeriodClassifier(("a", "b")).to_dict()


def test_the_shipped_form_judge_loads_once_and_judges():
    judge, held_out = tempo_form.load_form_judge()
    assert tempo_form.load_form_judge()[0] is judge
    assert {"jig", "reel", "chorale"} <= set(judge.labels) and sorted(held_out) == list(style.JUDGE_SECONDS)
    chance = 1 / len(judge.labels)
    for report in held_out.values():
        assert 2 * chance < report["balanced_accuracy"] < 1 and report["excerpts"] > 1000
    assert judge.predict_proba([_piece(0)]).shape == (1, len(judge.labels))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["period", "form"])
def test_each_shipped_judge_is_chapter_4s_judge_fitted_again(name, shipped_works):
    """Rebuilding gives the shipped file's judgements (LBFGS may differ in the last digits across
    machines, so the judgements and the accuracies are compared, not the bytes)."""
    module = load_tool("build_judges", "build_judges")
    filename, _ = module.JUDGES[name]
    kind = {"period": style.PeriodClassifier, "form": tempo_form.FormClassifier}[name]
    fresh = module.build(name, shipped_works)
    shipped = json.loads((Path(style.__file__).parent / "data" / filename).read_text())
    assert fresh["judge"]["labels"] == shipped["judge"]["labels"]
    for seconds, report in shipped["held_out"].items():
        assert fresh["held_out"][seconds]["excerpts"] == report["excerpts"]
        assert fresh["held_out"][seconds]["accuracy"] == pytest.approx(report["accuracy"], abs=0.005)
    pieces = [_piece(s) for s in range(20)]
    a = kind.from_dict(fresh["judge"]).predict_proba(pieces)
    b = kind.from_dict(shipped["judge"]).predict_proba(pieces)
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.95 and np.abs(a - b).max() < 0.05


@pytest.fixture(scope="module")
def shipped_works(tmp_path_factory):
    from course_lib import corpus

    return corpus.load_works(progress=False, cache_dir=tmp_path_factory.mktemp("cache"))
