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
    "relative_position", "with_missing_bit", "key_index", "KEY_NAMES", "DENSITY_EDGES", "VELOCITY_EDGES",
    "BORN_RANGE", "ControlSpec",
]

WINDOW_SECONDS = 3.0


def _clock(events, enc: PerformanceEncoding) -> tuple[np.ndarray, float]:
    """Seconds before each event, and the length of the whole sequence."""
    steps, total = enc.clock(events)
    return steps / enc.steps_per_second, total / enc.steps_per_second


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
    ids, times, on_times, _ = _note_ons(events, enc)
    lo, hi = _window_counts(times, on_times, window)
    cum = np.concatenate([[0.0], np.cumsum(enc.velocity_in_force(ids)[ids < enc.note_off_offset])])
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


# -- the control vector a model reads ------------------------------------------------------
DENSITY_EDGES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # notes per second: 7 bins, as Performance RNN's log-spaced ones
VELOCITY_EDGES = (16, 32, 48, 64, 80, 96, 112)     # mean MIDI velocity: 8 bins
BORN_RANGE = (1250, 1950)                           # years of birth, scaled to 0–1
_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEY_NAMES = tuple(f"{t} {m}" for m in ("major", "minor") for t in _TONICS)  # the key control's 24 classes
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def key_index(name: str) -> int:
    """Index into :data:`KEY_NAMES` of a major or minor key written like ``"Bb major"``,
    ``"C# minor"`` or ``"e- minor"`` (music21's flat); modal keys (dorian, ...) have none.

    Raises:
        ValueError: anything else, with the form that is expected.
    """
    parts = str(name).split()
    if len(parts) == 2 and parts[1].lower() in ("major", "minor") and parts[0][:1].upper() in _LETTERS:
        accidentals = parts[0][1:].replace("-", "b")
        if set(accidentals) <= {"#", "b"}:
            tonic = (_LETTERS[parts[0][0].upper()] + accidentals.count("#") - accidentals.count("b")) % 12
            return tonic + 12 * (parts[1].lower() == "minor")
    raise ValueError(f"unknown key {name!r}: write a tonic and major or minor, e.g. 'D major' or 'F# minor' "
                     f"(allowed: {', '.join(KEY_NAMES)})")


def _one_hot(index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(index.shape + (size,), dtype=np.float32)
    np.put_along_axis(out, index[..., None], 1.0, axis=-1)
    return out


class ControlSpec:
    """Which controls a model reads, and how each becomes numbers (each with its c0 bit).

    Controls computed from the events: ``density`` (7 one-hot bins of notes per second),
    ``velocity`` (8 one-hot bins of mean velocity), ``position`` (0–1),
    ``pitch_classes`` (12 shares). From the work's metadata: ``period`` (one-hot over
    ``periods``), ``composer`` (one-hot over ``composers``), ``born`` (the composer's
    year of birth, scaled to 0–1 over ``BORN_RANGE``; missing for folk tunes),
    ``group`` (one-hot over the composer's style group, :func:`course_lib.style.load_composer_groups`),
    ``key`` (one-hot over the 24 major and minor keys of :data:`KEY_NAMES`, from the score's
    key signature and moved with the window's transposition; missing for modal tunes and
    scores without one).

    Args:
        names: the controls, in order.
        periods: the period labels the ``period`` control knows.
        composers: the composer names the ``composer`` control knows (default: every
            composer of the corpus's table).
        window: seconds of the window the event-based controls look at.

    Notebook: notebooks/03_control_signals.ipynb
    """

    SIZES = {"density": len(DENSITY_EDGES) + 1, "velocity": len(VELOCITY_EDGES) + 1, "position": 1,
             "pitch_classes": 12, "key": len(KEY_NAMES)}

    def __init__(self, names=("density", "velocity", "position", "pitch_classes"), *, periods=None,
                 composers=None, window: float = WINDOW_SECONDS) -> None:
        from .corpus import PERIODS, composer_table
        from .style import load_composer_groups

        self.periods = tuple(periods or PERIODS)
        self.composers = tuple(composers or sorted({c.name for c in composer_table().values()}))
        self.groups = load_composer_groups()
        sizes = {**self.SIZES, "period": len(self.periods), "composer": len(self.composers), "born": 1,
                 "group": max(self.groups.values()) + 1}
        unknown = [n for n in names if n not in sizes]
        if unknown or not names:
            raise ValueError(f"unknown controls {unknown}; choose from {sorted(sizes)}")
        self.names = tuple(names)
        self.window = window
        self.sizes = {n: sizes[n] for n in self.names}

    @property
    def size(self) -> int:
        """Length of the control vector: each control's components plus its c0 bit."""
        return sum(s + 1 for s in self.sizes.values())

    def __repr__(self) -> str:
        return f"ControlSpec({list(self.names)}, size={self.size})"

    def slices(self) -> dict[str, slice]:
        """Where each control (its c0 bit first) sits in the control vector."""
        out, start = {}, 0
        for name, size in self.sizes.items():
            out[name] = slice(start, start + size + 1)
            start += size + 1
        return out

    def only(self, vectors, given=()):
        """A copy of ``vectors`` (numpy or torch, any leading shape) where every control
        not named in ``given`` is presented as missing, e.g. to ask the model with the
        period alone.

        Raises:
            ValueError: a name this spec does not have.
        """
        unknown = set(given) - set(self.names)
        if unknown:
            raise ValueError(f"this model has no control {sorted(unknown)}; it reads {list(self.names)}")
        out = vectors.clone() if hasattr(vectors, "clone") else np.array(vectors, copy=True)
        for name, where in self.slices().items():
            if name not in given:
                out[..., where] = 0
                out[..., where.start] = 1
        return out

    def _values(self, name: str, events, work, offset: float, piece_seconds: float | None,
                transpose: int) -> np.ndarray | None:
        if name == "density":
            bins = np.searchsorted(DENSITY_EDGES, note_density(events, self.window), side="right")
            return _one_hot(bins, self.sizes[name])
        if name == "velocity":
            v = mean_velocity(events, self.window)
            bins = np.searchsorted(VELOCITY_EDGES, np.nan_to_num(v, nan=0.0), side="right")
            out = _one_hot(bins, self.sizes[name])
            out[np.isnan(v)] = 0.0  # no note in the window: no velocity to tell
            return out
        if name == "position":
            if piece_seconds is None:
                return relative_position(events)[:, None].astype(np.float32)
            where = (offset + event_times(events)) / max(piece_seconds, 1e-9)
            return np.clip(where, 0.0, 1.0)[:, None].astype(np.float32)
        if name == "pitch_classes":
            return pitch_class_histogram(events, self.window).astype(np.float32)
        if name == "key":
            try:
                index = key_index(getattr(work, "key", None))
            except ValueError:
                return None  # no key signature, or a modal one: missing
            value = KEY_NAMES[(index % 12 + transpose) % 12 + 12 * (index >= 12)]
        elif name == "group":
            value = self.groups.get(getattr(work, "composer", None))
        else:  # period, composer, born
            value = getattr(work, name, None)
        known = {"period": self.periods, "composer": self.composers}.get(name)
        if value is None or (known is not None and value not in known):
            return None  # not in the metadata (folk tunes have no year of birth): missing
        return np.broadcast_to(self._request_one(name, value), (len(events), self.sizes[name]))

    def _encode_label(self, name: str, value: str, labels: tuple[str, ...]) -> np.ndarray:
        if value not in labels:
            raise ValueError(f"unknown {name} {value!r}; allowed: {list(labels)}")
        return _one_hot(np.array(labels.index(value)), len(labels))

    def vectors(self, events, work=None, *, drop=(), offset: float = 0.0,
                piece_seconds: float | None = None, transpose: int = 0) -> np.ndarray:
        """(T, size) control vectors for every event of a window.

        Args:
            events: the window's event ids.
            work: the window's work (for metadata controls such as ``period``).
            drop: names of controls to present as missing (c0 = 1), e.g. chosen at random
                during training so one model can be asked with or without each.
            offset, piece_seconds: where the window starts in its piece and how long the
                piece is, for ``position`` (default: the window is the whole piece).
            transpose: semitones the window was transposed by (augmentation), for ``key``.
        """
        n = len(events)
        parts = []
        for name in self.names:
            values = None if name in drop else self._values(name, events, work, offset, piece_seconds, transpose)
            parts.append(np.broadcast_to(with_missing_bit(None, self.sizes[name]), (n, self.sizes[name] + 1))
                         if values is None else with_missing_bit(values, self.sizes[name]))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def request(self, **values) -> np.ndarray:
        """One control vector (size,) from requested values; controls not named are missing.

        ``density`` in notes per second, ``velocity`` a MIDI velocity 1–127, ``position``
        0–1, ``pitch_classes`` 12 non-negative weights (normalised here), ``period`` and
        ``composer`` names, ``group`` a group number, ``key`` a name such as ``"D minor"``,
        ``born`` a year within ``BORN_RANGE``.

        Raises:
            ValueError: an unknown control, a value out of range or of the wrong size,
                an unknown period (each message lists what is allowed).
        """
        unknown = set(values) - set(self.names)
        if unknown:
            raise ValueError(f"this model has no control {sorted(unknown)}; it reads {list(self.names)}")
        parts = []
        for name in self.names:
            value = values.get(name)
            parts.append(with_missing_bit(None if value is None else self._request_one(name, value),
                                          self.sizes[name]))
        return np.concatenate(parts)

    def _request_one(self, name: str, value) -> np.ndarray:
        if name == "density":
            if not 0 <= float(value) <= 100:
                raise ValueError(f"density is notes per second, 0–100; got {value}")
            return _one_hot(np.array(np.searchsorted(DENSITY_EDGES, float(value), side="right")), self.sizes[name])
        if name == "velocity":
            if not 1 <= float(value) <= 127:
                raise ValueError(f"velocity is a MIDI velocity, 1–127; got {value}")
            return _one_hot(np.array(np.searchsorted(VELOCITY_EDGES, float(value), side="right")), self.sizes[name])
        if name == "position":
            if not 0 <= float(value) <= 1:
                raise ValueError(f"position is a share of the piece, 0–1; got {value}")
            return np.array([value], dtype=np.float32)
        if name == "pitch_classes":
            v = np.asarray(value, dtype=np.float32)
            if v.shape != (12,) or (v < 0).any() or v.sum() <= 0:
                raise ValueError(f"pitch_classes needs 12 non-negative weights (C, C#, …, B), got {v.tolist()}")
            return v / v.sum()
        if name == "key":
            return _one_hot(np.array(key_index(value)), self.sizes[name])
        if name == "group":
            if value not in range(self.sizes[name]):
                raise ValueError(f"unknown composer group {value!r}; allowed: 0–{self.sizes[name] - 1}")
            return _one_hot(np.array(value), self.sizes[name])
        if name == "born":
            low, high = BORN_RANGE
            if not low <= float(value) <= high:
                raise ValueError(f"born is a year of birth, {low}–{high}; got {value}")
            return np.array([(float(value) - low) / (high - low)], dtype=np.float32)
        return self._encode_label(name, value, self.periods if name == "period" else self.composers)
