"""How sure is a number? Intervals for every comparison a chapter draws.

The models of this course are small and the effects between them small, so a sentence
such as "conditioning lowers the loss" is only as strong as its interval. Every chapter
prints its comparisons with these helpers, the same way:

    >>> d = paired_bootstrap(nll_plain, nll_cond, groups=work_ids, unit="nats")
    >>> print(format_estimate(d))
    effect 0.012 nats [0.004, 0.020], n = 384 (251 groups)

The methods, each a few lines of numpy:

* **Bootstrap of a mean** (Efron 1979). Draw the n observations again with replacement,
  B times; the 2.5th and 97.5th percentiles of the B means are the 95 % interval (the
  *percentile* interval). With ``groups`` (e.g. the work each window comes from) whole
  groups are drawn instead (a *cluster* bootstrap), since windows of one piece are not
  independent: the mean of a replicate is ``sum(s_g) / sum(c_g)`` over the drawn groups,
  with ``s_g`` the sum and ``c_g`` the number of a group's observations.
* **Paired bootstrap** of a difference: the pairs (a_i, b_i) share their piece, window or
  primer, so resample the differences d_i = a_i - b_i; the effect is mean(d).
* **Wilson interval** of a proportion k/n (Wilson 1927): with z the normal quantile
  (1.96 for 95 %) and p = k/n,
  ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)``.
  Unlike p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and is not zero-width at k = 0.
* **Spearman's ρ**: Pearson's correlation of the ranks (ties get their average rank), with
  a bootstrap interval over the pairs.

Every function is seeded (``seed=0``) and gives the same numbers on every run.
:func:`claim` prints the line ``tools/claims_ledger.py`` reads into ``docs/claims.md``.

Notebook: every chapter (02–07) that compares two models, strategies or conditions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["Estimate", "bootstrap_mean", "paired_bootstrap", "bootstrap_difference", "wilson", "spearman",
           "format_estimate", "verdict", "claim", "VERDICTS", "NO_DIFFERENCE"]

NO_DIFFERENCE = "no difference we can detect at this size"
# verdict token (as the claim line prints it) → the words the ledger shows
VERDICTS = {"holds": "holds", "does-not-hold": "does not hold", "cannot-tell": "cannot tell at this size"}
_CHUNK = 1000  # bootstrap replicates drawn at once (bounds memory: _CHUNK x groups indices)


@dataclass(frozen=True)
class Estimate:
    """A number with its interval.

    Attributes:
        value: the estimate (a mean, a difference of means, a proportion, ρ).
        lo, hi: the interval's ends.
        n: the observations (windows, pieces, trials, pairs).
        kind: ``"mean"``, ``"difference"``, ``"proportion"`` or ``"correlation"``.
        level: the interval's coverage (0.95).
        unit: what the value is measured in (``"nats"``, ``"notes/s"``), for printing.
        groups: the number of groups resampled (a cluster bootstrap), else None.
        method: how the interval was made (``"percentile bootstrap"``, ``"Wilson"``).
    """

    value: float
    lo: float
    hi: float
    n: int
    kind: str = "mean"
    level: float = 0.95
    unit: str = ""
    groups: int | None = None
    method: str = ""

    @property
    def includes_zero(self) -> bool:
        """Whether the interval holds 0 (for a difference: no difference detected)."""
        return self.lo <= 0.0 <= self.hi

    def __str__(self) -> str:
        return format_estimate(self)


def _values(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 2:
        raise ValueError(f"{name}: need at least 2 observations for an interval, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: {int((~np.isfinite(x)).sum())} value(s) are NaN or infinite; "
                         "leave those observations out (on both sides of a pair) first")
    return x


def _group_sums(x: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
    """Per-group sums and counts of ``x`` (each observation its own group when None)."""
    if groups is None:
        return x, np.ones_like(x)
    groups = np.asarray(groups)
    if groups.shape != x.shape:
        raise ValueError(f"one group label per observation: {x.size} observations, {groups.size} labels")
    _, which = np.unique(groups, return_inverse=True)
    return np.bincount(which, weights=x), np.bincount(which).astype(np.float64)


def _replicate_means(sums: np.ndarray, counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """B bootstrap means: each replicate draws len(sums) groups with replacement."""
    g = len(sums)
    out = np.empty(n_boot)
    for start in range(0, n_boot, _CHUNK):
        pick = rng.integers(0, g, size=(min(_CHUNK, n_boot - start), g))
        out[start:start + len(pick)] = sums[pick].sum(1) / counts[pick].sum(1)
    return out


def _percentiles(replicates: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(replicates, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_mean(x, *, groups=None, n_boot: int = 10_000, level: float = 0.95, seed: int = 0,
                   unit: str = "", kind: str = "mean") -> Estimate:
    """The mean of ``x`` with a percentile-bootstrap interval.

    Args:
        x: the observations (e.g. per-window NLLs, 0/1 outcomes).
        groups: a label per observation (e.g. its work id): resample whole groups, for
            observations that are not independent. The estimate is still the mean of ``x``.
        n_boot: bootstrap replicates B.
        level: the interval's coverage.
        seed: seeds the resampling.
        unit: printed after the value.
        kind: stored in the :class:`Estimate` (``"difference"`` when ``x`` holds differences).

    Returns:
        An :class:`Estimate` (``groups`` set to the number of groups when grouped).

    Notebook: notebooks/02_teacher_forcing.ipynb, notebooks/05_beam_vs_stochastic_search.ipynb
    """
    x = _values(x, "bootstrap_mean")
    sums, counts = _group_sums(x, groups)
    if len(sums) < 2:
        raise ValueError("bootstrap_mean: every observation is in one group; a cluster bootstrap needs two or more")
    lo, hi = _percentiles(_replicate_means(sums, counts, n_boot, np.random.default_rng(seed)), level)
    return Estimate(float(x.mean()), lo, hi, int(x.size), kind=kind, level=level, unit=unit,
                    groups=None if groups is None else len(sums), method="percentile bootstrap")


def paired_bootstrap(a, b, *, groups=None, n_boot: int = 10_000, level: float = 0.95, seed: int = 0,
                     unit: str = "") -> Estimate:
    """The mean difference ``mean(a - b)`` of paired observations, with a bootstrap interval.

    ``a[i]`` and ``b[i]`` must be measured on the same unit (the same window, piece, primer
    or request), which removes the units' own variation from the comparison.

    Args:
        a, b: paired observations, e.g. per-window NLL of two models on the eval set.
        groups: a label per pair (e.g. the work): resample whole groups.
        n_boot, level, seed, unit: as in :func:`bootstrap_mean`.

    Returns:
        An :class:`Estimate` of kind ``"difference"``; positive when ``a`` is larger.

    Notebook: notebooks/02_teacher_forcing.ipynb, notebooks/04_time_period_conditioning.ipynb,
    notebooks/05_beam_vs_stochastic_search.ipynb, notebooks/07_music_transformer.ipynb
    """
    a, b = _values(a, "paired_bootstrap (a)"), _values(b, "paired_bootstrap (b)")
    if a.shape != b.shape:
        raise ValueError(f"paired_bootstrap: pairs need equal lengths, got {a.size} and {b.size}")
    return bootstrap_mean(a - b, groups=groups, n_boot=n_boot, level=level, seed=seed, unit=unit, kind="difference")


def bootstrap_difference(a, b, *, n_boot: int = 10_000, level: float = 0.95, seed: int = 0,
                         unit: str = "") -> Estimate:
    """``mean(a) - mean(b)`` of two *independent* samples (no pairing), each resampled on its own.

    Use :func:`paired_bootstrap` whenever the observations pair up: it is much tighter.

    Args:
        a, b: the two samples (any lengths ≥ 2).
        n_boot, level, seed, unit: as in :func:`bootstrap_mean`.

    Returns:
        An :class:`Estimate` of kind ``"difference"``, ``n`` = len(a) + len(b).

    Notebook: notebooks/03_control_signals.ipynb, notebooks/06_rag_jaccard.ipynb
    """
    a, b = _values(a, "bootstrap_difference (a)"), _values(b, "bootstrap_difference (b)")
    rng = np.random.default_rng(seed)
    reps = _replicate_means(a, np.ones_like(a), n_boot, rng) - _replicate_means(b, np.ones_like(b), n_boot, rng)
    lo, hi = _percentiles(reps, level)
    return Estimate(float(a.mean() - b.mean()), lo, hi, int(a.size + b.size), kind="difference", level=level,
                    unit=unit, method="percentile bootstrap, two samples")


def wilson(successes: int, n: int, *, level: float = 0.95) -> Estimate:
    """A proportion ``successes / n`` with its Wilson score interval.

    Args:
        successes: how many trials succeeded (e.g. pieces that land in the requested bin).
        n: how many trials.
        level: the interval's coverage.

    Returns:
        An :class:`Estimate` of kind ``"proportion"`` (values in [0, 1]).

    Notebook: notebooks/03_control_signals.ipynb, notebooks/04_time_period_conditioning.ipynb,
    notebooks/06_rag_jaccard.ipynb
    """
    successes, n = int(successes), int(n)
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"wilson: need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, free of rounding
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return Estimate(p, lo, hi, n, kind="proportion", level=level, method="Wilson")


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share the mean of their ranks)."""
    from scipy.stats import rankdata

    return rankdata(x, axis=-1)


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x - x.mean(-1, keepdims=True)
    y = y - y.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(-1) / np.sqrt((x * x).sum(-1) * (y * y).sum(-1))


def spearman(x, y, *, n_boot: int = 4000, level: float = 0.95, seed: int = 0) -> Estimate:
    """Spearman's rank correlation ρ of paired values, with a bootstrap interval over the pairs.

    Args:
        x, y: paired values (e.g. requested and measured density per piece).
        n_boot: bootstrap replicates (each re-ranks the drawn pairs).
        level, seed: as in :func:`bootstrap_mean`.

    Returns:
        An :class:`Estimate` of kind ``"correlation"``; replicates whose values are all tied
        (ρ undefined) are left out of the interval.

    Notebook: notebooks/03_control_signals.ipynb, notebooks/06_rag_jaccard.ipynb
    """
    x, y = _values(x, "spearman (x)"), _values(y, "spearman (y)")
    if x.shape != y.shape:
        raise ValueError(f"spearman: pairs need equal lengths, got {x.size} and {y.size}")
    rho = float(_rowwise_pearson(_ranks(x), _ranks(y)))
    if not math.isfinite(rho):
        raise ValueError("spearman: one of the two variables is constant, so ρ is undefined")
    rng = np.random.default_rng(seed)
    reps = []
    for start in range(0, n_boot, _CHUNK):
        pick = rng.integers(0, x.size, size=(min(_CHUNK, n_boot - start), x.size))
        reps.append(_rowwise_pearson(_ranks(x[pick]), _ranks(y[pick])))
    reps = np.concatenate(reps)
    lo, hi = _percentiles(reps[np.isfinite(reps)], level)
    return Estimate(rho, lo, hi, int(x.size), kind="correlation", level=level, method="percentile bootstrap")


def format_estimate(est: Estimate, *, digits: int = 3, group_name: str = "groups") -> str:
    """One line for a notebook: ``effect 0.012 nats [0.004, 0.020], n = 300``.

    A difference or correlation whose interval holds zero gets "; no difference we can
    detect at this size" (or "no correlation …"); a proportion prints in percent.

    Args:
        est: an :class:`Estimate`.
        digits: decimals for the value and the interval ends (proportions: one decimal of %).
        group_name: what the resampled groups are (``"works"``), when there were groups.

    Returns:
        The line (no trailing newline).

    Notebook: every chapter that prints a comparison (02–07)
    """
    if est.kind == "proportion":
        body = f"{100 * est.value:.1f} % [{100 * est.lo:.1f} %, {100 * est.hi:.1f} %]"
    else:
        unit = f" {est.unit}" if est.unit else ""
        body = f"{est.value:.{digits}f}{unit} [{est.lo:.{digits}f}, {est.hi:.{digits}f}]"
    label = {"difference": "effect", "correlation": "Spearman ρ", "proportion": "rate"}.get(est.kind, "mean")
    line = f"{label} {body}, n = {est.n}"
    if est.groups is not None:
        line += f" ({est.groups} {group_name})"
    if est.level != 0.95:
        line += f", {est.level:.0%} interval"
    if est.kind == "difference" and est.includes_zero:
        line += f"; {NO_DIFFERENCE}"
    elif est.kind == "correlation" and est.includes_zero:
        line += "; no correlation we can detect at this size"
    return line


def verdict(est: Estimate, expect: str, *, than: float = 0.0, margin: float | None = None) -> str:
    """What the interval says about a claim: ``"holds"``, ``"does-not-hold"`` or ``"cannot-tell"``.

    Args:
        est: the measurement.
        expect: the claim's direction: ``"greater"`` (the value exceeds ``than``), ``"less"``
            (below ``than``) or ``"equal"`` (within ``than ± margin``: an equivalence claim).
        than: the reference value (0 for a difference, chance for a rate).
        margin: for ``"equal"``, the largest difference that still counts as equal.

    Returns:
        ``"holds"`` when the whole interval is on the claimed side (inside the margin for
        ``"equal"``), ``"does-not-hold"`` when the whole interval is on the other side
        (outside the margin), ``"cannot-tell"`` otherwise: at this size the data cannot decide.

    Notebook: every chapter that tests a paper's claim (02–07)
    """
    if expect == "greater":
        return "holds" if est.lo > than else "does-not-hold" if est.hi < than else "cannot-tell"
    if expect == "less":
        return "holds" if est.hi < than else "does-not-hold" if est.lo > than else "cannot-tell"
    if expect == "equal":
        if margin is None or margin <= 0:
            raise ValueError("verdict: an 'equal' claim needs a margin > 0 "
                             "(how large a difference still counts as equal)")
        if than - margin <= est.lo and est.hi <= than + margin:
            return "holds"
        return "does-not-hold" if est.lo > than + margin or est.hi < than - margin else "cannot-tell"
    raise ValueError(f"verdict: expect must be 'greater', 'less' or 'equal', not {expect!r}")


def claim(claim_id: str, est: Estimate, expect: str, *, than: float = 0.0, margin: float | None = None,
          model: str | None = None, quiet: bool = False) -> str:
    """Print a paper claim's measurement as the ledger reads it, and return the verdict.

    Prints two lines: the readable one of :func:`format_estimate` and the tagged one
    ``CLAIM <id>: effect=… lo=… hi=… n=… verdict=… [unit=…] [groups=…] [model=…]`` that
    ``tools/claims_ledger.py`` gathers from the executed notebooks into ``docs/claims.md``.

    Args:
        claim_id: the claim's id in ``docs/claims.toml`` (e.g. ``"huang-mt-beats-transformer"``).
        est: the measurement.
        expect, than, margin: the claim's direction, as in :func:`verdict`.
        model: the model measured (a registry name such as ``"prnn-cpu"``), shown in the ledger.
        quiet: print only the tagged line.

    Returns:
        The verdict token (``"holds"``, ``"does-not-hold"``, ``"cannot-tell"``).

    Notebook: every chapter that tests a paper's claim (02–07)
    """
    if not claim_id or any(c.isspace() or c == ":" for c in claim_id):
        raise ValueError(f"claim: an id is one word without ':' (e.g. 'meade-beam-repetition'), got {claim_id!r}")
    result = verdict(est, expect, than=than, margin=margin)
    fields = {"effect": f"{est.value:.4g}", "lo": f"{est.lo:.4g}", "hi": f"{est.hi:.4g}", "n": str(est.n),
              "verdict": result, "kind": est.kind}
    if est.unit:
        fields["unit"] = est.unit.replace(" ", "_")
    if est.groups is not None:
        fields["groups"] = str(est.groups)
    if model:
        fields["model"] = model.replace(" ", "_")
    if not quiet:
        print(f"{claim_id}: {format_estimate(est)} → {VERDICTS[result]}")
    print(f"CLAIM {claim_id}: " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return result

