"""course_lib.stats: intervals against hand computations, scipy, and their coverage on synthetic data."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from course_lib import stats
from course_lib.stats import Estimate


def test_wilson_matches_a_hand_computation():
    # 8 of 10, z = 1.959964: centre (0.8 + z²/20) / (1 + z²/10), half z/(1 + z²/10)·sqrt(0.016 + z²/400)
    z = 1.959963984540054
    denom = 1 + z * z / 10
    centre, half = (0.8 + z * z / 20) / denom, z / denom * math.sqrt(0.8 * 0.2 / 10 + z * z / 400)
    est = stats.wilson(8, 10)
    assert est.value == 0.8 and est.n == 10 and est.kind == "proportion"
    assert est.lo == pytest.approx(centre - half, abs=1e-12) and est.hi == pytest.approx(centre + half, abs=1e-12)
    assert (round(est.lo, 4), round(est.hi, 4)) == (0.4902, 0.9433)  # the textbook values for 8/10


def test_wilson_edges_stay_inside_zero_one():
    none, every = stats.wilson(0, 10), stats.wilson(10, 10)
    z2 = 1.959963984540054 ** 2
    assert none.lo == 0.0 and none.hi == pytest.approx(z2 / (10 + z2))
    assert every.hi == 1.0 and every.lo == pytest.approx(10 / (10 + z2))
    with pytest.raises(ValueError, match="successes"):
        stats.wilson(11, 10)


def test_bootstrap_mean_is_deterministic_and_brackets_the_mean():
    x = np.random.default_rng(1).normal(0.3, 1.0, 200)
    a, b = stats.bootstrap_mean(x), stats.bootstrap_mean(x)
    assert a == b and a.value == pytest.approx(x.mean())
    assert a.lo < a.value < a.hi
    # close to the normal-theory interval mean ± 1.96·s/sqrt(n)
    se = x.std(ddof=1) / math.sqrt(x.size)
    assert a.hi - a.lo == pytest.approx(2 * 1.96 * se, rel=0.1)
    assert stats.bootstrap_mean(x, seed=1) != a


def test_bootstrap_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = [(e.lo <= 1.0 <= e.hi) for e in
            (stats.bootstrap_mean(rng.exponential(1.0, 60), n_boot=2000, seed=i) for i in range(300))]
    assert 0.89 <= np.mean(hits) <= 0.98  # percentile intervals run a little narrow on skewed data


def test_grouped_bootstrap_covers_where_the_naive_one_does_not():
    # 30 pieces of 10 windows each; windows of a piece share the piece's offset, so they are not independent
    rng = np.random.default_rng(0)
    naive, grouped = [], []
    groups = np.repeat(np.arange(30), 10)
    for i in range(200):
        d = 0.05 + rng.normal(0, 0.1, 30)[groups] + rng.normal(0, 0.02, 300)
        naive.append(stats.paired_bootstrap(d, np.zeros(300), n_boot=1000, seed=i))
        grouped.append(stats.paired_bootstrap(d, np.zeros(300), groups=groups, n_boot=1000, seed=i))
    cover = lambda ests: np.mean([e.lo <= 0.05 <= e.hi for e in ests])  # noqa: E731
    assert cover(grouped) >= 0.88 and cover(naive) < 0.6
    assert grouped[0].groups == 30 and grouped[0].n == 300


def test_paired_bootstrap_reports_the_mean_difference():
    rng = np.random.default_rng(2)
    a = rng.normal(2.0, 0.5, 300)
    b = a - 0.01 + rng.normal(0, 0.01, 300)  # b lower by 0.01, tightly paired
    est = stats.paired_bootstrap(a, b, unit="nats")
    assert est.kind == "difference" and est.value == pytest.approx(np.mean(a - b))
    assert 0 < est.lo < 0.01 < est.hi and not est.includes_zero
    same = stats.paired_bootstrap(a, a)
    assert (same.value, same.lo, same.hi) == (0.0, 0.0, 0.0) and same.includes_zero


def test_unpaired_difference():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 300)
    est = stats.bootstrap_difference(a, b)
    assert est.value == pytest.approx(a.mean() - b.mean()) and est.n == 700
    assert est.lo < est.value < est.hi and est.lo > 0.5


def test_spearman_agrees_with_scipy_with_ties():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 8, 80).astype(float)  # many ties
    y = x + rng.normal(0, 3, 80)
    est = stats.spearman(x, y)
    assert est.value == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert est.lo < est.value < est.hi and est.kind == "correlation"
    assert stats.spearman(np.arange(10), np.arange(10) ** 3).value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="constant"):
        stats.spearman(np.ones(5), np.arange(5))


def test_bad_input_says_what_to_do():
    with pytest.raises(ValueError, match="NaN"):
        stats.bootstrap_mean([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        stats.bootstrap_mean([1.0])
    with pytest.raises(ValueError, match="equal lengths"):
        stats.paired_bootstrap([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="one group"):
        stats.bootstrap_mean([1.0, 2.0], groups=["a", "a"])


def test_format_estimate():
    est = Estimate(0.012, 0.004, 0.020, 300, kind="difference", unit="nats")
    assert stats.format_estimate(est) == "effect 0.012 nats [0.004, 0.020], n = 300"
    zero = Estimate(0.002, -0.004, 0.008, 300, kind="difference", unit="nats", groups=120)
    assert stats.format_estimate(zero, group_name="works") == (
        "effect 0.002 nats [-0.004, 0.008], n = 300 (120 works); no difference we can detect at this size")
    assert stats.format_estimate(stats.wilson(8, 10)) == "rate 80.0 % [49.0 %, 94.3 %], n = 10"
    assert str(Estimate(0.4, -0.1, 0.7, 30, kind="correlation")).endswith("no correlation we can detect at this size")


@pytest.mark.parametrize("lo, hi, expect, than, margin, want", [
    (0.1, 0.3, "greater", 0.0, None, "holds"),
    (-0.3, -0.1, "greater", 0.0, None, "does-not-hold"),
    (-0.1, 0.3, "greater", 0.0, None, "cannot-tell"),
    (0.55, 0.7, "greater", 0.5, None, "holds"),   # a rate above chance = 0.5
    (-0.3, -0.1, "less", 0.0, None, "holds"),
    (-0.02, 0.03, "equal", 0.0, 0.05, "holds"),
    (0.06, 0.2, "equal", 0.0, 0.05, "does-not-hold"),
    (-0.02, 0.08, "equal", 0.0, 0.05, "cannot-tell"),
])
def test_verdict(lo, hi, expect, than, margin, want):
    assert stats.verdict(Estimate((lo + hi) / 2, lo, hi, 50), expect, than=than, margin=margin) == want


def test_verdict_refuses_an_equal_claim_without_margin():
    with pytest.raises(ValueError, match="margin"):
        stats.verdict(Estimate(0, -1, 1, 5), "equal")


def test_claim_prints_the_tagged_line(capsys):
    est = Estimate(0.121, 0.053, 0.187, 384, kind="difference", unit="nats", groups=185)
    assert stats.claim("huang-mt-beats-transformer", est, "greater", model="music-transformer-cpu") == "holds"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("huang-mt-beats-transformer: effect 0.121 nats [0.053, 0.187], n = 384")
    assert lines[1] == ("CLAIM huang-mt-beats-transformer: effect=0.121 lo=0.053 hi=0.187 n=384 verdict=holds "
                        "kind=difference unit=nats groups=185 model=music-transformer-cpu")
    with pytest.raises(ValueError, match="one word"):
        stats.claim("two words", est, "greater")
