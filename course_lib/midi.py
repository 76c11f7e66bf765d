"""MIDI in and out, on top of symusic.

symusic parses a MIDI file in C++ and converts ticks to seconds honouring every
tempo change (measured in benchmarks/RESULTS.md: an order of magnitude faster
than pretty_midi, mido and miditoolkit, and robust to zero tempi and SMPTE time).
This module turns its result into a :class:`~course_lib.performance.Performance`
and wraps its errors in :class:`MidiError`, which names the file and says what to do.

Notebook: notebooks/01_event_encoding.ipynb
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import symusic

from .performance import Performance

__all__ = ["MidiError", "read_midi", "read_midi_bytes", "write_midi", "midi_bytes"]

# Written files use 1,000 ticks per second (500 ticks per quarter at 120 bpm): 1 ms resolution.
_TICKS_PER_QUARTER = 500
_QPM = 120.0


class MidiError(ValueError):
    """A file that is not a readable MIDI file (the message names the file and the problem)."""


def read_midi(path: str | os.PathLike, *, sustain: bool = True) -> Performance:
    """Read a MIDI file into a performance.

    All tracks are merged, tempo changes are honoured, a note-on with velocity 0
    ends a note, drum tracks (channel 10) are left out since their "pitches" are
    instruments, a note ends at the latest where its pitch is struck again (as on
    a keyboard), and notes of zero length are dropped.

    Args:
        path: a ``.mid``/``.midi`` file.
        sustain: extend notes held by the sustain pedal (CC 64) to the pedal's
            release, as the Performance RNN data preparation does.

    Returns:
        The notes as a :class:`Performance`, times in seconds.

    Raises:
        FileNotFoundError: the file does not exist.
        MidiError: anything that is not a readable MIDI file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such MIDI file")
    if path.is_dir():
        raise MidiError(f"{path}: is a folder, not a MIDI file (use corpus.load_midi_folder for folders)")
    return read_midi_bytes(path.read_bytes(), name=str(path), sustain=sustain)


def read_midi_bytes(data: bytes, name: str = "<bytes>", *, sustain: bool = True) -> Performance:
    """Like :func:`read_midi`, for the bytes of a MIDI file (an upload, a music21 export).

    Args:
        data: the file's content.
        name: how to call the file in error messages.
        sustain: see :func:`read_midi`.
    """
    if len(data) == 0:
        raise MidiError(f"{name}: the file is empty; expected a Standard MIDI File starting with 'MThd'")
    if not bytes(data[:4]) == b"MThd":
        raise MidiError(
            f"{name}: not a Standard MIDI File (it starts with {bytes(data[:4])!r}, not b'MThd'); "
            "check that it is a .mid file and not a text, audio or zipped file"
        )
    _check_chunks(bytes(data), name)
    try:
        score = symusic.Score.from_midi(bytes(data)).to("second")
    except Exception as err:  # symusic raises RuntimeError with a parser message
        detail = str(err).replace("MiniMidi: ", "").replace(": iostream error", "")
        raise MidiError(f"{name}: damaged MIDI file ({detail}); re-export or re-download it") from None

    columns = []
    for track in score.tracks:
        if track.is_drum or len(track.notes) == 0:
            continue
        notes = track.notes.numpy()
        start = notes["time"].astype(np.float64)
        end = start + notes["duration"].astype(np.float64)
        pitch = notes["pitch"].astype(np.int16)
        velocity = notes["velocity"].astype(np.int16)
        end = _first_release_after(pitch, start, end)
        if sustain and len(track.pedals):
            pedals = track.pedals.numpy()
            down = pedals["time"].astype(np.float64)
            up = down + pedals["duration"].astype(np.float64)
            end = _extend_by_pedal(pitch, start, end, down, up)
        columns.append((pitch, velocity, start, end))
    if not columns:
        return Performance.empty()
    pitch, velocity, start, end = (np.concatenate(c) for c in zip(*columns))
    # A key cannot go down twice: a note ends at the latest where its pitch is struck
    # again. This also bounds notes whose note-off a parser paired with another
    # note-on of the same pitch (music21 exports overlapping unisons in one track).
    strike = _next_strike(pitch, start)
    end = np.where(strike > start, np.minimum(end, strike), end)
    keep = (end > start) & (velocity > 0) & (start >= 0)
    if ((pitch[keep] < 0) | (pitch[keep] > 127)).any():
        raise MidiError(f"{name}: holds note numbers outside 0–127; the file is damaged")
    return Performance(pitch[keep], velocity[keep], start[keep], end[keep])


def _check_chunks(data: bytes, name: str) -> None:
    """Walk the file's chunks: the header must be whole and every chunk must fit in the
    file (symusic itself accepts some truncated files silently)."""
    if len(data) < 14:
        raise MidiError(f"{name}: damaged MIDI file (only {len(data)} bytes, the header alone needs 14)")
    header_length, _, n_tracks, _ = struct.unpack(">IHHH", data[4:14])
    if header_length < 6:
        raise MidiError(f"{name}: damaged MIDI file (header chunk of {header_length} bytes, expected 6)")
    pos, tracks = 8 + header_length, 0
    while pos + 8 <= len(data):
        chunk_id = data[pos:pos + 4]
        (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
        if pos + 8 + length > len(data):
            raise MidiError(
                f"{name}: damaged MIDI file (chunk {chunk_id!r} at byte {pos} claims {length} bytes, "
                f"only {len(data) - pos - 8} are left: the file is truncated); re-export or re-download it"
            )
        tracks += chunk_id == b"MTrk"
        pos += 8 + length
    if tracks < n_tracks:
        raise MidiError(
            f"{name}: damaged MIDI file (the header announces {n_tracks} tracks, the file holds {tracks}: "
            "it is truncated); re-export or re-download it"
        )


def _first_release_after(pitch: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Re-pair note-ons with note-offs: a note ends at the first release of its pitch
    after it starts (every sounding note of a pitch stops when that key comes up).

    symusic pairs them first-in-first-out, so one note-on without its note-off (music21
    writes some when a part has overlapping unisons) shifts every later note of that
    pitch onto the next note's release; the releases themselves are all there.
    """
    span = float(max(end.max(), 1.0)) * 2
    offs = np.sort(pitch * span + end)
    ons = pitch * span + start
    i = np.searchsorted(offs, ons, side="right")
    found = np.minimum(i, len(offs) - 1)
    same_pitch = (i < len(offs)) & (np.floor(offs[found] / span) == pitch)
    return np.where(same_pitch, offs[found] - pitch * span, end)


def _extend_by_pedal(pitch, start, end, down, up) -> np.ndarray:
    """Notes released while the pedal is down sound until the pedal comes up."""
    order = np.argsort(down, kind="stable")
    down, up = down[order], up[order]
    # Which pedal interval (if any) contains each note's release?
    i = np.clip(np.searchsorted(down, end, side="right") - 1, 0, None)
    held = (down[i] <= end) & (end < up[i])
    return np.where(held, up[i], end)


def _next_strike(pitch: np.ndarray, start: np.ndarray) -> np.ndarray:
    """For each note, the next onset of the same pitch (inf if none)."""
    by_pitch = np.lexsort((start, pitch))
    p, s = pitch[by_pitch], start[by_pitch]
    nxt = np.full(len(p), np.inf)
    same = p[1:] == p[:-1]
    nxt[:-1][same] = s[1:][same]
    out = np.empty_like(nxt)
    out[by_pitch] = nxt
    return out


def midi_bytes(performance: Performance) -> bytes:
    """The performance as the bytes of a Standard MIDI File (one piano track, 120 bpm,
    1 ms resolution), e.g. for a download link."""
    score = symusic.Score(_TICKS_PER_QUARTER)
    score.tempos.append(symusic.Tempo(0, _QPM))
    track = symusic.Track("performance", int(performance.program), False)
    if len(performance):
        ticks_per_second = _TICKS_PER_QUARTER * _QPM / 60.0
        on = np.round(performance.start * ticks_per_second).astype(np.int32)
        off = np.round(performance.end * ticks_per_second).astype(np.int32)
        duration = np.maximum(off - on, 1).astype(np.int32)
        track.notes.extend(
            symusic.Note.from_numpy(
                on, duration, performance.pitch.astype(np.int8), performance.velocity.astype(np.int8)
            )
        )
    score.tracks.append(track)
    return bytes(score.dumps_midi())


def write_midi(performance: Performance, path: str | os.PathLike) -> Path:
    """Write a performance to a MIDI file that any player opens.

    Args:
        performance: the notes to write.
        path: where to write (parent folders are created).

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(midi_bytes(performance))
    return path
