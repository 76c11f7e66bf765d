"""Data augmentation as in Performance RNN: transposition and time stretch.

A piece played a tone higher or 5 % slower is still music of the same style, so
training on such variants multiplies the data for free. Transpositions go up to
±6 semitones (an octave in all), never pushing a note out of 0–127; time
stretches are ±2.5 % and ±5 %.

Notebook: notebooks/01_event_encoding.ipynb
"""

from __future__ import annotations

import numpy as np

from .performance import Performance

__all__ = ["MAX_TRANSPOSE", "STRETCH_FACTORS", "allowed_transpositions", "random_augment"]

MAX_TRANSPOSE = 6
STRETCH_FACTORS = (0.95, 0.975, 1.0, 1.025, 1.05)


def allowed_transpositions(performance: Performance, max_semitones: int = MAX_TRANSPOSE) -> range:
    """The shifts in ``-max_semitones … +max_semitones`` that keep every note in 0–127.

    Args:
        performance: the notes to transpose.
        max_semitones: the largest shift either way.

    Returns:
        A ``range`` of semitone shifts (always contains 0).
    """
    if len(performance) == 0:
        return range(-max_semitones, max_semitones + 1)
    low = max(-max_semitones, -int(performance.pitch.min()))
    high = min(max_semitones, 127 - int(performance.pitch.max()))
    return range(low, high + 1)


def random_augment(
    performance: Performance,
    rng: np.random.Generator,
    *,
    max_semitones: int = MAX_TRANSPOSE,
    stretch_factors: tuple[float, ...] = STRETCH_FACTORS,
) -> tuple[Performance, int, float]:
    """Transpose and stretch a performance by a random allowed amount.

    Args:
        performance: the notes.
        rng: numpy random generator (the caller seeds it, so a data set is reproducible).
        max_semitones: the largest transposition either way.
        stretch_factors: the time-stretch factors to draw from.

    Returns:
        ``(augmented performance, semitones, stretch factor)``.
    """
    shifts = allowed_transpositions(performance, max_semitones)
    semitones = int(rng.integers(shifts.start, shifts.stop))
    factor = float(stretch_factors[int(rng.integers(len(stretch_factors)))])
    out = performance.transpose(semitones) if semitones else performance
    return (out.stretch(factor) if factor != 1.0 else out), semitones, factor
