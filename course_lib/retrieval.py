"""Set similarity over music: n-gram shingles of a performance and Jaccard similarity.

J(A, B) = |A ∩ B| / |A ∪ B|. Chapter 4 uses it to measure how close generated music
comes to the pieces its controls were taken from; Chapter 6 retrieves with it.

Notebooks: notebooks/04_time_period_conditioning.ipynb, notebooks/06_rag_jaccard.ipynb
"""

from __future__ import annotations

from typing import Hashable, Iterable

import numpy as np

from .encoding import PerformanceEncoding
from .performance import Performance

__all__ = ["jaccard", "containment", "shingles", "SHINGLE_KINDS"]

SHINGLE_KINDS = ("pitch", "interval", "rhythm", "event")


def jaccard(a: Iterable[Hashable], b: Iterable[Hashable]) -> float:
    """|A ∩ B| / |A ∪ B| of two collections of hashable items (0 when both are empty)."""
    a, b = set(a), set(b)
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def containment(a: Iterable[Hashable], b: Iterable[Hashable]) -> float:
    """|A ∩ B| / |A|: the share of A's items that B also has (0 when A is empty)."""
    a = set(a)
    return len(a & set(b)) / len(a) if a else 0.0


def shingles(performance: Performance, kind: str = "pitch", n: int = 4,
             encoding: PerformanceEncoding | None = None) -> set[tuple]:
    """The set of n-grams ("shingles") of a performance.

    kinds: ``'pitch'`` (pitches in onset order), ``'interval'`` (differences of
    consecutive pitches: unchanged by transposition), ``'rhythm'`` (inter-onset
    intervals between distinct onsets, in the encoding's 10 ms steps), ``'event'``
    (Performance-RNN event ids).

    Raises:
        ValueError: ``n < 1`` or an unknown kind.
    """
    if n < 1:
        raise ValueError(f"n-grams need n >= 1, got {n}")
    if kind == "pitch":
        seq = performance.pitch
    elif kind == "interval":
        seq = np.diff(performance.pitch.astype(np.int64))
    elif kind == "rhythm":
        steps = np.unique((encoding or PerformanceEncoding()).quantize(performance.start))
        seq = np.diff(steps)
    elif kind == "event":
        seq = (encoding or PerformanceEncoding()).encode(performance)
    else:
        raise ValueError(f"unknown shingle kind {kind!r}; choose from {list(SHINGLE_KINDS)}")
    seq = np.asarray(seq, dtype=np.int64)
    if len(seq) < n:
        return set()
    grams = np.lib.stride_tricks.sliding_window_view(seq, n)
    return set(map(tuple, grams.tolist()))
