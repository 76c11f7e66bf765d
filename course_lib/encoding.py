"""The Performance RNN event vocabulary (Oore et al. 2018, arXiv 1808.03715).

A performance becomes a stream of 388 kinds of events::

    0–127    NOTE_ON(pitch)      a key goes down
    128–255  NOTE_OFF(pitch)     a key comes up
    256–355  TIME_SHIFT(n)       the clock moves on by n × 10 ms, n = 1…100
    356–387  VELOCITY(bin)       later note-ons play this loud (32 bins)

Time is quantised to 10 ms; a longer silence is several shifts of at most 1 s.
A velocity event is written only when the velocity bin changes.

Conventions this encoding keeps on purpose (:func:`convention_counts` counts each over
a set of performances; Chapter 1 prints them for the whole corpus):

* **One key, one note.** Two notes of one pitch struck in the same 10 ms step become one:
  the longer is kept. A note still sounding when its pitch is struck again ends there.
  Magenta's Performance RNN keeps both notes in either case (two NOTE_ONs of the pitch);
  its decoder then lets a NOTE_OFF end the *oldest* sounding note of that pitch.
* **Order within a step.** After the step's time shifts come all its NOTE_OFFs, by pitch,
  then its VELOCITY/NOTE_ON pairs, by pitch; so a key released and struck again in one
  step stays two notes. Magenta orders a step's events by note (onset time, then pitch),
  each note's NOTE_ON before its NOTE_OFF.
* **Decoded velocity.** A VELOCITY bin decodes to the middle of its range (bin 15 of 32
  plays 63). Magenta decodes a bin to its lowest velocity (1 + 4 × (bin − 1), bins from 1).
* **Before any VELOCITY event** a note-on plays ``default_velocity`` (64, so 63 after
  binning). An encoded performance never needs it (a VELOCITY event precedes its first
  NOTE_ON); generated streams may. Magenta's ``to_sequence`` takes ``velocity=100``.
* Times round to the nearest step, halves up; a note keeps at least one step (Magenta
  quantises the same way).

Notebook: notebooks/01_event_encoding.ipynb
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .performance import Performance

__all__ = [
    "PerformanceEncoding", "EVENT_KINDS", "split_time_shift", "convention_counts", "MAX_NOTE_SECONDS", "MAX_EVENTS",
]

EVENT_KINDS = ("NOTE_ON", "NOTE_OFF", "TIME_SHIFT", "VELOCITY")

MAX_NOTE_SECONDS = 300.0
"""Notes longer than this are cut when encoded (the corpus's longest lasts 184 s)."""

MAX_EVENTS = 5_000_000
"""The most events one encoding may hold (the corpus's longest work needs about 10⁵)."""


def split_time_shift(steps: int, max_shift: int = 100) -> list[int]:
    """Split a silence of ``steps`` clock steps into shifts of at most ``max_shift``.

    Args:
        steps: the gap, in steps (>= 0).
        max_shift: the longest single shift.

    Returns:
        Shift lengths that add up to ``steps``, all ``max_shift`` but the last.
        E.g. ``split_time_shift(250) == [100, 100, 50]``.
    """
    if steps < 0:
        raise ValueError(f"a time shift cannot be negative, got {steps}")
    full, rest = divmod(int(steps), max_shift)
    return [max_shift] * full + ([rest] if rest else [])


@dataclass(frozen=True)
class PerformanceEncoding:
    """Encode performances as event ids and decode any id sequence back.

    Args:
        steps_per_second: clock resolution (100 = 10 ms steps).
        max_shift_steps: the longest single TIME_SHIFT, in steps (100 = 1 s).
        velocity_bins: how many loudness levels (MIDI velocities 1–127 are binned).
        default_velocity: notes decoded before any VELOCITY event play at this
            velocity's bin.
    """

    steps_per_second: int = 100
    max_shift_steps: int = 100
    velocity_bins: int = 32
    default_velocity: int = 64

    def __post_init__(self) -> None:
        if not (1 <= self.velocity_bins <= 127):
            raise ValueError(f"velocity_bins must be in 1–127, got {self.velocity_bins}")
        if self.steps_per_second < 1 or self.max_shift_steps < 1:
            raise ValueError("steps_per_second and max_shift_steps must be >= 1")

    # -- the vocabulary -----------------------------------------------------------------
    @property
    def note_on_offset(self) -> int:
        return 0

    @property
    def note_off_offset(self) -> int:
        return 128

    @property
    def time_shift_offset(self) -> int:
        return 256

    @property
    def velocity_offset(self) -> int:
        return 256 + self.max_shift_steps

    @property
    def vocab_size(self) -> int:
        """Number of distinct events (388 with the defaults)."""
        return self.velocity_offset + self.velocity_bins

    @property
    def _bin_width(self) -> int:
        return -(-127 // self.velocity_bins)  # ceil(127 / bins): 4 for 32 bins

    def note_on(self, pitch: int) -> int:
        return self.note_on_offset + _check(pitch, 0, 127, "pitch")

    def note_off(self, pitch: int) -> int:
        return self.note_off_offset + _check(pitch, 0, 127, "pitch")

    def time_shift(self, steps: int) -> int:
        return self.time_shift_offset + _check(steps, 1, self.max_shift_steps, "time-shift steps") - 1

    def velocity(self, bin_: int) -> int:
        return self.velocity_offset + _check(bin_, 0, self.velocity_bins - 1, "velocity bin")

    def velocity_to_bin(self, velocity):
        """MIDI velocity 1–127 → bin 0…bins-1 (works on numbers and arrays)."""
        v = np.clip(np.asarray(velocity), 1, 127)
        return (v - 1) // self._bin_width

    def bin_to_velocity(self, bin_):
        """Bin → the MIDI velocity in the middle of the bin (works on numbers and arrays)."""
        b = np.asarray(bin_)
        return np.minimum(127, 1 + b * self._bin_width + self._bin_width // 2)

    def quantize(self, seconds) -> np.ndarray:
        """Seconds → clock steps, rounding halves up (so shifting by whole steps commutes)."""
        return np.floor(np.asarray(seconds, dtype=np.float64) * self.steps_per_second + 0.5).astype(np.int64)

    def event_kind(self, events) -> np.ndarray:
        """Index into ``EVENT_KINDS`` for each event id."""
        ids = self._check_ids(events)
        return np.searchsorted(
            [self.note_off_offset, self.time_shift_offset, self.velocity_offset], ids, side="right"
        )

    def event_name(self, event: int) -> str:
        """A readable name: ``NOTE_ON(60)``, ``TIME_SHIFT(250 ms)``, ``VELOCITY(17)``."""
        e = int(self._check_ids([event])[0])
        if e < self.note_off_offset:
            return f"NOTE_ON({e})"
        if e < self.time_shift_offset:
            return f"NOTE_OFF({e - self.note_off_offset})"
        if e < self.velocity_offset:
            ms = (e - self.time_shift_offset + 1) * 1000 / self.steps_per_second
            return f"TIME_SHIFT({ms:g} ms)"
        return f"VELOCITY({e - self.velocity_offset})"

    def event_names(self, events) -> list[str]:
        return [self.event_name(e) for e in np.asarray(events).reshape(-1)]

    # -- encode -------------------------------------------------------------------------
    def encode(self, performance: Performance, *, max_events: int | None = None) -> np.ndarray:
        """Performance → event ids (int16 array).

        Times are rounded to the clock; a note keeps at least one step; a note
        that still sounds when the same pitch is struck again is ended there
        (a key cannot go down twice). Notes longer than ``MAX_NOTE_SECONDS`` are cut
        to it, with a warning.

        Args:
            performance: the notes.
            max_events: only the first ``max_events`` events (e.g. a primer); only the
                notes that can reach them are encoded, so a long file costs what its
                opening costs.

        Raises:
            ValueError: the encoding would hold more than ``MAX_EVENTS`` events (a
                performance days long); cut it first with ``performance.slice``.
        """
        if max_events is not None:
            return self.encode(self._opening(performance, int(max_events)))[:max(int(max_events), 0)]
        if len(performance) == 0:
            return np.zeros(0, dtype=np.int16)
        performance = self._bounded(performance)
        on = self.quantize(performance.start)
        off = self.quantize(performance.end)
        off = np.maximum(off, on + 1)
        pitch = performance.pitch.astype(np.int64)
        vbin = self.velocity_to_bin(performance.velocity).astype(np.int64)

        # One note per (pitch, onset step): keep the longest; then end each note
        # no later than the next onset of its pitch.
        order = np.lexsort((-off, on, pitch))
        pitch, on, off, vbin = pitch[order], on[order], off[order], vbin[order]
        first = np.ones(len(pitch), bool)
        first[1:] = (pitch[1:] != pitch[:-1]) | (on[1:] != on[:-1])
        pitch, on, off, vbin = pitch[first], on[first], off[first], vbin[first]
        same_next = np.zeros(len(pitch), bool)
        same_next[:-1] = pitch[1:] == pitch[:-1]
        off[:-1] = np.where(same_next[:-1], np.minimum(off[:-1], on[1:]), off[:-1])

        # Note-ons in time order, each preceded by a velocity event when the bin changes.
        by_time = np.lexsort((pitch, on))
        on_t, on_p, on_v = on[by_time], pitch[by_time], vbin[by_time]
        changes = np.ones(len(on_v), bool)
        changes[1:] = on_v[1:] != on_v[:-1]
        rank = np.arange(len(on_t))

        off_sorted = np.lexsort((pitch, off))
        off_t, off_p = off[off_sorted], pitch[off_sorted]

        # Time shifts before each new time point.
        times = np.unique(np.concatenate([on_t, off_t]))
        gaps = np.diff(np.concatenate([[0], times]))
        n_shifts = -(-gaps // self.max_shift_steps)  # ceil
        shift_time = np.repeat(times, n_shifts)
        within = np.arange(n_shifts.sum()) - np.repeat(np.cumsum(n_shifts) - n_shifts, n_shifts)
        gap_of = np.repeat(gaps, n_shifts)
        shift_len = np.minimum(self.max_shift_steps, gap_of - within * self.max_shift_steps)

        # Sort everything by (time, phase, order within the phase):
        # phase 0 shifts, 1 note-offs, 2 velocity + note-on pairs.
        ids = np.concatenate([
            self.time_shift_offset + shift_len - 1,
            self.note_off_offset + off_p,
            self.velocity_offset + on_v[changes],
            self.note_on_offset + on_p,
        ])
        time = np.concatenate([shift_time, off_t, on_t[changes], on_t])
        phase = np.concatenate([
            np.zeros(len(shift_time)), np.ones(len(off_t)),
            np.full(changes.sum(), 2), np.full(len(on_t), 2),
        ])
        sub = np.concatenate([within, np.arange(len(off_t)), 2 * rank[changes], 2 * rank + 1])
        return ids[np.lexsort((sub, phase, time))].astype(np.int16)

    def _opening(self, performance: Performance, n: int) -> Performance:
        """The notes the first ``n`` events can hold. Those events lie within ``n`` longest
        shifts of the start; a stand-in note just beyond keeps the time shifts towards
        later notes as they are."""
        reach = (n + 2) * self.max_shift_steps / self.steps_per_second
        opening = performance.slice(0.0, reach)
        if (performance.start >= reach).any():
            stand_in = Performance.from_notes([(0, 1, reach, reach + 1.0)])
            opening = Performance(*(np.concatenate([getattr(opening, f), getattr(stand_in, f)])
                                    for f in ("pitch", "velocity", "start", "end")), performance.program)
        return opening

    def _bounded(self, performance: Performance) -> Performance:
        """Cut over-long notes (with a warning) and refuse what would not fit in memory."""
        too_long = (performance.end - performance.start) > MAX_NOTE_SECONDS
        if too_long.any():
            warnings.warn(f"{int(too_long.sum())} note(s) longer than {MAX_NOTE_SECONDS:.0f} s were cut to "
                          f"{MAX_NOTE_SECONDS:.0f} s (the corpus's longest note lasts about 3 minutes)", stacklevel=3)
            end = np.minimum(performance.end, performance.start + MAX_NOTE_SECONDS)
            performance = Performance(performance.pitch, performance.velocity, performance.start, end,
                                      performance.program)
        steps = performance.duration * self.steps_per_second
        estimate = steps / self.max_shift_steps + 5 * len(performance)  # shifts + (shift, velocity, on, off)
        if estimate > MAX_EVENTS:
            raise ValueError(
                f"this performance lasts {performance.duration:,.0f} s; encoding it would take about "
                f"{estimate:,.0f} events, more than MAX_EVENTS = {MAX_EVENTS:,}; cut it first "
                "(performance.slice(start, end)) or encode only an opening (encode(..., max_events=n))"
            )
        return performance

    # -- decode -------------------------------------------------------------------------
    def decode(self, events: Sequence[int] | np.ndarray) -> Performance:
        """Event ids → performance. Any sequence of valid ids decodes.

        A NOTE_OFF of a silent pitch is ignored; a NOTE_ON of a sounding pitch
        ends that note and starts a new one; notes still sounding at the end are
        closed there; notes of zero length are dropped.

        Raises:
            ValueError: an id outside ``0 … vocab_size-1``.
        """
        ids = self._check_ids(events)
        n = len(ids)
        if n == 0:
            return Performance.empty()
        clock, end_of_piece = self.clock(ids)
        velocity = self.velocity_in_force(ids)

        # Every note-on ends at the next note-on or note-off of its pitch, else at the end.
        is_key = ids < self.time_shift_offset
        key_idx = np.flatnonzero(is_key)
        key_pitch = ids[key_idx] % 128
        order = np.lexsort((key_idx, key_pitch))
        key_idx, key_pitch = key_idx[order], key_pitch[order]
        next_time = np.full(len(key_idx), end_of_piece)
        same = key_pitch[1:] == key_pitch[:-1]
        next_time[:-1][same] = clock[key_idx[1:][same]]
        is_on = ids[key_idx] < self.note_off_offset
        start, end = clock[key_idx][is_on], next_time[is_on]
        keep = end > start
        sec = 1.0 / self.steps_per_second
        return Performance(
            key_pitch[is_on][keep],
            velocity[key_idx][is_on][keep],
            start[keep] * sec,
            end[keep] * sec,
        )

    def clock(self, events) -> tuple[np.ndarray, int]:
        """Clock steps elapsed before each event (the time shifts before it, added up),
        and the steps of the whole sequence."""
        ids = self._check_ids(events)
        is_shift = (ids >= self.time_shift_offset) & (ids < self.velocity_offset)
        steps = np.cumsum(np.where(is_shift, ids - self.time_shift_offset + 1, 0))
        before = np.concatenate([[0], steps[:-1]]) if len(steps) else steps
        return before, int(steps[-1]) if len(steps) else 0

    def velocity_in_force(self, events) -> np.ndarray:
        """The MIDI velocity a note-on would get at each event: that of the last
        VELOCITY event before or at it (the default velocity's bin before any)."""
        ids = self._check_ids(events)
        is_vel = ids >= self.velocity_offset
        last = np.maximum.accumulate(np.where(is_vel, np.arange(len(ids)), -1))
        vel_bin = np.where(last >= 0, ids[np.maximum(last, 0)] - self.velocity_offset,
                           self.velocity_to_bin(self.default_velocity))
        return self.bin_to_velocity(vel_bin)

    def round_trip_errors(self, performance: Performance) -> dict:
        """What ``decode(encode(performance))`` changes, note by note.

        A keyboard has one key per pitch, so two notes of one pitch struck together
        (a unison of two voices) become one note (``merged``), and a note still
        sounding when its key is struck again ends there (``shortened``). Every other
        difference is quantisation, measured per kept note.

        Returns:
            ``onset``, ``offset`` (seconds) and ``velocity`` errors as arrays, and the
            counts ``notes``, ``merged``, ``shortened``.

        Notebook: notebooks/01_event_encoding.ipynb
        """
        out = self.decode(self.encode(performance))
        q = self.quantize(performance.start)
        q_off = np.maximum(self.quantize(performance.end), q + 1)
        order = np.lexsort((-q_off, q, performance.pitch))  # the same order encode keeps by
        first = np.ones(len(order), bool)
        first[1:] = (performance.pitch[order][1:] != performance.pitch[order][:-1]) | (q[order][1:] != q[order][:-1])
        kept = order[first]  # the longest note of each (pitch, onset step), as encode keeps
        decoded = np.lexsort((self.quantize(out.start), out.pitch))
        pitch, start, end = performance.pitch[kept], performance.start[kept], performance.end[kept]
        next_strike = np.full(len(kept), np.inf)
        same = pitch[1:] == pitch[:-1]
        next_strike[:-1][same] = start[1:][same]
        sounding_end = np.minimum(end, next_strike)
        return {
            "onset": np.abs(start - out.start[decoded]),
            "offset": np.abs(sounding_end - out.end[decoded]),
            "velocity": np.abs(performance.velocity[kept].astype(int) - out.velocity[decoded]),
            "notes": len(performance),
            "merged": len(performance) - len(kept),
            "shortened": int(np.sum(end > next_strike + 0.5 / self.steps_per_second)),
        }

    def _check_ids(self, events) -> np.ndarray:
        ids = np.asarray(events)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            try:
                whole = np.all(np.mod(ids.astype(np.float64), 1) == 0)
            except (TypeError, ValueError):
                whole = False
            if not whole:
                raise ValueError(f"event ids must be integers, got {ids.dtype} values")
        ids = ids.astype(np.int64).reshape(-1)
        bad = (ids < 0) | (ids >= self.vocab_size)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"event id {int(ids[i])} at position {i} is outside the vocabulary 0–{self.vocab_size - 1}"
            )
        return ids


def _check(value: int, low: int, high: int, what: str) -> int:
    if not low <= int(value) <= high:
        raise ValueError(f"{what} must be in {low}–{high}, got {value}")
    return int(value)


def convention_counts(performances, encoding: PerformanceEncoding | None = None) -> dict[str, int | float]:
    """How often each convention of the encoding (module docstring) applies.

    Args:
        performances: the performances to encode (e.g. every corpus work).
        encoding: the encoding (the default 388-event one if None).

    Returns:
        ``notes``; ``merged`` (unisons in one step, one note kept); ``shortened`` (ended
        by a re-strike of their pitch); ``steps_with_offs_and_ons`` (steps where the
        order within a step matters); ``restruck_in_one_step`` (a pitch released and
        struck again in one step: two notes kept by the order); ``velocity_changed``
        (notes whose velocity the bin's middle changes) and ``mean_velocity_error``;
        ``first_note_before_velocity`` (encodings that would need the default velocity).

    Notebook: notebooks/01_event_encoding.ipynb
    """
    enc = encoding or PerformanceEncoding()
    counts = dict.fromkeys(("notes", "merged", "shortened", "steps_with_offs_and_ons", "restruck_in_one_step",
                            "velocity_changed", "first_note_before_velocity"), 0)
    velocity_error = 0.0
    for performance in performances:
        if len(performance) == 0:
            continue
        errors = enc.round_trip_errors(performance)
        for key in ("notes", "merged", "shortened"):
            counts[key] += errors[key]
        counts["velocity_changed"] += int((errors["velocity"] > 0).sum())
        velocity_error += float(errors["velocity"].sum())
        events = enc.encode(performance)
        step, _ = enc.clock(events)
        kind = enc.event_kind(events)
        offs, ons = step[kind == 1], step[kind == 0]
        counts["steps_with_offs_and_ons"] += len(np.intersect1d(offs, ons))
        off_keys = np.unique(offs * 128 + events[kind == 1] % 128)
        counts["restruck_in_one_step"] += len(np.intersect1d(off_keys, ons * 128 + events[kind == 0] % 128))
        first_velocity = np.flatnonzero(kind == 3)
        counts["first_note_before_velocity"] += int(not len(first_velocity)
                                                    or first_velocity[0] > np.flatnonzero(kind == 0)[0])
    kept = counts["notes"] - counts["merged"]
    counts["mean_velocity_error"] = velocity_error / kept if kept else 0.0
    return counts
