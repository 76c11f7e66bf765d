"""A performance: the notes of a piece as plain numpy arrays, in seconds.

Every other module speaks this type: MIDI files are read into it, the event
encoding turns it into events and back, the corpus stores it, the plots and the
synthesizers draw and play it.

Notebook: notebooks/01_event_encoding.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Performance"]


@dataclass(frozen=True, eq=False)
class Performance:
    """Notes as parallel arrays, sorted by (start, pitch, end).

    Attributes:
        pitch: MIDI pitch of each note, 0–127 (int16).
        velocity: MIDI velocity of each note, 1–127 (int16).
        start: onset in seconds (float64).
        end: offset in seconds, always > start (float64).
        program: General MIDI program used when the performance is played (0 = piano).
    """

    pitch: np.ndarray
    velocity: np.ndarray
    start: np.ndarray
    end: np.ndarray
    program: int = field(default=0)

    def __post_init__(self) -> None:
        pitch = np.asarray(self.pitch, dtype=np.int16).reshape(-1)
        velocity = np.asarray(self.velocity, dtype=np.int16).reshape(-1)
        start = np.asarray(self.start, dtype=np.float64).reshape(-1)
        end = np.asarray(self.end, dtype=np.float64).reshape(-1)
        n = len(pitch)
        if not (len(velocity) == len(start) == len(end) == n):
            raise ValueError(
                f"Performance arrays differ in length: pitch {n}, velocity {len(velocity)}, "
                f"start {len(start)}, end {len(end)}"
            )
        if n and (pitch.min() < 0 or pitch.max() > 127):
            raise ValueError(f"pitches must lie in 0–127, got {pitch.min()}–{pitch.max()}")
        if n and (velocity.min() < 1 or velocity.max() > 127):
            raise ValueError(f"velocities must lie in 1–127, got {velocity.min()}–{velocity.max()}")
        if n and not (np.isfinite(start).all() and np.isfinite(end).all()):
            raise ValueError("note times must be finite numbers of seconds")
        if n and (start.min() < 0 or (end <= start).any()):
            raise ValueError("every note needs 0 <= start < end")
        order = np.lexsort((end, pitch, start))
        for name, arr in (("pitch", pitch), ("velocity", velocity), ("start", start), ("end", end)):
            arr = arr[order]
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def empty(cls, program: int = 0) -> "Performance":
        """A performance without notes."""
        return cls(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), program)

    @classmethod
    def from_notes(cls, notes, program: int = 0) -> "Performance":
        """Build from an iterable of ``(pitch, velocity, start, end)`` tuples."""
        rows = np.asarray(list(notes), dtype=np.float64).reshape(-1, 4)
        return cls(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], program)

    # -- views --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.pitch)

    @property
    def duration(self) -> float:
        """Seconds from 0 to the last note's end."""
        return float(self.end.max()) if len(self) else 0.0

    def notes(self) -> list[tuple[int, int, float, float]]:
        """The notes as ``(pitch, velocity, start, end)`` tuples, for printing and tests."""
        return [
            (int(p), int(v), float(s), float(e))
            for p, v, s, e in zip(self.pitch, self.velocity, self.start, self.end)
        ]

    def __repr__(self) -> str:
        pitches = f", pitches {self.pitch.min()}–{self.pitch.max()}" if len(self) else ""
        return f"Performance({len(self)} notes, {self.duration:.1f} s{pitches})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Performance):
            return NotImplemented
        return (
            len(self) == len(other)
            and np.array_equal(self.pitch, other.pitch)
            and np.array_equal(self.velocity, other.velocity)
            and np.array_equal(self.start, other.start)
            and np.array_equal(self.end, other.end)
        )

    # -- simple transformations (each returns a new performance) ------------------------
    def transpose(self, semitones: int) -> "Performance":
        """Shift every pitch; raises ValueError if a note would leave 0–127."""
        return Performance(self.pitch + int(semitones), self.velocity, self.start, self.end, self.program)

    def stretch(self, factor: float) -> "Performance":
        """Scale all times by ``factor`` (> 0): 1.05 plays 5 % slower."""
        if not factor > 0:
            raise ValueError(f"stretch factor must be > 0, got {factor}")
        return Performance(self.pitch, self.velocity, self.start * factor, self.end * factor, self.program)

    def slice(self, start: float, end: float) -> "Performance":
        """The notes that start in [start, end), shifted so the slice begins at 0 s."""
        keep = (self.start >= start) & (self.start < end)
        return Performance(
            self.pitch[keep], self.velocity[keep], self.start[keep] - start,
            self.end[keep] - start, self.program,
        )
