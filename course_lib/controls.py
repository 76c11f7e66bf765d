"""Control signals computed from the events themselves, at every event (Performance RNN).

Each signal looks at the notes struck in a window of ``window`` seconds centred on
the event: note density (notes per second), mean velocity, and the pitch-class
histogram; relative position is the event's time over the piece's length. A
control enters a model with an extra first component, the "missing" bit c0::

    known:   [0, c1, c2, ...]
    missing: [1, 0,  0,  ...]

so one model can be asked with or without each control.

Notebook: notebooks/03_control_signals.ipynb
"""

from __future__ import annotations

import numpy as np

from .encoding import PerformanceEncoding

__all__ = [
    "WINDOW_SECONDS", "event_times", "note_density", "mean_velocity", "pitch_class_histogram",
    "relative_position", "with_missing_bit",
]

WINDOW_SECONDS = 3.0


def _clock(events, enc: PerformanceEncoding) -> tuple[np.ndarray, float]:
    """Seconds before each event, and the length of the whole sequence."""
    ids = enc._check_ids(events)
    is_shift = (ids >= enc.time_shift_offset) & (ids < enc.velocity_offset)
    steps = np.cumsum(np.where(is_shift, ids - enc.time_shift_offset + 1, 0))
    before = np.concatenate([[0], steps[:-1]]) if len(steps) else steps
    return before / enc.steps_per_second, (steps[-1] if len(steps) else 0) / enc.steps_per_second


def event_times(events, encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """The clock (seconds) at each event: the time shifts before it, added up.

    Notebook: notebooks/03_control_signals.ipynb
    """
    return _clock(events, encoding or PerformanceEncoding())[0]


def _note_ons(events, enc: PerformanceEncoding):
    ids = enc._check_ids(events)
    times = event_times(ids, enc)
    on = ids < enc.note_off_offset
    return ids, times, times[on], ids[on]


def _window_counts(times: np.ndarray, on_times: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """For each event time, the [first, last) index range of note-ons in its window."""
    if window <= 0:
        raise ValueError(f"the window must be > 0 seconds, got {window}")
    lo = np.searchsorted(on_times, times - window / 2, side="left")
    hi = np.searchsorted(on_times, times + window / 2, side="left")
    return lo, hi


def note_density(events, window: float = WINDOW_SECONDS, encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """Notes struck per second in the window around each event.

    Notebook: notebooks/03_control_signals.ipynb
    """
    enc = encoding or PerformanceEncoding()
    _, times, on_times, _ = _note_ons(events, enc)
    lo, hi = _window_counts(times, on_times, window)
    return (hi - lo) / window


def mean_velocity(events, window: float = WINDOW_SECONDS, encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """Mean MIDI velocity of the notes struck in the window (NaN where none is).

    Notebook: notebooks/03_control_signals.ipynb
    """
    enc = encoding or PerformanceEncoding()
    ids = enc._check_ids(events)
    times = event_times(ids, enc)
    velocities = enc.velocity_in_force(ids)
    on = ids < enc.note_off_offset
    lo, hi = _window_counts(times, times[on], window)
    cum = np.concatenate([[0.0], np.cumsum(velocities[on])])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi > lo, (cum[hi] - cum[lo]) / np.maximum(hi - lo, 1), np.nan)


def pitch_class_histogram(events, window: float = WINDOW_SECONDS,
                          encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """(T, 12): the share of each pitch class among the notes struck in the window
    (all zeros where none is). Index 0 is C.

    Notebook: notebooks/03_control_signals.ipynb
    """
    enc = encoding or PerformanceEncoding()
    _, times, on_times, on_ids = _note_ons(events, enc)
    lo, hi = _window_counts(times, on_times, window)
    onehot = np.zeros((len(on_ids) + 1, 12))
    onehot[np.arange(1, len(on_ids) + 1), on_ids % 12] = 1.0
    cum = np.cumsum(onehot, axis=0)
    counts = cum[hi] - cum[lo]
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def relative_position(events, encoding: PerformanceEncoding | None = None) -> np.ndarray:
    """Each event's time as a share of the sequence's length, 0 to 1.

    Notebook: notebooks/03_control_signals.ipynb
    """
    times, total = _clock(events, encoding or PerformanceEncoding())
    return times / total if total > 0 else np.zeros(len(times))


def with_missing_bit(values, size: int) -> np.ndarray:
    """A control of ``size`` components with its c0 bit in front: ``[0, *values]`` when
    the control is known, ``[1, 0, ..., 0]`` when ``values`` is None. Works on one
    vector (size,) or on one per event (T, size).

    Raises:
        ValueError: values of another size.

    Notebook: notebooks/03_control_signals.ipynb
    """
    if values is None:
        out = np.zeros(size + 1, dtype=np.float32)
        out[0] = 1.0
        return out
    v = np.asarray(values, dtype=np.float32)
    if v.shape[-1:] != (size,):
        raise ValueError(f"this control has {size} components, got values of shape {v.shape}")
    return np.concatenate([np.zeros(v.shape[:-1] + (1,), dtype=np.float32), v], axis=-1)
