"""Style statistics of a performance: key estimate, a feature vector, composer groups,
and independent classifiers (period, meter) that judge generated music.

None of this looks at a generative model: the features are plain statistics of the
notes, so they can judge real and generated music alike.

Notebooks: notebooks/03_control_signals.ipynb, notebooks/04_time_period_conditioning.ipynb
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from importlib import resources
from typing import Sequence

import numpy as np

from .performance import Performance

__all__ = [
    "KEY_PROFILES", "PITCH_NAMES", "SCALES", "scale_profile", "estimate_key", "FEATURE_NAMES", "style_features",
    "excerpts", "composer_groups", "load_composer_groups", "ExcerptClassifier", "PeriodClassifier", "meter_class",
    "meter_features", "METER_FEATURE_NAMES", "MeterClassifier", "fit_period_judge", "load_period_judge",
    "judge_report", "load_judge_file",
]

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# The course's one definition of the two scales (chapter 3): semitones above the tonic, the
# minor one natural (aeolian). The key control's 24 keys and the studio's scale choices read it.
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


def scale_profile(key: str) -> np.ndarray:
    """12 pitch-class weights: 1 on the notes of ``key``'s scale (:data:`SCALES`; ``"D minor"``:
    the natural minor), 0 elsewhere. Index 0 is C.

    Raises:
        ValueError: not a key written like ``"Eb major"`` (the message lists the allowed ones).

    Notebook: notebooks/03_control_signals.ipynb
    """
    tonic, _, mode = str(key).partition(" ")
    if tonic not in PITCH_NAMES or mode not in SCALES:
        raise ValueError(f"unknown key {key!r}; allowed: {[f'{t} {m}' for m in SCALES for t in PITCH_NAMES]}")
    weights = np.zeros(12, dtype=np.float32)
    weights[[(PITCH_NAMES.index(tonic) + d) % 12 for d in SCALES[mode]]] = 1.0
    return weights


# Krumhansl & Kessler (1982) probe-tone ratings, tonic first (Krumhansl 1990, "Cognitive
# Foundations of Musical Pitch", table 2.1); used by the Krumhansl–Schmuckler key finder.
KEY_PROFILES = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}


def _pitch_class_durations(perf: Performance) -> np.ndarray:
    return np.bincount(np.asarray(perf.pitch) % 12, weights=perf.end - perf.start, minlength=12)


def _standardise(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(-1, keepdims=True)
    norm = np.sqrt((x ** 2).sum(-1, keepdims=True))
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


# (2, 12, 12): every major (row 0) and minor (row 1) profile rotated to each tonic, standardised.
_ROTATED = _standardise(np.array([[np.roll(p, t) for t in range(12)] for p in KEY_PROFILES.values()]))


def _key_scores(weights: np.ndarray) -> np.ndarray:
    """(2, 12) Pearson correlation of ``weights`` with each major (row 0) and minor (row 1) key."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (12,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"a key estimate needs 12 non-negative pitch-class weights with a positive sum, got {w}")
    return _ROTATED @ _standardise(w)


def estimate_key(music) -> tuple[str, float]:
    """The Krumhansl–Schmuckler key estimate: the major or minor key whose profile
    correlates best with the duration-weighted pitch-class histogram.

    Args:
        music: a :class:`Performance`, or 12 pitch-class weights (C first).

    Returns:
        (``"G major"``-style name, correlation in [-1, 1]).

    Raises:
        ValueError: a performance without notes, or weights that are not 12 non-negative numbers.
    """
    if isinstance(music, Performance):
        if len(music) == 0:
            raise ValueError("cannot estimate the key of a performance without notes")
        music = _pitch_class_durations(music)
    scores = _key_scores(music)
    mode, tonic = np.unravel_index(np.argmax(scores), scores.shape)
    return f"{PITCH_NAMES[tonic]} {('major', 'minor')[mode]}", float(scores[mode, tonic])


FEATURE_NAMES = (
    ("notes_per_second", "mean_pitch", "pitch_spread", "pitch_range", "notes_per_onset", "log_duration",
     "log_ioi_spread", "top_voice_step", "top_voice_repeat", "top_voice_leap", "mean_velocity",
     "velocity_spread", "pitch_class_entropy", "major_minus_minor")
    + tuple(f"degree_{i}" for i in range(12))
)


def style_features(perf: Performance) -> np.ndarray:
    """A fixed-length vector of style statistics (see :data:`FEATURE_NAMES`).

    Texture (notes per second and per onset), register, rhythm (spread of the log
    inter-onset intervals), the melodic motion of the top voice (share of steps,
    repeats and leaps), dynamics, and tonality: the pitch-class histogram rotated
    so that the estimated tonic comes first (unchanged by transposition), its entropy,
    and how much more major than minor it sounds.

    Raises:
        ValueError: fewer than two onsets.
    """
    start = perf.start
    onsets, first = np.unique(np.round(start, 3), return_index=True)
    if len(onsets) < 2:
        raise ValueError(f"style features need at least two onsets, got {len(onsets)}")
    pitch = perf.pitch.astype(np.float64)
    seconds = max(float(perf.end.max() - start.min()), 1e-3)
    top = np.maximum.reduceat(pitch, first)  # notes are sorted by start, then pitch
    steps = np.abs(np.diff(top))
    ioi = np.diff(onsets)
    pcs = _pitch_class_durations(perf)
    share = pcs / pcs.sum()
    scores = _key_scores(pcs)
    tonic = int(np.unravel_index(np.argmax(scores), scores.shape)[1])
    entropy = -np.sum(share[share > 0] * np.log2(share[share > 0]))
    return np.concatenate([[
        len(pitch) / seconds, pitch.mean(), pitch.std(), np.percentile(pitch, 95) - np.percentile(pitch, 5),
        len(pitch) / len(onsets), np.log(perf.end - start).mean(), np.log(ioi).std(),
        np.mean((steps > 0) & (steps <= 2)), np.mean(steps == 0), np.mean(steps >= 5),
        perf.velocity.mean(), perf.velocity.std(), entropy, scores[0].max() - scores[1].max(),
    ], np.roll(share, -tonic)]).astype(np.float64)


def excerpts(perf: Performance, seconds: float, *, limit: int | None = None) -> list[Performance]:
    """Consecutive, non-overlapping excerpts of ``seconds`` (the last partial one dropped
    unless it is the only one), each starting at 0 s; at most ``limit`` of them."""
    if seconds <= 0:
        raise ValueError(f"excerpt length must be > 0 seconds, got {seconds}")
    count = max(1, int(perf.duration // seconds))
    if limit is not None:
        count = min(count, limit)
    return [perf.slice(i * seconds, (i + 1) * seconds) for i in range(count)]


# -- composer groups --------------------------------------------------------------------------
def _kmeans(x: np.ndarray, k: int, seed: int, restarts: int = 20, iterations: int = 100) -> np.ndarray:
    """Labels of the best of ``restarts`` k-means++ runs (lowest within-cluster sum of squares)."""
    rng = np.random.default_rng(seed)
    best, best_cost = None, np.inf
    for _ in range(restarts):
        centres = [x[rng.integers(len(x))]]
        for _ in range(1, k):
            d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
            centres.append(x[rng.choice(len(x), p=d / d.sum())])
        centres = np.array(centres)
        for _ in range(iterations):
            labels = ((x[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
            new = np.array([x[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)])
            if np.allclose(new, centres):
                break
            centres = new
        cost = ((x - centres[labels]) ** 2).sum()
        if cost < best_cost - 1e-9:
            best, best_cost = labels, cost
    # Number the groups by first appearance, so the labels do not depend on the restart that won.
    order = {old: new for new, old in enumerate(dict.fromkeys(best.tolist()))}
    return np.array([order[g] for g in best])


def composer_groups(works: Sequence, k: int = 5, *, excerpt_seconds: float = 20.0, seed: int = 0) -> dict[str, int]:
    """Cluster composers by style: k-means over each composer's mean style features.

    Every training work contributes up to four excerpts; features are standardised
    across composers, and each composer counts once however many works it has.
    Deterministic for a given ``seed``. Returns {composer: group number 0..k-1}.
    """
    per_composer: dict[str, list[np.ndarray]] = {}
    for w in works:
        for ex in excerpts(w.performance, excerpt_seconds, limit=4):
            try:
                per_composer.setdefault(w.composer, []).append(style_features(ex))
            except ValueError:
                continue
    names = sorted(per_composer)
    if len(names) < k:
        raise ValueError(f"{len(names)} composers cannot make {k} groups")
    x = np.array([np.mean(per_composer[n], axis=0) for n in names])
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
    return dict(zip(names, _kmeans(x, k, seed).tolist()))


COMPOSER_GROUPS_CSV = "composer_groups.csv"


def load_composer_groups() -> dict[str, int]:
    """The shipped composer groups (``course_lib/data/composer_groups.csv``, rebuilt by
    ``python tools/build_composer_groups.py``)."""
    text = resources.files("course_lib").joinpath("data", COMPOSER_GROUPS_CSV).read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["composer"]: int(r["group"]) for r in rows}


# -- classifiers that judge music -------------------------------------------------------------
class ExcerptClassifier:
    """Multinomial logistic regression from features of excerpts to a label of their work.

    Trained with class-balanced weights (a rare label counts as much as a common one).
    Independent of every generative model, so it can judge their output. Subclasses say
    which label a work has (``_label``) and which features an excerpt gives (``_features``).
    """

    feature_names: tuple[str, ...] = FEATURE_NAMES

    def __init__(self, labels: Sequence[str] = (), excerpt_seconds: float = 20.0) -> None:
        self.labels = tuple(labels)
        self.excerpt_seconds = excerpt_seconds
        self.weights = self.mean = self.scale = None

    def _label(self, work) -> str | None:
        raise NotImplementedError

    def _features(self, perf: Performance) -> np.ndarray:
        return style_features(perf)

    def _matrix(self, performances: Sequence[Performance]) -> np.ndarray:
        return np.array([self._features(p) for p in performances]).reshape(-1, len(self.feature_names))

    def _dataset(self, works: Sequence, limit: int) -> tuple[np.ndarray, np.ndarray]:
        feats, labels = [], []
        for w in works:
            label = self._label(w)
            if label not in self.labels:
                continue
            for ex in excerpts(w.performance, self.excerpt_seconds, limit=limit):
                try:
                    feats.append(self._features(ex))
                except ValueError:
                    continue
                labels.append(self.labels.index(label))
        return np.array(feats).reshape(-1, len(self.feature_names)), np.array(labels, dtype=np.int64)

    def _logits(self, x: np.ndarray) -> np.ndarray:
        if self.weights is None:
            raise RuntimeError("the classifier is not fitted yet: call .fit(works) first")
        return np.concatenate([(x - self.mean) / self.scale, np.ones((len(x), 1))], 1) @ self.weights

    def fit(self, works: Sequence, *, excerpts_per_work: int = 6, steps: int = 500, l2: float = 1e-3,
            seed: int = 0):
        """Fit on up to ``excerpts_per_work`` excerpts of each work whose label is known."""
        import torch

        if not self.labels:
            self.labels = tuple(sorted({lab for lab in map(self._label, works) if lab is not None}))
        x, y = self._dataset(works, excerpts_per_work)
        if len(set(y.tolist())) < 2:
            raise ValueError("a classifier needs excerpts of at least two labels")
        self.mean, self.scale = x.mean(0), np.where(x.std(0) > 0, x.std(0), 1.0)
        xt = torch.as_tensor((x - self.mean) / self.scale, dtype=torch.float32)
        xt = torch.cat([xt, torch.ones(len(xt), 1)], 1)
        yt = torch.as_tensor(y)
        counts = np.bincount(y, minlength=len(self.labels)).astype(np.float64)
        class_weight = torch.as_tensor(np.where(counts > 0, counts.sum() / np.maximum(counts, 1), 0.0),
                                       dtype=torch.float32)
        torch.manual_seed(seed)
        w = torch.zeros(xt.shape[1], len(self.labels), requires_grad=True)
        opt = torch.optim.LBFGS([w], max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(xt @ w, yt, weight=class_weight) + l2 * (w[:-1] ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        self.weights = w.detach().numpy()
        return self

    def predict_proba(self, performances: Sequence[Performance]) -> np.ndarray:
        """(N, number of labels) probabilities, one row per performance."""
        logits = self._logits(self._matrix(performances))
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    def predict(self, performances: Sequence[Performance]) -> list[str]:
        """The most probable label of each performance."""
        return [self.labels[i] for i in self.predict_proba(performances).argmax(1)]

    def evaluate(self, works: Sequence, *, excerpts_per_work: int = 6) -> dict:
        """Accuracy, balanced accuracy (the mean of per-label recalls, over labels that
        occur) and the confusion matrix (rows: true label, columns: predicted) on the
        excerpts of ``works``."""
        x, y = self._dataset(works, excerpts_per_work)
        pred = self._logits(x).argmax(1)
        k = len(self.labels)
        confusion = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
        present = confusion.sum(1) > 0
        recall = np.diag(confusion)[present] / confusion.sum(1)[present]
        return {"accuracy": float((pred == y).mean()), "balanced_accuracy": float(recall.mean()),
                "confusion": confusion, "excerpts": len(y)}

    def to_dict(self) -> dict:
        """The fitted classifier as plain lists (for a JSON file); :meth:`from_dict` reads it back."""
        if self.weights is None:
            raise RuntimeError("the classifier is not fitted yet: call .fit(works) first")
        return {"labels": list(self.labels), "excerpt_seconds": self.excerpt_seconds,
                "feature_names": list(self.feature_names), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "weights": self.weights.tolist()}

    @classmethod
    def from_dict(cls, data: dict):
        """A fitted classifier from :meth:`to_dict`'s output.

        Raises:
            ValueError: it was fitted on other features than this class computes.
        """
        if tuple(data["feature_names"]) != tuple(cls.feature_names):
            raise ValueError(f"a {cls.__name__} reads {len(cls.feature_names)} features, this file was fitted on "
                             f"{len(data['feature_names'])} others; rebuild it (python tools/build_judges.py)")
        judge = cls.__new__(cls)
        ExcerptClassifier.__init__(judge, data["labels"], data["excerpt_seconds"])
        judge.mean, judge.scale = np.array(data["mean"]), np.array(data["scale"])
        judge.weights = np.array(data["weights"], dtype=np.float32)
        return judge


class PeriodClassifier(ExcerptClassifier):
    """The period of an excerpt, from its :func:`style_features`.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """

    def __init__(self, periods: Sequence[str] = (), excerpt_seconds: float = 20.0) -> None:
        super().__init__(periods, excerpt_seconds)

    @property
    def periods(self) -> tuple[str, ...]:
        return self.labels

    def _label(self, work) -> str | None:
        return work.period


PERIOD_JUDGE_JSON = "period_judge.json"
# Held-out excerpt lengths (seconds) at which the shipped judge's accuracy is measured: a judge of
# 20-s excerpts hears a 10-s piece less well, so the studio shows the number for the nearest length.
JUDGE_SECONDS = (5.0, 10.0, 20.0, 40.0)


def judge_report(judge: ExcerptClassifier, works: Sequence) -> dict:
    """A judge's accuracy on the held-out (validation) works' excerpts of each length of
    :data:`JUDGE_SECONDS`, four per work: ``{seconds: {"accuracy", "balanced_accuracy", "excerpts"}}``."""
    fitted_on, report = judge.excerpt_seconds, {}
    held_out = [w for w in works if w.split == "valid"]
    for seconds in JUDGE_SECONDS:
        judge.excerpt_seconds = seconds
        r = judge.evaluate(held_out, excerpts_per_work=4)
        report[seconds] = {k: r[k] for k in ("accuracy", "balanced_accuracy", "excerpts")}
    judge.excerpt_seconds = fitted_on
    return report


def fit_period_judge(works: Sequence) -> tuple[PeriodClassifier, dict]:
    """Chapter 4's period judge, fitted as chapter 4 fits it (20-s excerpts, two per training work,
    every period but Modern, which has no held-out work to test it on), and its accuracy on the
    held-out (validation) works' excerpts of each length of :data:`JUDGE_SECONDS`, four per work.

    Returns:
        (the judge, ``{seconds: {"accuracy", "balanced_accuracy", "excerpts"}}``).

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    from .corpus import PERIODS

    periods = tuple(p for p in PERIODS if p != "Modern")
    judge = PeriodClassifier(periods, excerpt_seconds=20.0).fit([w for w in works if w.split == "train"],
                                                                excerpts_per_work=2)
    return judge, judge_report(judge, works)


def load_judge_file(filename: str, kind: type) -> tuple[ExcerptClassifier, dict]:
    """A judge shipped in ``course_lib/data/`` (rebuilt by ``python tools/build_judges.py``) and its
    held-out report by excerpt length, as :func:`judge_report` returns it."""
    data = json.loads(resources.files("course_lib").joinpath("data", filename).read_text(encoding="utf-8"))
    return kind.from_dict(data["judge"]), {float(k): v for k, v in data["held_out"].items()}


@lru_cache(maxsize=1)
def load_period_judge() -> tuple[PeriodClassifier, dict]:
    """The shipped period judge (``course_lib/data/period_judge.json``; loaded once) and its
    held-out report by excerpt length, as :func:`fit_period_judge` returns them.

    Notebook: notebooks/00_studio.ipynb
    """
    return load_judge_file(PERIOD_JUDGE_JSON, PeriodClassifier)


# -- meter -----------------------------------------------------------------------------------------
METER_LAGS = tuple(range(1, 13))
METER_FEATURE_NAMES = (tuple(f"onset_autocorrelation_{k}" for k in METER_LAGS)
                       + tuple(f"pitch_repeat_{k}" for k in METER_LAGS)
                       + tuple(f"ioi_share_{r}" for r in ("1", "1.5", "2", "3", "4", "other")))


def meter_class(meter: str | None) -> str | None:
    """``"compound"`` for 6/8, 9/8, 12/8 (beats divided in three), ``"simple"`` for the
    other time signatures, None when there is none."""
    if not meter or "/" not in meter:
        return None
    top, bottom = meter.split("/", 1)
    return "compound" if bottom.strip() == "8" and top.strip() in ("6", "9", "12") else "simple"


def meter_features(perf: Performance) -> np.ndarray:
    """Rhythm statistics on the grid of the most common inter-onset interval (the tatum):
    how often onsets recur, and pitches repeat, 1–12 tatums apart, and the share of
    inter-onset intervals of 1, 1.5, 2, 3 and 4 tatums. Jigs (6/8) group their tatums in
    threes, reels and hornpipes in twos and fours.

    Raises:
        ValueError: fewer than eight onsets.
    """
    onsets, first = np.unique(np.round(perf.start, 2), return_index=True)
    if len(onsets) < 8:
        raise ValueError(f"meter features need at least eight onsets, got {len(onsets)}")
    ioi = np.diff(onsets)
    values, counts = np.unique(np.round(ioi[ioi > 0.04], 2), return_counts=True)
    tatum = float(values[np.argmax(counts)]) if len(values) else float(np.median(ioi))
    slots = np.round((onsets - onsets[0]) / tatum).astype(np.int64)
    slots = slots[slots < 512]
    top = np.maximum.reduceat(perf.pitch.astype(np.int64), first)[: len(slots)]
    grid = np.full(slots.max() + 1, -1)
    grid[slots] = top
    hit = grid >= 0
    auto, repeat = [], []
    for k in METER_LAGS:
        both = hit[:-k] & hit[k:] if k < len(hit) else np.zeros(0, bool)
        auto.append(both.sum() / max(hit.sum(), 1))
        repeat.append((grid[:-k][both] == grid[k:][both]).mean() if both.any() else 0.0)
    ratio = ioi / tatum
    shares = [np.mean(np.abs(ratio - r) < 0.2) for r in (1, 1.5, 2, 3, 4)]
    return np.array(auto + repeat + shares + [1 - sum(shares)], dtype=np.float64)


class MeterClassifier(ExcerptClassifier):
    """Compound (6/8, 9/8, 12/8) or simple meter, from :func:`meter_features` of an excerpt.

    Notebook: notebooks/06_rag_jaccard.ipynb
    """

    feature_names = METER_FEATURE_NAMES

    def __init__(self, excerpt_seconds: float = 10.0) -> None:
        super().__init__(("compound", "simple"), excerpt_seconds)

    def _label(self, work) -> str | None:
        return meter_class(getattr(work, "meter", None))

    def _features(self, perf: Performance) -> np.ndarray:
        return meter_features(perf)
