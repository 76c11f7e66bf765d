"""Measures of generated music, each with a reference on real music.

Per piece: the model's NLL per event and its predictive entropy along the path;
repetition (distinct-n over events and over pitches, and the share of the piece
covered by its most repeated n-gram); pitch-class entropy; notes per second; the
share of time in silence. Across pieces: how alike they are (mean pairwise Jaccard
similarity of their pitch n-gram sets).

Notebook: notebooks/05_beam_vs_stochastic_search.ipynb (reused by chapters 6 and 7)
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Sequence

import numpy as np
import torch

from .encoding import PerformanceEncoding
from .performance import Performance
from .retrieval import jaccard, shingles

__all__ = ["distinct_n", "top_ngram_coverage", "pitch_class_entropy", "notes_per_second", "silence_ratio",
           "model_scores", "measure", "diversity", "summarize", "format_table", "MEASURES"]

MEASURES = ("nll", "entropy", "distinct_1", "distinct_2", "distinct_3", "distinct_4", "pitch_distinct_4",
            "top_4gram_coverage", "pitch_class_entropy", "notes_per_second", "silence_ratio")


def _grams(seq, n: int) -> list[tuple]:
    if n < 1:
        raise ValueError(f"n-grams need n >= 1, got {n}")
    seq = np.asarray(seq).tolist()
    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]


def distinct_n(seq, n: int) -> float:
    """Distinct n-grams over all n-grams of ``seq`` (1 = nothing repeats); NaN if ``seq``
    is shorter than n."""
    grams = _grams(seq, n)
    return len(set(grams)) / len(grams) if grams else float("nan")


def top_ngram_coverage(seq, n: int) -> float:
    """The share of positions of ``seq`` covered by occurrences of its most frequent
    n-gram (1 = the piece is one n-gram repeated; NaN if shorter than n)."""
    grams = _grams(seq, n)
    if not grams:
        return float("nan")
    top, _ = Counter(grams).most_common(1)[0]
    covered = np.zeros(len(grams) + n - 1, dtype=bool)
    for i, g in enumerate(grams):
        if g == top:
            covered[i:i + n] = True
    return float(covered.mean())


def pitch_class_entropy(perf: Performance) -> float:
    """Entropy (bits) of the pitch-class distribution of the notes: 0 for one pitch class,
    log2(12) ≈ 3.58 for all twelve equally; NaN without notes."""
    if len(perf) == 0:
        return float("nan")
    p = np.bincount(np.asarray(perf.pitch) % 12, minlength=12) / len(perf)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def notes_per_second(perf: Performance, seconds: float | None = None) -> float:
    """Notes struck per second over ``seconds`` (default: the performance's duration)."""
    seconds = perf.duration if seconds is None else seconds
    return len(perf) / seconds if seconds > 0 else float("nan")


def silence_ratio(perf: Performance, seconds: float | None = None) -> float:
    """The share of [0, seconds] during which no note sounds."""
    seconds = perf.duration if seconds is None else seconds
    if seconds <= 0:
        return float("nan")
    sounding, reach = 0.0, 0.0
    for s, e in zip(perf.start, np.minimum(perf.end, seconds)):  # sorted by start
        if e > reach:
            sounding += e - max(s, reach)
            reach = e
    return float(1.0 - sounding / seconds)


@torch.no_grad()
def model_scores(model, primer: Sequence[int], events: Sequence[int], controls=None) -> tuple[float, float]:
    """(NLL per event, mean predictive entropy) in nats of ``events`` after ``primer``
    under ``model``, in one forward pass. ``controls``: one vector (C,) or None."""
    primer, events = np.asarray(primer, dtype=np.int64), np.asarray(events, dtype=np.int64)
    if len(primer) == 0 or len(events) == 0:
        raise ValueError("model_scores needs a non-empty primer and at least one event")
    x = torch.as_tensor(np.concatenate([primer, events[:-1]]))[None]
    c = None if controls is None else torch.as_tensor(controls, dtype=torch.float32).reshape(1, -1)
    device = next(model.parameters()).device
    logp = torch.log_softmax(model(x.to(device), None if c is None else c.to(device)).double(), -1)[0, len(primer) - 1:]
    nll = -logp[torch.arange(len(events)), torch.as_tensor(events)].mean()
    entropy = -(logp.exp() * logp.nan_to_num(neginf=0.0)).sum(-1).mean()
    return float(nll), float(entropy)


def measure(events, *, model=None, primer=None, controls=None, encoding: PerformanceEncoding | None = None) -> dict:
    """Every per-piece measure of :data:`MEASURES` for one event sequence (``nll`` and
    ``entropy`` only when ``model`` and ``primer`` are given). Time is the events' own
    clock, so a piece that ends in silence counts that silence."""
    enc = encoding or PerformanceEncoding()
    events = np.asarray(events, dtype=np.int64)
    perf = enc.decode(events)
    seconds = enc.clock(events)[1] / enc.steps_per_second
    out = {"nll": float("nan"), "entropy": float("nan")}
    if model is not None and primer is not None:
        out["nll"], out["entropy"] = model_scores(model, primer, events, controls)
    for n in range(1, 5):
        out[f"distinct_{n}"] = distinct_n(events, n)
    out["pitch_distinct_4"] = distinct_n(perf.pitch, 4)
    out["top_4gram_coverage"] = top_ngram_coverage(events, 4)
    out["pitch_class_entropy"] = pitch_class_entropy(perf)
    out["notes_per_second"] = notes_per_second(perf, seconds)
    out["silence_ratio"] = silence_ratio(perf, seconds)
    return out


def diversity(performances: Sequence[Performance], n: int = 4) -> float:
    """Mean pairwise Jaccard similarity of the pieces' pitch n-gram sets: 1 when all are
    the same, near 0 when they share nothing (lower = more diverse)."""
    sets = [shingles(p, "pitch", n) for p in performances]
    pairs = list(combinations(sets, 2))
    if not pairs:
        raise ValueError("diversity needs at least two pieces")
    return float(np.mean([jaccard(a, b) for a, b in pairs]))


def summarize(rows: Sequence[dict]) -> dict[str, tuple[float, float]]:
    """{measure: (mean, standard deviation)} over pieces, ignoring NaNs (NaN when all are)."""
    out = {}
    for k in (rows[0].keys() if rows else []):
        values = np.array([r[k] for r in rows], dtype=np.float64)
        values = values[~np.isnan(values)]
        out[k] = (float(values.mean()), float(values.std())) if len(values) else (float("nan"), float("nan"))
    return out


def format_table(table: dict[str, dict[str, tuple[float, float]]], columns: Sequence[str] | None = None,
                 width: int = 22) -> str:
    """Rows of :func:`summarize` results as text: one line per name, ``mean ± std`` per column."""
    columns = list(columns or MEASURES)
    head = f"{'':{width}s}" + "".join(f"{c.replace('_', ' ')[:13]:>14s}" for c in columns)
    lines = [head]
    for name, stats in table.items():
        cells = []
        for c in columns:
            mean, std = stats.get(c, (float("nan"), float("nan")))
            cells.append(f"{'—':>14s}" if np.isnan(mean) else f"{mean:8.2f} ±{std:4.2f}")
        lines.append(f"{name[:width]:{width}s}" + "".join(f"{c:>14s}" for c in cells))
    return "\n".join(lines)
