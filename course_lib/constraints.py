"""Constrained decoding: what a search may emit at a step, so that the music keeps a rule.

The rule here: no note sounds longer than a limit. Left alone, a model that never emits a
note's NOTE_OFF leaves a drone across the whole piece (a bar across the piano roll);
``max_note_seconds``, an option of every strategy of :mod:`course_lib.search`, forbids that
by masking, at each step, the events that would break the limit.

Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .encoding import PerformanceEncoding
from .performance import Performance
from .stats import Estimate, wilson

__all__ = ["NoteLimit", "DEFAULT_MAX_NOTE_SECONDS", "LongNotes", "long_notes", "continuation_notes"]

# The longest note the studio and the command line let a model hold: the 99.9th percentile of the
# note durations of the corpus's training works (1,594,455 notes: 8.0 s; 0.03 % of them are longer).
# benchmarks/stuck_notes.py prints it and tests/test_note_limit.py checks it against the corpus.
DEFAULT_MAX_NOTE_SECONDS = 8.0


class NoteLimit:
    """Constrained decoding: no note sounds longer than ``seconds``.

    It follows each batch row's clock and sounding notes as :meth:`PerformanceEncoding.decode`
    reads them (a NOTE_ON of a sounding pitch starts it again; a NOTE_OFF of a silent one does
    nothing), primer included, and before every step masks what would break the limit:

    * a TIME_SHIFT that would carry a sounding note past the limit;
    * once a note has sounded for the whole limit, every event but the NOTE_OFF of such a note:
      the NOTE_OFF is forced.

    The events stay a valid stream (:meth:`PerformanceEncoding.decode` reads it as it always does),
    and no note of it lasts longer than the limit.

    What forcing does to the probabilities: the searches decode the *constrained* model
    q(e) = p(e) / Z, p renormalised over the allowed events (Z = their total probability). A forced
    NOTE_OFF has q = 1, log q = 0; a masked time shift's probability goes to the allowed events in
    proportion. Sampling draws from q, greedy takes its most likely event, beam search ranks by
    Σ log q (``Hypothesis.score``) and stochastic beam search samples without replacement from q —
    exactly, because q sums to 1 at every step (Gumbel-top-k needs a normalised tree; p merely
    masked is not one). ``Hypothesis.logprob`` stays the model's own Σ log p, the forced events'
    log-probabilities added as the model gives them (−inf if it gives 0): the gap Σ log q − Σ log p =
    −Σ log Z ≥ 0 is what the constraint cost, and it is 0 where the constraint never binds. Where
    the model gives every allowed event probability 0, q takes them as equally likely.

    Args:
        seconds: the longest note (at least one clock step).
        primer: the events before the generation (their notes count).
        batch: rows generated at once.
        encoding: the event vocabulary (default: the course's).

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """

    def __init__(self, seconds: float, primer, batch: int = 1, encoding: PerformanceEncoding | None = None):
        self.enc = encoding or PerformanceEncoding()
        self.steps = int(round(float(seconds) * self.enc.steps_per_second))
        if self.steps < 1:
            raise ValueError(f"max_note_seconds must be at least one clock step ({1 / self.enc.steps_per_second:g} s) "
                             f"or None for no limit, got {seconds}")
        self.onset = np.full((batch, 128), -1, dtype=np.int64)   # clock step each sounding pitch began, −1: silent
        self.now = np.zeros(batch, dtype=np.int64)
        for event in np.asarray(primer, dtype=np.int64).reshape(-1):
            self.feed(np.full(batch, event))

    def feed(self, events) -> None:
        """Move each row on by its event (B,)."""
        e, enc = np.asarray(events, dtype=np.int64), self.enc
        rows = np.arange(len(e))
        on, off = e < enc.note_off_offset, (e >= enc.note_off_offset) & (e < enc.time_shift_offset)
        shift = (e >= enc.time_shift_offset) & (e < enc.velocity_offset)
        self.onset[rows[on], e[on] - enc.note_on_offset] = self.now[on]
        self.onset[rows[off], e[off] - enc.note_off_offset] = -1
        self.now += np.where(shift, e - enc.time_shift_offset + 1, 0)

    def reorder(self, parents) -> None:
        """Follow the beams' back-pointers (B',)."""
        index = np.asarray(parents, dtype=np.int64)
        self.onset, self.now = self.onset[index], self.now[index]

    def allowed(self) -> np.ndarray:
        """(B, V) True where an event keeps every note within the limit."""
        enc = self.enc
        sounding = self.onset >= 0
        held = np.where(sounding, self.now[:, None] - self.onset, -1)
        left = np.where(sounding.any(1), self.steps - held.max(1), np.iinfo(np.int64).max)   # steps to the limit
        ok = np.ones((len(self.now), enc.vocab_size), dtype=bool)
        ok[:, enc.time_shift_offset:enc.velocity_offset] = np.arange(1, enc.max_shift_steps + 1) <= left[:, None]
        due = held >= self.steps
        forced = due.any(1)
        ok[forced] = False
        ok[forced, enc.note_off_offset:enc.note_off_offset + 128] = due[forced]
        return ok

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` (B, V) with the events the limit forbids at −inf (see the class for what
        that does to the probabilities)."""
        if logits.shape[-1] != self.enc.vocab_size:
            raise ValueError(f"the model has {logits.shape[-1]} events, the note limit's encoding "
                             f"{self.enc.vocab_size}: pass the model's encoding")
        ok = torch.as_tensor(self.allowed(), device=logits.device)
        masked = logits.masked_fill(~ok, -math.inf)
        impossible = ~torch.isfinite(masked).any(-1)   # the model gives every allowed event probability 0
        if impossible.any():
            masked[impossible] = torch.zeros_like(masked[impossible]).masked_fill(~ok[impossible], -math.inf)
        return masked


# -- measuring what the limit is for ------------------------------------------------------------
@dataclass(frozen=True)
class LongNotes:
    """Notes longer than ``seconds`` in a set of pieces: ``long`` of ``notes`` notes, and
    ``pieces_with`` of ``pieces`` pieces with at least one. :meth:`notes_rate` and
    :meth:`pieces_rate` are proportions with their 95 % Wilson intervals
    (:func:`course_lib.stats.wilson`); the pieces' interval is the safer one, since the notes
    of one piece are not independent trials."""

    seconds: float
    long: int
    notes: int
    pieces_with: int
    pieces: int

    def notes_rate(self) -> Estimate:
        return wilson(self.long, self.notes)

    def pieces_rate(self) -> Estimate:
        return wilson(self.pieces_with, self.pieces)

    def __str__(self) -> str:
        notes, pieces = self.notes_rate(), self.pieces_rate()
        return (f"{notes.value:6.2%} of {self.notes:6,} notes [{notes.lo:.2%}, {notes.hi:.2%}]; "
                f"{self.pieces_with:3d} of {self.pieces:3d} pieces [{pieces.lo:.0%}, {pieces.hi:.0%}]")


def long_notes(performances, seconds: float) -> LongNotes:
    """Count the notes longer than ``seconds`` in ``performances`` (chapter 5 measures stuck
    notes as those longer than the corpus's 99.9th percentile, :data:`DEFAULT_MAX_NOTE_SECONDS`).

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """
    counts = [int(((p.end - p.start) > seconds + 1e-9).sum()) for p in performances]
    return LongNotes(float(seconds), sum(counts), sum(len(p) for p in performances),
                     sum(c > 0 for c in counts), len(counts))


def continuation_notes(primer, events, encoding: PerformanceEncoding | None = None) -> Performance:
    """The notes that sound in ``events`` played after ``primer``, each with its whole duration:
    a note held from the primer into the continuation counts (the note limit counts it too),
    a note over before the continuation does not.

    Notebook: notebooks/05_beam_vs_stochastic_search.ipynb
    """
    enc = encoding or PerformanceEncoding()
    p = enc.decode(np.concatenate([np.asarray(primer, dtype=np.int64), np.asarray(events, dtype=np.int64)]))
    keep = p.end > enc.clock(primer)[1] / enc.steps_per_second
    return Performance(p.pitch[keep], p.velocity[keep], p.start[keep], p.end[keep], p.program)
