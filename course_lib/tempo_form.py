"""Judges of tempo and form (chapters 3-4): a tempo estimate from the onsets of notes, and a
form classifier on excerpts, to measure whether a model conditioned on ``tempo`` and ``form``
(:data:`course_lib.controls.CONTROLS`) does what it was asked.

Like :mod:`course_lib.style`, nothing here looks at a generative model: real and generated
music are judged alike, and each judge is first checked on the corpus, whose tempos and forms
are known (:mod:`course_lib.corpus.titles`).

Notebooks: notebooks/03_control_signals.ipynb (tempo), notebooks/04_time_period_conditioning.ipynb (form)
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Sequence

import numpy as np

from .performance import Performance
from .style import (FEATURE_NAMES, METER_FEATURE_NAMES, ExcerptClassifier, judge_report, load_judge_file,
                    meter_features, style_features)

__all__ = ["TEMPO_RANGE", "TEMPO_PRIOR", "onset_autocorrelation", "estimate_tempo", "tempo_estimate_errors",
           "FORM_FEATURE_NAMES", "form_features", "FormClassifier", "fit_form_judge", "load_form_judge",
           "FORM_JUDGE_JSON"]

TEMPO_RANGE = (40.0, 240.0)   # quarter notes per minute the tempo estimate considers
# The estimate's preference: a log-normal around 120 BPM, one octave wide (see estimate_tempo). Chosen
# on the training works whose tempo a metronome mark gives (tempo_estimate_errors), among centres
# 100-180 and widths 0.75-1.5 octaves, as the best mean of the shares within ±10 % of the folk tunes
# (993, mostly Aird's) and of the other works (133).
TEMPO_PRIOR = (120.0, 1.0)
_TEMPO_STEP = 0.005           # seconds per bin of the onset signal


def onset_autocorrelation(perf: Performance, max_lag: float = 60 / TEMPO_RANGE[0]) -> np.ndarray:
    """How often onsets recur ``k`` bins of 5 ms apart (k = 0 … ``max_lag`` s), 1 at k = 0.

    Every onset time (notes starting within 5 ms count once, weighted by how many notes start
    there) is a pulse on a 5 ms grid, spread over ±2 bins so that timing a bin off still counts;
    the autocorrelation of that signal is the histogram of all inter-onset intervals, not only
    of neighbours: a steady beat shows as peaks at its period and its multiples.

    Raises:
        ValueError: fewer than four onsets.

    Notebook: notebooks/03_control_signals.ipynb
    """
    bins = np.round(np.asarray(perf.start, dtype=np.float64) / _TEMPO_STEP).astype(np.int64)
    bins, weight = np.unique(bins - bins.min() if len(bins) else bins, return_counts=True)
    if len(bins) < 4:
        raise ValueError(f"a tempo estimate needs at least four onsets, got {len(bins)}")
    signal = np.zeros(bins[-1] + 1)
    np.add.at(signal, bins, np.sqrt(weight))
    signal = np.convolve(signal, np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0, mode="same")
    size = 1 << int(np.ceil(np.log2(2 * len(signal))))
    spectrum = np.fft.rfft(signal, size)
    auto = np.fft.irfft(spectrum * np.conj(spectrum), size)[: int(max_lag / _TEMPO_STEP) + 1]
    return auto / auto[0]


def estimate_tempo(perf: Performance, *, prior: tuple[float, float] = TEMPO_PRIOR,
                   tempo_range: tuple[float, float] = TEMPO_RANGE, compound: bool = True) -> float:
    """A simple tempo estimate in quarter notes per minute, from the onsets alone.

    1. The beat: the lag where :func:`onset_autocorrelation` peaks, after weighting each lag
       by a preference for common tempos, ``exp(-0.5 * (log2(bpm / centre) / octaves) ** 2)``
       with ``prior = (centre, octaves)`` (as Ellis 2007 does for beat tracking): without it,
       the bar or the smallest note value would often win.
    2. Its note value: a beat that the onsets divide in three (the autocorrelation higher at a
       third or two thirds of the beat than at its half) is taken as a dotted quarter, as in
       6/8, so the quarter notes run 1.5 times as fast; any other beat as a quarter.

    A beat heard at another level (the eighths, the half bar) still comes out 2 or 1/2 times
    off: :func:`tempo_estimate_errors` counts how often, on works whose tempo is known.

    Args:
        perf: the notes (a generated piece, or an excerpt of a work).
        prior: (centre in BPM, width in octaves) of the preference.
        tempo_range: the lowest and highest beat tempo considered.
        compound: apply step 2 (False: every beat is a quarter).

    Returns:
        Quarter notes per minute.

    Raises:
        ValueError: fewer than four onsets.

    Notebook: notebooks/03_control_signals.ipynb
    """
    low, high = tempo_range
    auto = onset_autocorrelation(perf, 60.0 / low)
    lags = np.arange(max(1, int(np.floor(60.0 / high / _TEMPO_STEP))), len(auto))
    centre, octaves = prior
    score = np.clip(auto[lags], 0, None) * np.exp(-0.5 * (np.log2(60.0 / (lags * _TEMPO_STEP) / centre)
                                                          / octaves) ** 2)
    i = int(np.argmax(score))
    lag = float(lags[i])
    if 0 < i < len(lags) - 1:  # a parabola through the peak and its neighbours: a finer lag
        a, b, c = score[i - 1: i + 2]
        lag += 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) < 0 else 0.0
    beats = 60.0 / (lag * _TEMPO_STEP)

    def near(at: float) -> float:  # the autocorrelation's highest value within 10 ms of a lag
        k = int(round(at))
        return float(np.clip(auto[max(k - 2, 0): k + 3], 0, None).max())

    in_three = max(near(lag / 3), near(2 * lag / 3)) > max(near(lag / 2), 1e-3)  # 1e-3: not FFT noise
    return float(beats * 1.5 if compound and in_three else beats)


def tempo_estimate_errors(works: Sequence, *, seconds: float = 30.0, sources=("score mark",),
                          **options) -> dict:
    """How close :func:`estimate_tempo` comes to the known tempo of works (chapter 3 prints it).

    Each work with a tempo from one of ``sources`` (the tempos its notes are played at) is
    estimated on its first ``seconds``.

    Returns:
        ``{"n", "median_abs_error" (a share of the true tempo), "within_10" (share of works
        within ±10 %), "within_10_metrical" (within ±10 % of the true tempo times 1/2, 2/3, 1,
        3/2 or 2: the beat found was another note value), "ratios" (estimate / truth)}``.

    Notebook: notebooks/03_control_signals.ipynb
    """
    ratios = []
    for w in works:
        if getattr(w, "tempo_source", None) not in sources or not getattr(w, "tempo", None):
            continue
        try:
            ratios.append(estimate_tempo(w.performance.slice(0, seconds), **options) / w.tempo)
        except ValueError:
            continue
    r = np.array(ratios)
    if not len(r):
        return {"n": 0, "median_abs_error": float("nan"), "within_10": float("nan"),
                "within_10_metrical": float("nan"), "ratios": r}
    nearest = np.min(np.abs(np.log(r[:, None] / np.array([0.5, 2 / 3, 1.0, 1.5, 2.0]))), axis=1)
    return {"n": len(r), "median_abs_error": float(np.median(np.abs(r - 1))),
            "within_10": float(np.mean(np.abs(r - 1) <= 0.1)),
            "within_10_metrical": float(np.mean(nearest <= np.log(1.1))), "ratios": r}


# -- form --------------------------------------------------------------------------------------
FORM_FEATURE_NAMES = FEATURE_NAMES + METER_FEATURE_NAMES


def form_features(perf: Performance) -> np.ndarray:
    """What the form classifier reads of an excerpt: its style statistics (texture, register,
    melodic motion, tonality: :func:`course_lib.style.style_features`) and its rhythm on the
    grid of its shortest common note (:func:`course_lib.style.meter_features`), see
    :data:`FORM_FEATURE_NAMES`.

    Raises:
        ValueError: fewer than eight onsets.
    """
    return np.concatenate([style_features(perf), meter_features(perf)])


def _keep(work_id: str, share: float) -> bool:
    """A stable pseudo-random choice of about ``share`` of the works, by a hash of the id that is
    salted, so that it is independent of the split (:func:`course_lib.corpus.split_of` hashes the id)."""
    return int.from_bytes(hashlib.sha256(f"form judge {work_id}".encode()).digest()[:8], "big") / 2**64 < share


class FormClassifier(ExcerptClassifier):
    """The form of an excerpt (reel, jig, chorale, mass, ...), from :func:`form_features`:
    the judge of the ``form`` control. A multinomial logistic regression with class-balanced
    weights (:class:`course_lib.style.ExcerptClassifier`), fitted on training works and
    scored on held-out ones.

    Args:
        forms: the labels (default: :data:`course_lib.corpus.CONTROL_FORMS`, the forms the
            control knows); works of other forms are left out.
        excerpt_seconds: the length of an excerpt (folk tunes last 20-40 s, so 10 s by default).
        works_per_form: at most this many works of each form are fitted on (a stable choice by
            id), so the thousands of folk songs do not make a fit slow; None for all.

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """

    feature_names = FORM_FEATURE_NAMES

    def __init__(self, forms: Sequence[str] = (), excerpt_seconds: float = 10.0,
                 works_per_form: int | None = 300) -> None:
        if not forms:
            from .corpus.titles import CONTROL_FORMS

            forms = CONTROL_FORMS
        super().__init__(forms, excerpt_seconds)
        self.works_per_form = works_per_form

    def _label(self, work) -> str | None:
        return getattr(work, "form", None)

    def _features(self, perf: Performance) -> np.ndarray:
        return form_features(perf)

    def fit(self, works: Sequence, **options):
        """Fit on up to ``works_per_form`` works of each form (see :meth:`ExcerptClassifier.fit`)."""
        return super().fit(self.thin(works), **options)

    def thin(self, works: Sequence) -> list:
        """At most ``works_per_form`` works of each form, chosen by a hash of their id (the same
        choice on every machine); works of forms the classifier does not know are left out."""
        counts: dict[str, int] = {}
        for w in works:
            if self._label(w) in self.labels:
                counts[w.form] = counts.get(w.form, 0) + 1
        if self.works_per_form is None:
            return [w for w in works if self._label(w) in self.labels]
        share = {form: min(1.0, self.works_per_form / n) for form, n in counts.items()}
        return [w for w in works if self._label(w) in self.labels and _keep(w.id, share[w.form])]


FORM_JUDGE_JSON = "form_judge.json"


def fit_form_judge(works: Sequence) -> tuple[FormClassifier, dict]:
    """Chapter 4's form judge, fitted as chapter 4 fits it (10-s excerpts, two per training work,
    at most 300 works of each form), and its accuracy on the held-out works' excerpts of each
    length of :data:`course_lib.style.JUDGE_SECONDS`, four per work.

    Returns:
        (the judge, ``{seconds: {"accuracy", "balanced_accuracy", "excerpts"}}``).

    Notebook: notebooks/04_time_period_conditioning.ipynb
    """
    judge = FormClassifier().fit([w for w in works if w.split == "train"], excerpts_per_work=2)
    return judge, judge_report(judge, works)


@lru_cache(maxsize=1)
def load_form_judge() -> tuple[FormClassifier, dict]:
    """The shipped form judge (``course_lib/data/form_judge.json``; loaded once) and its held-out
    report by excerpt length, as :func:`fit_form_judge` returns them.

    Notebook: notebooks/00_studio.ipynb
    """
    return load_judge_file(FORM_JUDGE_JSON, FormClassifier)
