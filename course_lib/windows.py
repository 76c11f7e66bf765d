"""Fixed-length event windows for training, with augmentation applied on the fly.

A window always starts on a note onset (so no window opens with the note-offs
of notes it never saw begin) and holds ``length + 1`` events: the model reads
the first ``length`` and predicts the last ``length``. (Until the package data took the
name, this module was ``course_lib.data``; ``course_lib.data.EventWindows`` still works.)

Notebook: notebooks/02_teacher_forcing.ipynb
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .augment import random_augment
from .encoding import PerformanceEncoding
from .performance import Performance

__all__ = ["EventWindows"]

# Extra events and notes taken around a window, so that a window stretched to 95 %
# (fewer time-shift events) still fills its length.
_EVENT_MARGIN = 1.15
_NOTE_MARGIN = 16


class EventWindows(Dataset):
    """Event windows cut from works (or plain performances).

    Args:
        works: ``corpus.Work`` objects (anything with a ``.performance``) or performances.
        length: events a model reads per window (the item holds ``length + 1``).
        stride: events between the starts of consecutive windows of one work
            (default ``length // 2``).
        augment: transpose (±6) and stretch (±2.5 %, ±5 %) each item at random.
        seed: seeds the augmentation; item ``i`` of epoch ``e`` is always the same.
        encoding: the event vocabulary (Performance RNN defaults).
        controls: a :class:`~course_lib.controls.ControlSpec`: items then also hold
            ``controls``, a (length + 1, spec.size) float tensor.
        drop_controls: the probability that each control is presented as missing
            (c0 = 1) in an item, so one model learns with and without it.

    Items are dicts: ``events`` (LongTensor of ``length + 1`` ids), ``work``
    (index into ``works``), ``transpose`` and ``stretch`` (what augmentation did).
    Works too short for one window are left out; ``skipped`` counts them.
    """

    def __init__(
        self,
        works: Sequence,
        length: int = 256,
        *,
        stride: int | None = None,
        augment: bool = False,
        seed: int = 0,
        encoding: PerformanceEncoding | None = None,
        controls=None,
        drop_controls: float = 0.0,
    ) -> None:
        if length < 1:
            raise ValueError(f"window length must be >= 1, got {length}")
        self.works = list(works)
        self.length = length
        self.stride = stride or max(1, length // 2)
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.encoding = encoding or PerformanceEncoding()
        self.controls = controls
        self.drop_controls = drop_controls
        self._performances = [getattr(w, "performance", w) for w in self.works]
        need = int(np.ceil((length + 1) * _EVENT_MARGIN))
        index, self.skipped = [], 0
        for w, perf in enumerate(self._performances):
            events = self.encoding.encode(perf)
            onsets = _onset_event_positions(events, self.encoding)
            starts = onsets[onsets <= len(events) - need]
            if len(starts) == 0:
                self.skipped += 1
                continue
            # Keep onsets at least `stride` events apart.
            chosen = [starts[0]]
            for s in starts[1:]:
                if s - chosen[-1] >= self.stride:
                    chosen.append(s)
            note_of = np.searchsorted(onsets, chosen)  # onset group number = first note's rank
            for event_pos, group in zip(chosen, note_of):
                index.append((w, int(event_pos), int(group)))
        self._index = np.array(index, dtype=np.int64).reshape(-1, 3)
        self._group_start = [_onset_group_notes(p, self.encoding) for p in self._performances]

    def __len__(self) -> int:
        return len(self._index)

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations for the next epoch."""
        self.epoch = int(epoch)

    def window_performance(self, i: int) -> Performance:
        """The notes a window is cut from (before augmentation), starting at 0 s."""
        w, _, group = self._index[i]
        perf = self._performances[w]
        first = self._group_start[w][group]
        # Every note costs at least its note-on, so no more notes than events can begin in a window.
        last = min(len(perf), first + self.length + 1 + _NOTE_MARGIN)
        t0 = perf.start[first]
        return Performance(
            perf.pitch[first:last], perf.velocity[first:last],
            perf.start[first:last] - t0, perf.end[first:last] - t0, perf.program,
        )

    def __getitem__(self, i: int) -> dict:
        w = int(self._index[i, 0])
        perf = self.window_performance(i)
        semitones, factor = 0, 1.0
        rng = np.random.default_rng((self.seed, self.epoch, i))
        if self.augment:
            augmented, semitones, factor = random_augment(perf, rng)
            events = self.encoding.encode(augmented)
            if len(events) < self.length + 1:  # a rare short window: keep its timing
                events = self.encoding.encode(perf.transpose(semitones))
                factor = 1.0
        else:
            events = self.encoding.encode(perf)
        item = {
            "events": torch.from_numpy(events[: self.length + 1].astype(np.int64)),
            "work": w,
            "transpose": semitones,
            "stretch": factor,
        }
        if self.controls is not None:
            drop = [n for n in self.controls.names if rng.random() < self.drop_controls]
            piece = self._performances[w]
            first = self._group_start[w][self._index[i, 2]]
            item["controls"] = torch.from_numpy(self.controls.vectors(
                item["events"].numpy(), self.works[w], drop=drop,
                offset=float(piece.start[first]) * factor, piece_seconds=piece.duration * factor,
                transpose=semitones))
        return item


def _onset_event_positions(events: np.ndarray, encoding: PerformanceEncoding) -> np.ndarray:
    """Positions where a new onset time begins: the first velocity or note-on event
    after a time shift (or at the very start)."""
    kind = encoding.event_kind(events)
    starts_onset = (kind == 0) | (kind == 3)
    prev_kind = np.concatenate([[2], kind[:-1]])
    after_shift = (prev_kind == 1) | (prev_kind == 2)
    return np.flatnonzero(starts_onset & after_shift)


def _onset_group_notes(perf: Performance, encoding: PerformanceEncoding) -> np.ndarray:
    """For each distinct quantised onset time, the index of its first note in ``perf``."""
    steps = encoding.quantize(perf.start)
    first = np.ones(len(steps), bool)
    first[1:] = steps[1:] != steps[:-1]
    return np.flatnonzero(first)
