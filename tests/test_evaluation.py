"""course_lib.evaluation: the shipped held-out set is what its rule builds, and one model gets one number."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import evaluation
from course_lib.corpus import split_of
from course_lib.evaluation import EVAL_SET, EvalSetError, compare_nll, eval_set, eval_windows, eval_works, heldout_nll
from course_lib.rag import TUNE_TYPES


@pytest.fixture(scope="module")
def works():
    from course_lib.corpus import load_works

    return load_works(progress=False)


@pytest.fixture(scope="module")
def prnn_scores(works):
    from course_lib.pretrained import load_pretrained

    model = load_pretrained("prnn-cpu")
    return model, heldout_nll(model, works=works)


def test_the_shipped_set_follows_its_rule():
    data = eval_set()
    windows = eval_windows()
    assert data["name"] == EVAL_SET and data["length"] == 128 and len(windows) == data["size"] == 384
    assert len(set(windows)) == len(windows)
    assert all(split_of(work) == "test" for work, _ in windows)
    periods = [w["period"] for w in data["windows"]]
    assert {p: periods.count(p) for p in set(periods)} == {p: 64 for p in set(periods)}
    by_period = eval_works("period")
    assert all(split_of(w) == "test" for ids in by_period.values() for w in ids)
    assert all(w["work"] in by_period[w["period"]] for w in data["windows"])
    assert set(eval_works("tune_type")) <= set(TUNE_TYPES)
    with pytest.raises(ValueError, match="by must be"):
        eval_works("composer")
    with pytest.raises(EvalSetError, match="heldout-v1"):
        eval_set("heldout-v0")


def test_quotas_and_spread():
    assert evaluation._period_quotas({"a": 10, "b": 100, "c": 100}, 90) == {"a": 10, "b": 40, "c": 40}
    assert evaluation._period_quotas({"a": 50, "b": 50}, 60) == {"a": 30, "b": 30}
    chosen = evaluation._spread({"x": [0, 130, 260], "y": [0], "z": [5, 140]}, 5)
    assert len(chosen) == len(set(chosen)) == 5
    assert {w for w, _ in chosen[:3]} == {"x", "y", "z"}  # one window per work before any second


@pytest.mark.slow
def test_rebuilding_gives_the_shipped_file(works, tmp_path):
    data = evaluation.build_eval_set(works)
    written = evaluation.write_eval_set(data, tmp_path)
    assert written.read_bytes() == (evaluation.EVAL_DIR / f"{EVAL_SET}.json").read_bytes(), (
        "the corpus no longer gives heldout-v1: restore the corpus cache, or build a new version "
        "(python tools/build_eval_set.py --name heldout-v2) and move the chapters to it")


@pytest.mark.slow
def test_heldout_nll_is_the_mean_cross_entropy_of_each_window(works, prnn_scores):
    model, scores = prnn_scores
    assert scores.n == 384 and scores.per == "window" and scores.keys == tuple(eval_windows())
    assert np.all(np.isfinite(scores.values)) and 0.5 < scores.mean < np.log(388)
    # two windows by hand: the events of the stored window, the model's logits, cross-entropy
    items = evaluation._items(EVAL_SET, None, works)
    for i in (0, 383):
        events = items[i]["events"][None]
        with torch.no_grad():
            logits = model(events[:, :-1]).float()
        nll = F.cross_entropy(logits[0], events[0, 1:]).item()
        assert scores.values[i] == pytest.approx(nll, abs=1e-4)
    assert heldout_nll(model, works=works).values.tolist() == scores.values.tolist()


@pytest.mark.slow
def test_per_work_and_per_period(prnn_scores):
    _, scores = prnn_scores
    per_work = scores.per_work()
    assert per_work.per == "work" and per_work.n == len(set(scores.works.tolist()))
    first = per_work.keys[0]
    assert per_work.values[0] == pytest.approx(scores.values[scores.works == first].mean())
    rows = scores.by_period()
    assert sum(r.n for r in rows.values()) == scores.n and all(r.n == 64 for r in rows.values())


@pytest.mark.slow
def test_compare_nll_pairs_by_window_and_resamples_works(prnn_scores):
    _, scores = prnn_scores
    shifted = evaluation.Scores(scores.name, scores.per, scores.keys, scores.values - 0.01, scores.works,
                                scores.periods)
    est = compare_nll(scores, shifted)
    assert est.value == pytest.approx(0.01) and est.lo == pytest.approx(0.01) and est.groups > 100
    with pytest.raises(ValueError, match="different windows"):
        compare_nll(scores, scores.per_work())


def test_a_changed_window_is_refused(monkeypatch):
    # a two-window set whose second digest is wrong, as if the corpus or encoding had changed
    data = copy.deepcopy(eval_set())
    data["windows"] = data["windows"][:2]
    data["windows"][1]["digest"] = "0" * 16
    monkeypatch.setattr(evaluation, "eval_set", lambda name=EVAL_SET: data)
    monkeypatch.setattr(evaluation, "_ITEMS", {})
    from course_lib.corpus import load_works

    first = data["windows"][0]["work"].split("/")[0]
    works = load_works(collections=[first], progress=False)
    with pytest.raises(EvalSetError, match="differ from the shipped set"):
        evaluation._items(EVAL_SET, None, works)
