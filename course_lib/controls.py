"""Control signals (chapter 3), computed from the events themselves at every event
(Performance RNN), or read from a work's metadata (chapter 4).

Each signal looks at the notes struck in a window of ``window`` seconds centred on
the event: note density (notes per second), mean velocity, and the pitch-class
histogram; relative position is the event's time over the piece's length. A
control enters a model with an extra first component, the "missing" bit c0::

    known:   [0, c1, c2, ...]
    missing: [1, 0,  0,  ...]

so one model can be asked with or without each control.

Where each control is defined: :data:`CONTROLS`, one table with, for every control, its
size, how it is computed from the events (or read from the metadata), how a requested
value is parsed and encoded, how the studio offers it, and how it is measured back on
generated notes. :class:`ControlSpec` turns a model's list of controls into vectors.

Notebook: notebooks/03_control_signals.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .encoding import PerformanceEncoding
from .style import PITCH_NAMES, SCALES, estimate_key, scale_profile

__all__ = [
    "WINDOW_SECONDS", "event_times", "note_density", "mean_velocity", "pitch_class_histogram",
    "relative_position", "with_missing_bit", "key_index", "KEY_NAMES", "DENSITY_EDGES", "VELOCITY_EDGES",
    "BORN_RANGE", "TEMPO_EDGES", "ControlOption", "Control", "CONTROLS", "ControlSpec",
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
TEMPO_EDGES = (60, 80, 100, 116, 132, 160, 200)     # quarter notes per minute: 8 bins
KEY_NAMES = tuple(f"{t} {m}" for m in SCALES for t in PITCH_NAMES)  # the key control's 24 classes
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


@dataclass(frozen=True)
class ControlOption:
    """How a control can be set in the studio: ``kind`` is ``"choice"`` (``choices``:
    label → value) or ``"number"`` (``low``, ``high``, ``step``); ``default`` is a first value to offer.

    Notebook: notebooks/00_studio.ipynb
    """

    name: str
    kind: str
    default: object
    choices: dict = field(default_factory=dict)
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1
    unit: str = ""

    def label(self, value) -> str:
        """How a value is shown: its choice's label (weights match whatever their scale),
        the number with its unit, or ``"not given"`` for None."""
        if value is None:
            return "not given"
        if self.kind == "number":
            return f"{value:g} {self.unit}".strip()
        if np.ndim(value):
            weights = np.asarray(value, dtype=float)
            share = weights / max(weights.sum(), 1e-9)
            same = (label for label, v in self.choices.items()
                    if np.shape(v) == weights.shape and np.allclose(np.asarray(v) / sum(v), share))
            return next(same, "weights " + ", ".join(f"{x:g}" for x in weights))
        return next((label for label, v in self.choices.items() if v == value), str(value))


@dataclass(frozen=True)
class Control:
    """Everything about one control signal; a row of :data:`CONTROLS`.

    Attributes:
        size: ``size(spec)``, its number of components (the c0 bit not counted).
        encode: ``encode(spec, value)``, the (size,) components of a requested value.
            Raises ValueError saying what is allowed.
        parse: text from the command line (``--control NAME=TEXT``) → a value for ``encode``.
        option: ``option(spec)``, the :class:`ControlOption` the studio offers.
        from_events: ``from_events(spec, events, offset, piece_seconds)``, (T, size) values
            computed from a window's events; or None for a control read from metadata:
        from_work: ``from_work(spec, work, transpose)``, the work's value as a request
            would give it (then ``encode``d), None where the work does not tell (missing).
        measure: ``measure(performance, seconds, requested)``, what the generated notes show,
            as text; None: not measurable from the notes.
        measured_always: the studio shows the measurement even for a model without this control.

    Notebook: notebooks/03_control_signals.ipynb
    """

    name: str
    size: Callable
    encode: Callable
    parse: Callable[[str], object]
    option: Callable
    from_events: Callable | None = None
    from_work: Callable | None = None
    measure: Callable | None = None
    measured_always: bool = False


# -- the parts the table is made of -----------------------------------------------------------
# Computed from a window's events: (spec, events, offset, piece_seconds) → (T, size) values.
def _density(spec, events, offset, piece_seconds):
    bins = np.searchsorted(DENSITY_EDGES, note_density(events, spec.window), side="right")
    return _one_hot(bins, len(DENSITY_EDGES) + 1)


def _velocity(spec, events, offset, piece_seconds):
    v = mean_velocity(events, spec.window)
    bins = np.searchsorted(VELOCITY_EDGES, np.nan_to_num(v, nan=0.0), side="right")
    out = _one_hot(bins, len(VELOCITY_EDGES) + 1)
    out[np.isnan(v)] = 0.0  # no note in the window: no velocity to tell
    return out


def _position(spec, events, offset, piece_seconds):
    if piece_seconds is None:
        return relative_position(events)[:, None].astype(np.float32)
    where = (offset + event_times(events)) / max(piece_seconds, 1e-9)
    return np.clip(where, 0.0, 1.0)[:, None].astype(np.float32)


def _pitch_classes(spec, events, offset, piece_seconds):
    return pitch_class_histogram(events, spec.window).astype(np.float32)


# Read from the work's metadata: (spec, work, transpose) → a value as a request gives it, or None (missing).
def _work_key(spec, work, transpose):
    try:
        index = key_index(getattr(work, "key", None))
    except ValueError:
        return None  # no key signature, or a modal one: missing
    return KEY_NAMES[(index % 12 + transpose) % 12 + 12 * (index >= 12)]


def _work_label(attribute: str, labels_of):
    """Reads ``work.<attribute>``; a value the spec does not know is missing."""
    def read(spec, work, transpose):
        value = getattr(work, attribute, None)
        return value if value in labels_of(spec) else None
    return read


def _periods(spec):
    return spec.periods


def _composers(spec):
    return spec.composers


def _forms(spec):
    return spec.forms


def _work_tempo(spec, work, transpose):
    """The tempo the work's notes are played at (a metronome mark); a tempo word's rough value,
    or a tempo the performance does not follow, is missing (see course_lib.corpus.titles).
    A window's time stretch (±5 %) is not applied: at most one bin off, near an edge."""
    from .corpus.titles import SOUNDING_TEMPO_SOURCES

    return getattr(work, "tempo", None) if getattr(work, "tempo_source", None) in SOUNDING_TEMPO_SOURCES else None


# Encoded: (spec, requested value) → (size,) components, or a ValueError that says what is allowed.
def _in_range(name: str, value, low, high, meaning: str) -> float:
    if not low <= float(value) <= high:
        raise ValueError(f"{name} is {meaning}, {low}–{high}; got {value}")
    return float(value)


def _binned(name: str, edges, low, high, meaning: str):
    """The encoder of a number put into one-hot bins between ``edges``."""
    def encode(spec, value):
        value = _in_range(name, value, low, high, meaning)
        return _one_hot(np.array(np.searchsorted(edges, value, side="right")), len(edges) + 1)
    return encode


def _labelled(name: str, labels_of):
    """The encoder of a label among ``labels_of(spec)`` (one-hot)."""
    def encode(spec, value):
        labels = labels_of(spec)
        if value not in labels:
            raise ValueError(f"unknown {name} {value!r}; allowed: {list(labels)}")
        return _one_hot(np.array(labels.index(value)), len(labels))
    return encode


def _encode_position(spec, value):
    return np.array([_in_range("position", value, 0, 1, "a share of the piece")], dtype=np.float32)


def _encode_weights(spec, value):
    v = np.asarray(value, dtype=np.float32)
    if v.shape != (12,) or not np.isfinite(v).all() or (v < 0).any() or v.sum() <= 0:
        raise ValueError(f"pitch_classes needs 12 non-negative weights, all finite (C, C#, …, B), got {v.tolist()}")
    return v / v.sum()


def _encode_key(spec, value):
    return _one_hot(np.array(key_index(value)), len(KEY_NAMES))


def _encode_born(spec, value):
    low, high = BORN_RANGE
    return np.array([(_in_range("born", value, low, high, "a year of birth") - low) / (high - low)], dtype=np.float32)


def _encode_group(spec, value):
    if value not in range(spec.sizes["group"]):
        raise ValueError(f"unknown composer group {value!r}; allowed: 0–{spec.sizes['group'] - 1}")
    return _one_hot(np.array(value), spec.sizes["group"])


# Parsed: command-line text → a value, or a ValueError that says what the text needs.
def _parser(convert, needs: str = "needs a number"):
    def parse(text: str):
        try:
            return convert(text)
        except ValueError:
            raise ValueError(needs) from None
    return parse


_number, _whole_number = _parser(float), _parser(int)
_numbers = _parser(lambda text: [float(v) for v in text.split(",")],
                   "needs a number for each of the 12 pitch classes, separated by commas")


# Offered in the studio: spec → ControlOption.
def _number_option(name, default, low, high, step, unit):
    """A number between ``low`` and ``high``."""
    return lambda spec: ControlOption(name, "number", default, low=low, high=high, step=step, unit=unit)


def _choice(name: str, labels_of):
    """A choice among ``labels_of(spec)`` (each its own value; the first offered)."""
    def option(spec):
        labels = labels_of(spec)
        return ControlOption(name, "choice", labels[0], choices={label: label for label in labels})
    return option


def _scale_choices(spec):
    choices = {f"{k} scale": tuple(scale_profile(k).tolist()) for k in KEY_NAMES}
    choices["all twelve (chromatic)"] = (1.0,) * 12
    return ControlOption("pitch_classes", "choice", choices["C major scale"], choices=choices)


def _group_choices(spec):
    members: dict[int, list[str]] = {}
    for composer, group in sorted(spec.groups.items()):
        members.setdefault(group, []).append(composer)
    choices = {f"{g}: {', '.join(members.get(g, [])[:3])}{', …' if len(members.get(g, [])) > 3 else ''}": g
               for g in range(spec.sizes["group"])}
    return ControlOption("group", "choice", 0, choices=choices)


# Measured on generated notes: (performance, seconds asked for, requested value or None) → text.
def _estimated_key(performance) -> str:
    return estimate_key(performance)[0] if len(performance) else "no notes"


def _measured_density(performance, seconds, requested) -> str:
    return f"{len(performance) / seconds:.2f} notes/s"


def _measured_velocity(performance, seconds, requested) -> str:
    return f"{performance.velocity.mean():.0f} MIDI velocity" if len(performance) else "no notes"


def _measured_tempo(performance, seconds, requested) -> str:
    from .tempo_form import estimate_tempo

    try:
        return f"{estimate_tempo(performance):.0f} BPM (estimated)"
    except ValueError:
        return "too few notes"


def _measured_key(performance, seconds, requested) -> str:
    return f"{_estimated_key(performance)} (estimated)"


def _in_scale(performance, seconds, requested) -> str:
    if requested is None or not len(performance):
        return f"{_estimated_key(performance)} (estimated key)"
    histogram = np.bincount(performance.pitch % 12, minlength=12).astype(float)
    return f"{histogram @ (np.asarray(requested) > 0) / max(histogram.sum(), 1):.0%} of notes in the set"


def _sized(size: int):
    return lambda spec: size


# One row per control: adding a control adds a row here (ControlSpec, the command line and the
# studio read this table; the units of requests are in ControlSpec.request).
CONTROLS: dict[str, Control] = {c.name: c for c in (
    Control("density", size=_sized(len(DENSITY_EDGES) + 1), from_events=_density,
            encode=_binned("density", DENSITY_EDGES, 0, 100, "notes per second"), parse=_number,
            option=_number_option("density", 4.0, 0.5, 32.0, 0.5, "notes/s"),
            measure=_measured_density, measured_always=True),
    Control("velocity", size=_sized(len(VELOCITY_EDGES) + 1), from_events=_velocity,
            encode=_binned("velocity", VELOCITY_EDGES, 1, 127, "a MIDI velocity"), parse=_number,
            option=_number_option("velocity", 64, 1, 127, 1, "MIDI velocity"),
            measure=_measured_velocity, measured_always=True),
    Control("position", size=_sized(1), from_events=_position, encode=_encode_position, parse=_number,
            option=_number_option("position", 0.5, 0.0, 1.0, 0.05, "share of the piece"),
            measure=lambda performance, seconds, requested: "—"),
    Control("pitch_classes", size=_sized(12), from_events=_pitch_classes, encode=_encode_weights, parse=_numbers,
            option=_scale_choices, measure=_in_scale),
    Control("key", size=_sized(len(KEY_NAMES)), from_work=_work_key, encode=_encode_key, parse=str,
            option=_choice("key", lambda spec: KEY_NAMES), measure=_measured_key, measured_always=True),
    Control("period", size=lambda spec: len(spec.periods), from_work=_work_label("period", _periods),
            encode=_labelled("period", _periods), parse=str, option=_choice("period", _periods)),
    Control("composer", size=lambda spec: len(spec.composers), from_work=_work_label("composer", _composers),
            encode=_labelled("composer", _composers), parse=str, option=_choice("composer", _composers)),
    Control("born", size=_sized(1), from_work=lambda spec, work, transpose: getattr(work, "born", None),
            encode=_encode_born, parse=_number, option=_number_option("born", 1750, *BORN_RANGE, 10, "year")),
    Control("group", size=lambda spec: max(spec.groups.values()) + 1,
            from_work=lambda spec, work, transpose: spec.groups.get(getattr(work, "composer", None)),
            encode=_encode_group, parse=_whole_number, option=_group_choices),
    Control("tempo", size=_sized(len(TEMPO_EDGES) + 1), from_work=_work_tempo,
            encode=_binned("tempo", TEMPO_EDGES, 20, 400, "quarter notes per minute"), parse=_number,
            option=_number_option("tempo", 120, 40, 240, 4, "BPM"), measure=_measured_tempo, measured_always=True),
    Control("form", size=lambda spec: len(spec.forms), from_work=_work_label("form", _forms),
            encode=_labelled("form", _forms), parse=str, option=_choice("form", _forms)),
)}


class ControlSpec:
    """Which controls a model reads, and how each becomes numbers (each with its c0 bit).

    Every control is a row of :data:`CONTROLS`. Computed from the events: ``density`` (7 one-hot
    bins of notes per second), ``velocity`` (8 one-hot bins of mean velocity), ``position``
    (0–1), ``pitch_classes`` (12 shares). From the work's metadata: ``key`` (one-hot over the 24
    keys of :data:`KEY_NAMES`, moved with the window's transposition; missing for modal tunes),
    ``period``, ``composer`` and ``group`` (one-hot; groups from
    :func:`course_lib.style.load_composer_groups`), ``born`` (the composer's year of birth
    scaled over ``BORN_RANGE``; missing for folk tunes), ``tempo`` (8 one-hot bins of quarter
    notes per minute over :data:`TEMPO_EDGES`; only a metronome mark the notes follow, else
    missing) and ``form`` (one-hot over ``forms``; other forms missing).

    Args:
        names: the controls, in order.
        periods: the period labels the ``period`` control knows.
        composers: the composer names the ``composer`` control knows (default: every
            composer of the corpus's table).
        forms: the forms the ``form`` control knows (default :data:`course_lib.corpus.CONTROL_FORMS`,
            those with enough training works).
        window: seconds of the window the event-based controls look at.

    Notebook: notebooks/03_control_signals.ipynb
    """

    def __init__(self, names=("density", "velocity", "position", "pitch_classes"), *, periods=None,
                 composers=None, forms=None, window: float = WINDOW_SECONDS) -> None:
        from .corpus import CONTROL_FORMS, PERIODS, composer_table
        from .style import load_composer_groups

        self.periods = tuple(periods or PERIODS)
        self.forms = tuple(forms or CONTROL_FORMS)
        self.composers = tuple(composers or sorted({c.name for c in composer_table().values()}))
        self.groups = load_composer_groups()
        unknown = [n for n in names if n not in CONTROLS]
        if unknown or not names:
            raise ValueError(f"unknown controls {unknown}; choose from {sorted(CONTROLS)}")
        self.names = tuple(names)
        self.window = window
        self.sizes = {n: CONTROLS[n].size(self) for n in self.names}

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

    def _check_names(self, names) -> None:
        unknown = set(names) - set(self.names)
        if unknown:
            raise ValueError(f"this model has no control {sorted(unknown)}; it reads {list(self.names)}")

    def only(self, vectors, given=()):
        """A copy of ``vectors`` (numpy or torch, any leading shape) where every control
        not named in ``given`` is presented as missing, e.g. to ask the model with the
        period alone.

        Raises:
            ValueError: a name this spec does not have.
        """
        self._check_names(given)
        out = vectors.clone() if hasattr(vectors, "clone") else np.array(vectors, copy=True)
        for name, where in self.slices().items():
            if name not in given:
                out[..., where] = 0
                out[..., where.start] = 1
        return out

    def _values(self, name: str, events, work, offset: float, piece_seconds: float | None,
                transpose: int) -> np.ndarray | None:
        """(T, size) values of one control for a window's events, None when missing."""
        control = CONTROLS[name]
        if control.from_events is not None:
            return control.from_events(self, events, offset, piece_seconds)
        value = control.from_work(self, work, transpose)
        if value is None:
            return None  # not in the metadata (folk tunes have no year of birth): missing
        return np.broadcast_to(control.encode(self, value), (len(events), self.sizes[name]))

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
        0–1, ``pitch_classes`` 12 non-negative weights (normalised here), ``key`` a name such
        as ``"D minor"``, ``period`` and ``composer`` names, ``born`` a year within
        ``BORN_RANGE``, ``group`` a group number, ``tempo`` quarter notes per minute, ``form``
        a form such as ``"jig"`` (see :data:`CONTROLS`).

        Raises:
            ValueError: an unknown control, a value out of range or of the wrong size,
                an unknown period (each message lists what is allowed).
        """
        self._check_names(values)
        parts = []
        for name in self.names:
            value = values.get(name)
            parts.append(with_missing_bit(None if value is None else self._request_one(name, value),
                                          self.sizes[name]))
        return np.concatenate(parts)

    def _request_one(self, name: str, value) -> np.ndarray:
        return CONTROLS[name].encode(self, value)

    def parse(self, name: str, text: str):
        """A value for ``name`` from text, as typed on the command line (``density=6``,
        ``pitch_classes=1,0,1,…``); a name this spec does not read is refused by :meth:`request`.

        Raises:
            ValueError: text that is not what the control needs (e.g. "needs a number").
        """
        return CONTROLS[name].parse(text) if name in CONTROLS else text

    def option(self, name: str) -> ControlOption:
        """How the studio offers ``name`` (choices or a number range)."""
        self._check_names([name])
        return CONTROLS[name].option(self)
