"""MIDI in and out: a tick-exact reader of our own, symusic for writing.

Reading is exact by construction. One pass over each track's bytes collects its note
and pedal messages in integer ticks; notes are paired per (track, channel, pitch) in
ticks, the sustain pedal is applied per channel in ticks, and only then are ticks
turned into seconds, once, in float64, with the tempo map gathered from every track.
The pairing rules, the same for every file:

* a note-on starts a note; a note-on with velocity 0 is a note-off;
* a note ends at the next release of its (track, channel, pitch), or where that pitch
  is struck again (a key cannot go down twice), or at the end of its track;
* at equal ticks a release belongs to the note that was already sounding, so a note
  re-struck on the tick of its own release keeps its full length;
* a note whose on and off share a tick has no length and is dropped (and counted);
* the sustain pedal (controller 64: down at a value ≥ 64, up below) holds every note
  of its channel released while it is down, until it comes up or that pitch is
  struck again on that channel;
* channel 10 (drums) is left out: its "pitches" are instruments.

:func:`inspect_midi` returns the counts behind these rules for one file.

Most files take a faster path to the same notes: symusic's C++ parser reads them, with a
few messages appended to each track (note-offs that close every key, a mark per channel,
the track's number as its name), and its first-in-first-out notes are replayed by the
rules above, in ticks. A file where that cannot give the rules' notes for certain (the
order of a key's messages within one tick unknown and mattering, controllers and program
changes in one track, a pedal in a track without notes) goes through the byte pass.
Both paths are tested against an independent reading (tests/test_midi_exact.py).

Notebook: notebooks/01_event_encoding.ipynb
"""

from __future__ import annotations

import os
import struct
import warnings
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import symusic

from .midi_fast import _one_at_a_time, _read_with_symusic
from .midi_rules import MidiError, _hold_by_pedal, _pair, _tick_clock
from .performance import Performance

__all__ = [
    "MidiError", "MidiReport", "read_midi", "read_midi_bytes", "inspect_midi", "write_midi", "midi_bytes",
    "MAX_FILE_BYTES", "MAX_WRITE_SECONDS",
]

# Written files use 1,000 ticks per second (500 ticks per quarter at 120 bpm): 1 ms resolution.
_TICKS_PER_QUARTER = 500
_QPM = 120.0
_DRUM_CHANNEL = 9         # channel 10 as musicians count

MAX_FILE_BYTES = 64 * 2**20
"""Files larger than this are refused: the largest real MIDI files are a few MB."""

MAX_WRITE_SECONDS = 268_435.0
"""Latest note end :func:`write_midi` can store: a MIDI delta time holds at most
2^28 − 1 ticks, 268,435 s at the written 1,000 ticks per second."""


def _count(meaning: str):
    """A counter of MidiReport, with what it counts."""
    return field(default=0, metadata={"meaning": meaning})


@dataclass(frozen=True)
class MidiReport:
    """What reading one file found, rule by rule (see the module docstring); each field's
    ``metadata["meaning"]`` says what it counts."""

    notes: int = _count("notes returned")
    zero_length: int = _count("note-ons whose note-off fell on the same tick (dropped)")
    unisons: int = _count("note-ons struck again on the same tick (two voices on one key: one note kept)")
    restruck: int = _count("notes ended because their pitch was struck again before any release")
    unterminated: int = _count("notes still sounding at the end of their track (ended there)")
    stray_releases: int = _count("note-offs with no sounding note of their pitch (ignored)")
    pedal_held: int = _count("notes the sustain pedal made longer")
    drum_notes: int = _count("notes on channel 10 (left out)")
    clamped_velocities: int = _count("velocities above 127 (a damaged file) set to 127")
    tracks: int = _count("track chunks read")
    tempo_changes: int = _count("tempo events, from all tracks")


def read_midi(path: str | os.PathLike, *, sustain: bool = True) -> Performance:
    """Read a MIDI file into a performance.

    All tracks are merged, tempo changes from every track are honoured, drum notes
    (channel 10) are left out; notes are paired by the rules in this module's docstring.

    Args:
        path: a ``.mid``/``.midi`` file (at most ``MAX_FILE_BYTES``).
        sustain: extend notes held by the sustain pedal (CC 64) to the pedal's
            release, as the Performance RNN data preparation does.

    Returns:
        The notes as a :class:`Performance`, times in seconds.

    Raises:
        FileNotFoundError: the file does not exist.
        MidiError: anything that is not a readable MIDI file.
    """
    return read_midi_bytes(_file_bytes(path), name=str(path), sustain=sustain)


def inspect_midi(path: str | os.PathLike, *, sustain: bool = True) -> MidiReport:
    """The counts behind the reading rules for one file (zero-length notes dropped,
    re-struck notes, notes without a note-off, …).

    Args:
        path: a MIDI file.
        sustain: as in :func:`read_midi`.

    Returns:
        A :class:`MidiReport`.
    """
    return _read(_file_bytes(path), str(path), sustain)[1]


def read_midi_bytes(data: bytes, name: str = "<bytes>", *, sustain: bool = True) -> Performance:
    """Like :func:`read_midi`, for the bytes of a MIDI file (an upload, a music21 export).

    Args:
        data: the file's content.
        name: how to call the file in error messages.
        sustain: see :func:`read_midi`.
    """
    data = bytes(data)
    division, chunks = _chunks(data, name)
    fast = _read_with_symusic(data, division, chunks, name, sustain)
    if fast is not None:
        return fast
    performance, report = _read(data, name, sustain)
    if report.clamped_velocities:
        warnings.warn(f"{name}: {report.clamped_velocities} note velocities above 127 (a damaged file) "
                      "were set to 127", stacklevel=2)
    return performance


def _file_bytes(path: str | os.PathLike) -> bytes:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such MIDI file")
    if path.is_dir():
        raise MidiError(f"{path}: is a folder, not a MIDI file (use corpus.load_midi_folder for folders)")
    if not path.is_file():
        raise MidiError(f"{path}: not a regular file (a device, pipe or socket); save the MIDI file to disk first")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise MidiError(f"{path}: {size / 2**20:.0f} MB is larger than any real MIDI file "
                        f"(the limit is {MAX_FILE_BYTES // 2**20} MB); check that it is a MIDI file")
    return path.read_bytes()


# -- reading: bytes → tick events ------------------------------------------------------

# One note message packed in an int: tick << 20 | velocity << 12 | channel << 8 | pitch
# (velocity 0 for a note-off; midi_rules._TICK and _VELOCITY, written here as literals for
# speed); one pedal message: tick << 12 | channel << 8 | value.


@dataclass
class _Track:
    """One track's note and pedal messages, packed, in file order."""

    notes: array
    pedal: array
    end_tick: int


def _read(data: bytes, name: str, sustain: bool) -> tuple[Performance, MidiReport]:
    division, chunks = _chunks(data, name)
    tracks, tempos = [], []
    for number, (begin, end) in enumerate(chunks):
        try:
            tracks.append(_parse_track(data, begin, end, tempos))
        except (IndexError, OverflowError, _Damaged) as err:
            detail = (str(err) if isinstance(err, _Damaged) else "an event runs past the end of the track"
                      if isinstance(err, IndexError) else "a time too large for a MIDI file: a damaged delta time")
            raise MidiError(f"{name}: damaged MIDI file (track {number + 1}: {detail}); "
                            "re-export or re-download it") from None
    return _assemble(tracks, tempos, division, name, sustain)


def _chunks(data: bytes, name: str) -> tuple[int, list[tuple[int, int]]]:
    """Check the header and walk the chunks: the division and each track's byte range."""
    if len(data) == 0:
        raise MidiError(f"{name}: the file is empty; expected a Standard MIDI File starting with 'MThd'")
    if data[:4] != b"MThd":
        raise MidiError(
            f"{name}: not a Standard MIDI File (it starts with {data[:4]!r}, not b'MThd'); "
            "check that it is a .mid file and not a text, audio or zipped file"
        )
    if len(data) < 14:
        raise MidiError(f"{name}: damaged MIDI file (only {len(data)} bytes, the header alone needs 14)")
    header_length, _, n_tracks, division = struct.unpack(">IHHH", data[4:14])
    if header_length < 6:
        raise MidiError(f"{name}: damaged MIDI file (header chunk of {header_length} bytes, expected 6)")
    if division == 0:
        raise MidiError(f"{name}: damaged MIDI file (0 ticks per quarter note: no time can be computed)")
    pos, chunks = 8 + header_length, []
    while pos + 8 <= len(data):
        chunk_id = data[pos:pos + 4]
        (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
        if pos + 8 + length > len(data):
            raise MidiError(
                f"{name}: damaged MIDI file (chunk {chunk_id!r} at byte {pos} claims {length} bytes, "
                f"only {len(data) - pos - 8} are left: the file is truncated); re-export or re-download it"
            )
        if chunk_id == b"MTrk":
            chunks.append((pos + 8, pos + 8 + length))
        pos += 8 + length
    if len(chunks) < n_tracks:
        raise MidiError(
            f"{name}: damaged MIDI file (the header announces {n_tracks} tracks, the file holds "
            f"{len(chunks)}: it is truncated); re-export or re-download it"
        )
    return division, chunks


class _Damaged(Exception):
    """Raised inside the track parser; turned into a MidiError naming the file."""


def _parse_track(data: bytes, pos: int, end: int, tempos: list) -> _Track:
    """One pass over a track's bytes: its note, pedal and tempo messages with their ticks.

    A plain loop with local names, since it runs once per MIDI message (its speed is
    measured in benchmarks/RESULTS.md); pairing happens afterwards, in numpy.
    """
    notes, pedal = array("q"), array("q")
    note, press = notes.append, pedal.append
    tick = kind = channel = 0
    while pos < end:
        byte = data[pos]
        pos += 1
        if byte < 0x80:
            tick += byte
        else:
            delta = byte & 0x7F
            while byte & 0x80:
                byte = data[pos]
                pos += 1
                delta = (delta << 7) | (byte & 0x7F)
            tick += delta
        byte = data[pos]
        if byte >= 0x80:
            pos += 1
            if byte >= 0xF0:  # meta or system exclusive: skip, except tempo and end of track
                meta = data[pos] if byte == 0xFF else -1
                pos += byte == 0xFF
                byte = data[pos]
                pos += 1
                length = byte & 0x7F
                while byte & 0x80:
                    byte = data[pos]
                    pos += 1
                    length = (length << 7) | (byte & 0x7F)
                if meta == 0x51 and length >= 3:
                    tempos.append((tick, (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]))
                elif meta == 0x2F:
                    break
                pos += length
                continue
            kind, channel = byte & 0xF0, (byte & 0x0F) << 8  # the running status
        if kind == 0x90:  # tick << 20 | velocity << 12 | channel << 8 | pitch
            note(tick << 20 | data[pos + 1] << 12 | channel | data[pos])
            pos += 2
        elif kind == 0x80:
            note(tick << 20 | channel | data[pos])
            pos += 2
        elif kind == 0xB0:
            if data[pos] == 64:  # the sustain pedal: tick << 12 | channel << 8 | value
                press(tick << 12 | channel | data[pos + 1])
            pos += 2
        elif kind == 0xC0 or kind == 0xD0:
            pos += 1
        elif kind:
            pos += 2
        else:
            raise _Damaged(f"a data byte at byte {pos} with no status before it")
    if pos > end:
        raise IndexError
    return _Track(notes, pedal, tick)




# -- reading: tick notes → a performance ------------------------------------------------

def _assemble(tracks: list[_Track], tempos: list, division: int, name: str,
              sustain: bool) -> tuple[Performance, MidiReport]:
    messages = [np.frombuffer(t.notes, dtype=np.int64) for t in tracks]
    track = np.repeat(np.arange(len(tracks), dtype=np.int64), [len(m) for m in messages])
    track_end = np.array([t.end_tick for t in tracks], dtype=np.int64)
    start, end, key, velocity, counts = _pair(np.concatenate(messages or [np.zeros(0, np.int64)]),
                                              track, track_end)
    channel, pitch = (key >> 8) & 0xF, key & 0xFF
    if (pitch > 127).any():
        raise MidiError(f"{name}: holds note numbers outside 0–127; the file is damaged")
    drums = channel == _DRUM_CHANNEL
    start, end, channel, pitch, velocity = (a[~drums] for a in (start, end, channel, pitch, velocity))
    pedal_held = 0
    if sustain and tracks:
        pedals = np.concatenate([np.frombuffer(t.pedal, dtype=np.int64) for t in tracks])
        new_end = _hold_by_pedal(start, end, channel, pitch, pedals, int(track_end.max()))
        pedal_held = int((new_end != end).sum())
        end = new_end
    clamped = int((velocity > 127).sum())
    velocity = np.minimum(velocity, 127)
    seconds = _tick_clock(tempos, division, name)
    performance = Performance(pitch, velocity, seconds(start), seconds(end))
    report = MidiReport(notes=len(performance), pedal_held=pedal_held, drum_notes=int(drums.sum()),
                        clamped_velocities=clamped, tracks=len(tracks), tempo_changes=len(tempos), **counts)
    return performance, report




# -- writing --------------------------------------------------------------------------------

def midi_bytes(performance: Performance) -> bytes:
    """The performance as the bytes of a Standard MIDI File (one piano track, 120 bpm,
    1 ms resolution), e.g. for a download link.

    A MIDI file holds one state per key, so where two notes of one key sound at once the
    file holds the notes :func:`read_midi` hears in them (a re-strike ends the sounding note;
    see the module's rules): every reader then reads the same notes from it.

    Raises:
        MidiError: a note ends after ``MAX_WRITE_SECONDS`` (a MIDI file cannot store it).
    """
    if len(performance) and performance.duration > MAX_WRITE_SECONDS:
        raise MidiError(
            f"a note ends at {performance.duration:,.0f} s, later than a MIDI file written at 1 ms "
            f"resolution can store ({MAX_WRITE_SECONDS:,.0f} s, about 74 hours); cut the performance "
            "(performance.slice) before writing it"
        )
    ticks_per_second = _TICKS_PER_QUARTER * _QPM / 60.0
    on = np.round(performance.start * ticks_per_second).astype(np.int64)
    off = np.maximum(np.round(performance.end * ticks_per_second).astype(np.int64), on + 1)
    data = _dump(on, off, performance.pitch, performance.velocity, int(performance.program))
    if not _one_at_a_time(np.zeros_like(on), performance.pitch.astype(np.int64), on, off):
        # Two notes of one key sound at once: a MIDI file cannot say which release ends which,
        # and readers differ. Write the notes this module's rules read from it instead, so
        # that every reader reads the same notes (and the fast path reads it back).
        heard, _ = _read(data, "<written>", sustain=False)
        on, off = (np.round(t * ticks_per_second).astype(np.int64) for t in (heard.start, heard.end))
        data = _dump(on, off, heard.pitch, heard.velocity, int(performance.program))
    return data


def _dump(on, off, pitch, velocity, program: int) -> bytes:
    """Notes in ticks as the bytes of a one-track MIDI file (symusic writes it)."""
    score = symusic.Score(_TICKS_PER_QUARTER)
    score.tempos.append(symusic.Tempo(0, _QPM))
    track = symusic.Track("performance", program, False)
    if len(on):
        track.notes.extend(symusic.Note.from_numpy(on.astype(np.int32), (off - on).astype(np.int32),
                                                   pitch.astype(np.int8), velocity.astype(np.int8)))
    score.tracks.append(track)
    return bytes(score.dumps_midi())


def write_midi(performance: Performance, path: str | os.PathLike) -> Path:
    """Write a performance to a MIDI file that any player opens.

    Args:
        performance: the notes to write.
        path: where to write (parent folders are created).

    Returns:
        The path written.

    Raises:
        MidiError: the performance is longer than a MIDI file can store (``MAX_WRITE_SECONDS``).
    """
    data = midi_bytes(performance)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
