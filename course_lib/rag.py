"""Retrieval-augmented generation: fetch the closest tunes, play the model their openings.

The pipeline of Jonason et al. (2023, arXiv 2311.10384), with a small parser where
the paper used a language model: request → tags → the top-k tunes by Jaccard similarity
of their tags → their openings, joined by a short silence, become the primer → any
decoding strategy of chapter 5 continues it. A second retriever finds tunes by their
content (shingles of the notes) instead of their tags.

Notebook: notebooks/06_rag_jaccard.ipynb
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .encoding import PerformanceEncoding, split_time_shift
from .performance import Performance
from .retrieval import JaccardIndex, shingles, tags

__all__ = ["TUNE_TYPES", "MODES", "parse_request", "retrieval_tags", "missing_tags", "TagRetriever",
           "ContentRetriever", "primer_from", "generate"]

TUNE_TYPES = ("highland fling", "double jig", "slip jig", "strathspey", "walkaround", "hornpipe", "fling", "reel",
              "jig", "clog", "air", "waltz", "slide", "march", "polka")   # longest first: "slip jig" before "jig"
MODES = ("major", "minor", "dorian", "mixolydian", "lydian", "phrygian")
_RETRIEVAL_FIELDS = ("type:", "meter:", "mode:", "key:")
# The tonic must be a capital letter: in "a minor reel" the "a" is an article.
_KEY = re.compile(r"\b([A-G])\s*(#|b|♯|♭|sharp|flat)?\s+(?i:(" + "|".join(MODES) + r"))\b")
_KEY_AFTER_IN = re.compile(r"\bin\s+([A-G])\s*(#|b|♯|♭|sharp|flat)?(?=[\s,.;]|$)")
_METER = re.compile(r"\b(\d{1,2})\s*/\s*(\d{1,2})\b")


def _tonic(letter: str, accidental: str | None) -> str:
    acc = {"#": "#", "♯": "#", "sharp": "#", "b": "b", "♭": "b", "flat": "b"}.get((accidental or "").lower(), "")
    return letter.upper() + acc


def parse_request(text: str) -> set[str]:
    """Tags from a request such as ``"a jig in D major, 6/8"`` →
    ``{"type:jig", "key:D major", "mode:major", "meter:6/8"}``.

    A tune type from :data:`TUNE_TYPES`, a key (tonic and mode, or ``in D`` meaning
    major), a mode alone (``"a minor reel"``) and a time signature are recognised.

    Raises:
        ValueError: nothing recognised (the message gives examples of what is).
    """
    lowered = " ".join(text.lower().split())
    found = set()
    for t in TUNE_TYPES:
        if re.search(rf"\b{t}s?\b", lowered):
            found.add(f"type:{t}")
            break
    key = _KEY.search(text)
    if key:
        mode = key.group(3).lower()
        found |= {f"key:{_tonic(key.group(1), key.group(2))} {mode}", f"mode:{mode}"}
    else:
        after_in = _KEY_AFTER_IN.search(text)
        if after_in:
            found |= {f"key:{_tonic(after_in.group(1), after_in.group(2))} major", "mode:major"}
        else:
            mode = next((m for m in MODES if re.search(rf"\b{m}\b", lowered)), None)
            if mode:
                found.add(f"mode:{mode}")
    meter = _METER.search(text)
    if meter:
        found.add(f"meter:{int(meter.group(1))}/{int(meter.group(2))}")
    if not found:
        raise ValueError(f"nothing recognised in {text!r}: name a tune type ({', '.join(sorted(TUNE_TYPES))}), "
                         f"a key ('in D major', 'E minor'), a mode or a time signature ('6/8'), "
                         f"e.g. 'a jig in D major, 6/8'")
    return found


def retrieval_tags(work) -> set[str]:
    """The paper's tags of a work: tune type, meter, mode and key."""
    return {t for t in tags(work) if t.startswith(_RETRIEVAL_FIELDS)}


def missing_tags(works: Sequence) -> list[tuple[str, list[str]]]:
    """``(work id, [missing fields])`` for every work without a tune type, meter or mode."""
    report = []
    for w in works:
        missing = [f for f in ("type", "meter", "mode") if not getattr(w, f, None)]
        if missing:
            report.append((w.id, missing))
    return report


class TagRetriever:
    """Ranks works by the Jaccard similarity of their tags with a request's tags.

    Notebook: notebooks/06_rag_jaccard.ipynb
    """

    def __init__(self, works: Sequence) -> None:
        self.works = list(works)
        self.index = JaccardIndex([retrieval_tags(w) for w in self.works])

    def retrieve(self, request: str | set, k: int = 3, exclude: set[str] = frozenset()) -> list[tuple[object, float]]:
        """The k best ``(work, similarity)`` for a request (text, or a tag set); works
        whose id is in ``exclude`` are skipped."""
        query = parse_request(request) if isinstance(request, str) else set(request)
        hits = self.index.query(query, k + len(exclude))
        return [(self.works[i], s) for i, s in hits if self.works[i].id not in exclude][:k]


class ContentRetriever:
    """Ranks works by the Jaccard similarity of their note shingles with a query piece's
    (interval 4-grams by default, so a transposed tune still matches).

    Notebook: notebooks/06_rag_jaccard.ipynb
    """

    def __init__(self, works: Sequence, kind: str = "interval", n: int = 4) -> None:
        self.works, self.kind, self.n = list(works), kind, n
        self.index = JaccardIndex([shingles(w.performance, kind, n) for w in self.works])

    def retrieve(self, performance: Performance, k: int = 3,
                 exclude: set[str] = frozenset()) -> list[tuple[object, float]]:
        """The k works whose shingles are most like ``performance``'s.

        Raises:
            ValueError: a query too short to have one shingle.
        """
        query = shingles(performance, self.kind, self.n)
        if not query:
            raise ValueError(f"the query has {len(performance)} notes: too few for one {self.kind} {self.n}-gram")
        hits = self.index.query(query, k + len(exclude))
        return [(self.works[i], s) for i, s in hits if self.works[i].id not in exclude][:k]


def primer_from(works: Sequence, seconds: float = 6.0, silence: float = 1.0,
                encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """The openings (first ``seconds``) of the works, one after the other, each followed by
    ``silence`` seconds of TIME_SHIFT events: a primer with no new token (no work: the
    neutral primer, :func:`course_lib.search.neutral_primer`)."""
    enc = encoding or PerformanceEncoding()
    steps = split_time_shift(round(silence * enc.steps_per_second), enc.max_shift_steps)
    gap = np.array([enc.time_shift(s) for s in steps], dtype=np.int64)
    parts = []
    for w in works:
        parts += [enc.encode(getattr(w, "performance", w).slice(0, seconds)), gap]
    if not parts:
        from .search import neutral_primer   # torch is imported only when needed

        return neutral_primer(enc)
    return np.concatenate(parts)


def generate(model, primer, steps: int, strategy: str = "sample", generator=None, **options) -> np.ndarray:
    """Continue ``primer`` for ``steps`` events with a strategy of chapter 5: ``"sample"``
    (temperature, top_k, top_p, num_samples), ``"greedy"``, ``"beam"`` or ``"stochastic-beam"``
    (beam_size; the best or first hypothesis is returned). The strategies live in
    :data:`course_lib.search.STRATEGIES`; this is :func:`course_lib.search.generate`.

    Notebook: notebooks/06_rag_jaccard.ipynb
    """
    from . import search

    return search.generate(model, primer, steps, strategy, generator=generator, **options)
