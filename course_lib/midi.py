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
import re
import struct
import warnings
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import symusic

from .performance import Performance

__all__ = [
    "MidiError", "MidiReport", "read_midi", "read_midi_bytes", "inspect_midi", "write_midi", "midi_bytes",
    "MAX_FILE_BYTES", "MAX_WRITE_SECONDS",
]

# Written files use 1,000 ticks per second (500 ticks per quarter at 120 bpm): 1 ms resolution.
_TICKS_PER_QUARTER = 500
_QPM = 120.0
_DEFAULT_TEMPO = 500_000  # µs per quarter note (120 bpm) until the first tempo event
_DRUM_CHANNEL = 9         # channel 10 as musicians count

MAX_FILE_BYTES = 64 * 2**20
"""Files larger than this are refused: the largest real MIDI files are a few MB."""

MAX_WRITE_SECONDS = 268_435.0
"""Latest note end :func:`write_midi` can store: a MIDI delta time holds at most
2^28 − 1 ticks, 268,435 s at the written 1,000 ticks per second."""


class MidiError(ValueError):
    """A file that is not a readable MIDI file (the message names the file and the problem)."""


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


# -- reading, the fast path: symusic's parser where its notes determine the rules' notes ----

# Note-offs for every key of every channel, all on one tick: appended to a track just before
# its end, they close the notes symusic's pairing left open (which it would drop). A key with
# _CLOSERS notes ending on its last tick may have had more left open: that file goes to the
# byte-by-byte reader.
_CLOSERS = 4
# After them, for each channel with controller messages, a controller no instrument defines,
# with the channel as its value, marks which channel each of symusic's parts plays (it does
# not say); a marker meta event marks where each track ends.
_CHANNEL_MARK = 3


def _closers(channel: int) -> bytes:
    """_CLOSERS note-offs for every key of one channel, at one tick (running status)."""
    return b"\x00".join(bytes([0x80 | channel, 0, 0]) + b"".join(b"\x00" + bytes([p, 0]) for p in range(1, 128))
                       for _ in range(_CLOSERS))


_CLOSE_CHANNEL = [_closers(channel) for channel in range(16)]


def _statuses(body: bytes, kind: int) -> list[int]:
    """The channels whose status byte of this kind occurs in a track at all (a superset: the
    byte may also sit in a delta time or a meta event)."""
    return [ch for ch in range(16) if bytes([kind | ch]) in body]


# A controller message with its status byte, and a program change: any track holding such
# a message holds one of these byte patterns (a message in running status follows one that
# spells its status). They may also match inside delta times or meta events: a superset.
_CONTROLLER = re.compile(rb"([\xb0-\xbf])[\x00-\x7f][\x00-\x7f]")
_PROGRAM = re.compile(rb"[\xc0-\xcf][\x00-\x7f]")


def _controller_channels(body: bytes) -> list[int]:
    """The channels a track may send controller messages on (a superset)."""
    return sorted({status[0] & 0x0F for status in _CONTROLLER.findall(body)})


def _closed(body: bytes, marked: list[int], number: int) -> bytes:
    """A track's body (up to its end-of-track event, whose delta time it ends with) with
    closers for the channels it may strike on, marks for the ``marked`` channels, a name
    that is its number (symusic names every part of a track by the track's last name), a
    marker meta event and the end of track."""
    name = b"#%d" % number
    events = ([_CLOSE_CHANNEL[ch] for ch in _statuses(body, 0x90)]
              + [bytes([0xB0 | ch, _CHANNEL_MARK, ch]) for ch in marked]
              + [b"\xff\x03" + bytes([len(name)]) + name, b"\xff\x06\x01#", b"\xff\x2f\x00"])
    track = body + b"\x00".join(events)
    return b"MTrk" + struct.pack(">I", len(track)) + track


def _symusic_score(data: bytes, division: int, chunks: list[tuple[int, int]]):
    """symusic's reading of the file with every track closed and marked, or None where its
    parts may have lost controller messages.

    symusic drops a part with no notes, and its controller messages with it; it files
    controllers by channel and program. So a track with controller messages must have no
    program change, and every channel mark must come back (each in a part with notes).
    """
    # Each track must end with its one end-of-track event (the closing note-offs go before it).
    end_of_track = b"\xff\x2f\x00"
    if division & 0x8000 or not all(data[end - 3:end] == end_of_track and data.find(end_of_track, begin, end - 3) < 0
                                    for begin, end in chunks):
        return None
    bodies = [data[begin:end - 3] for begin, end in chunks]
    marked = [_controller_channels(body) for body in bodies]
    if any(channels and _PROGRAM.search(body) for body, channels in zip(bodies, marked)):
        return None
    tracks = b"".join(_closed(body, channels, number) for number, (body, channels) in enumerate(zip(bodies, marked)))
    try:
        score = symusic.Score.from_midi(b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), division) + tracks)
    except Exception:  # the byte-by-byte reader reports what is wrong
        return None
    if sum(_channel_of(track) >= 0 for track in score.tracks) != sum(map(len, marked)):
        return None
    return score


def _read_with_symusic(data: bytes, division: int, chunks: list[tuple[int, int]], name: str,
                       sustain: bool = True) -> Performance | None:
    """The notes by symusic's C++ parser, when they determine the rules' notes; else None.

    symusic pairs each note-off with the oldest open note-on of its key (first in, first
    out) and files the notes in parts, one per track, channel and program. From its notes
    the strikes of a key are known with their velocities and, in file order, the releases
    that ended a note; the releases it ignored had no note to end under the rules either.
    :func:`_replay` puts them back in order and pairs them by the rules, or says when the
    order within one tick cannot be known; the pedal is then applied per channel, as the
    byte-by-byte reader does.
    """
    score = _symusic_score(data, division, chunks)
    if score is None:
        return None
    tempos = [(t.time, t.mspq) for t in score.tempos]
    if len({tick for tick, _ in tempos}) < len(tempos):  # which of two tempi on one tick wins: ask the rules
        return None
    channels = [_channel_of(track) for track in score.tracks]
    pedals = _pedal_messages(score.tracks, channels)
    if pedals is None:
        return None
    kept = [i for i, track in enumerate(score.tracks) if not track.is_drum and len(track.notes)]
    if not kept:
        return Performance.empty()
    notes = [score.tracks[i].notes.numpy() for i in kept]
    sizes = [len(n["time"]) for n in notes]
    part = np.repeat(np.arange(len(kept), dtype=np.int64), sizes)
    track = np.repeat([int(score.tracks[i].name[1:]) for i in kept], sizes)  # each note's MIDI track
    start, duration, pitch, velocity = (np.concatenate([n[f] for n in notes]).astype(np.int64)
                                        for f in ("time", "duration", "pitch", "velocity"))
    if (duration < 0).any() or (pitch < 0).any() or (velocity < 1).any():
        return None
    end = start + duration
    if not _parts_keep_keys_apart(track, part, pitch, start, end):
        return None
    if not _one_at_a_time(part, pitch, start, end):
        paired = _replay(part, pitch, velocity, start, end)
        if paired is None:
            return None
        start, end, pitch, velocity, part = paired
    if sustain and len(pedals):
        channel = np.array([channels[i] for i in kept])[part]
        if (channel < 0).any():  # a part of a track with no controllers: the pedal
            return None          # may still be its channel's, from another track
        last_tick = max(marker.time for marker in score.markers)
        end = _hold_by_pedal(start, end, channel, pitch, pedals, last_tick)
    seconds = _tick_clock(tempos, division, name)
    return Performance(pitch, velocity, seconds(start), seconds(end))


def _channel_of(track) -> int:
    """The channel a part plays on, from the mark appended to its track (-1 if unmarked)."""
    if not len(track.controls):
        return -1
    last = track.controls[-1]
    return int(last.value) if last.number == _CHANNEL_MARK and last.value < 16 else -1


def _pedal_messages(tracks, channels: list[int]) -> np.ndarray | None:
    """The sustain pedal messages packed as the byte reader packs them (tick << 12 |
    channel << 8 | value), or None where a part's channel is unknown, or one tick of a
    channel holds pedal messages of two parts (their order is unknown)."""
    packed, owner = [], []
    for number, (track, channel) in enumerate(zip(tracks, channels)):
        if not len(track.controls):
            continue
        controls = track.controls.numpy()
        pedal = controls["number"] == 64
        if not pedal.any():
            continue
        if channel < 0:
            return None
        packed.append(controls["time"][pedal].astype(np.int64) << 12 | channel << 8 | controls["value"][pedal])
        owner.append(np.full(int(pedal.sum()), number))
    if not packed:
        return np.zeros(0, np.int64)
    packed, owner = np.concatenate(packed), np.concatenate(owner)
    moment = packed >> 8  # (tick, channel)
    order = np.lexsort((owner, moment))
    same = moment[order][1:] == moment[order][:-1]
    if (same & (owner[order][1:] != owner[order][:-1])).any():
        return None
    return packed


def _one_at_a_time(part, pitch, start, end) -> bool:
    """Whether no two notes of a key overlap or start together, and none has no length."""
    order = np.lexsort((start, pitch, part))
    same = (part[order][1:] == part[order][:-1]) & (pitch[order][1:] == pitch[order][:-1])
    return bool((end > start).all()) and not (same & (start[order][1:] < end[order][:-1])).any()


def _parts_keep_keys_apart(track, part, pitch, start, end) -> bool:
    """Whether each key's notes can be replayed within one part.

    symusic files a track's notes in a new part at each program change, and does not say
    which channel a part plays: notes of one pitch in two parts of one MIDI track may be
    one key. That is harmless only when those notes neither overlap nor start together.
    """
    order = np.lexsort((start, pitch, track))
    group = (track << 8 | pitch)[order]
    part, start, end = part[order], start[order], end[order]
    same = group[1:] == group[:-1]
    spread = np.concatenate([[False], same & (part[1:] != part[:-1])])
    clash = (end == start) | np.concatenate([same & (start[1:] < end[:-1]), [False]])
    first = np.flatnonzero(np.concatenate([[True], ~same]))
    return not (np.logical_or.reduceat(spread, first) & np.logical_or.reduceat(clash, first)).any()


def _replay(part, pitch, velocity, start, end):
    """The rules' notes (start, end, pitch, velocity in ticks) from symusic's notes, or None.

    Within a key the strikes come in file order when sorted by tick and then by the tick of
    their first-in-first-out release. At one tick, releases go before strikes, except the
    release of a note of no length (symusic paired it with a strike before it). The order is
    unknown, and None returned, where it could change the rules' notes: one tick with a
    strike and a release of a key and more than two messages, a strike and a release on one
    tick with no note of the key sounding before it, two strikes on one tick with one
    release tick and different velocities, or a key whose last tick holds _CLOSERS releases.
    """
    n = len(start)
    key = part << 7 | pitch
    # messages: strikes (rank 2; rank 0 for a note of no length) and releases (rank 1)
    zero = end == start
    m_key = np.concatenate([key, key])
    m_tick = np.concatenate([start, end])
    m_rank = np.concatenate([np.where(zero, 0, 2), np.ones(n, np.int64)])
    m_then = np.concatenate([end, np.zeros(n, np.int64)])  # strikes: FIFO order within a tick
    m_velocity = np.concatenate([velocity, np.zeros(n, np.int64)])
    order = np.lexsort((m_then, m_rank, m_tick, m_key))
    m_key, m_tick, m_rank, m_then, m_velocity = (a[order] for a in (m_key, m_tick, m_rank, m_then, m_velocity))
    strike = m_rank != 1
    # (key, tick) cells holding both kinds of message
    cell = np.concatenate([[True], (m_key[1:] != m_key[:-1]) | (m_tick[1:] != m_tick[:-1])])
    cell_id = np.cumsum(cell) - 1
    strikes = np.bincount(cell_id, weights=strike).astype(np.int64)
    releases = np.bincount(cell_id, weights=~strike).astype(np.int64)
    mixed = (strikes > 0) & (releases > 0)
    if (mixed & (strikes + releases > 2)).any():
        return None
    # a strike and a release on one tick, not one note of no length: the release ended an
    # earlier note for symusic; the rules agree whatever their order only if a note sounds
    # the release opens its cell then (rank 1 before rank 2): look one message back
    opening = np.flatnonzero(cell & mixed[cell_id] & (m_rank == 1))
    before = opening - 1
    sounding = (before >= 0) & (m_key[np.maximum(before, 0)] == m_key[opening]) & strike[np.maximum(before, 0)]
    if not sounding.all():
        return None
    # two strikes of a key on one tick released together: the velocity kept is unknown
    same_cell_strikes = strike[1:] & strike[:-1] & ~cell[1:]
    if (same_cell_strikes & (m_then[1:] == m_then[:-1]) & (m_velocity[1:] != m_velocity[:-1])).any():
        return None
    # symusic closed at most _CLOSERS notes of a key at its track's end
    last = np.concatenate([m_key[1:] != m_key[:-1], [True]])
    last_cell = cell_id[last]
    if (releases[last_cell] >= _CLOSERS).any():
        return None
    messages = m_tick << 20 | m_velocity << 12 | (m_key & 0x7F)
    track = m_key >> 7
    tick, tock, key, kept_velocity, _ = _pair(messages, track, np.zeros(int(track.max()) + 1 if n else 0, np.int64))
    return tick, tock, key & 0x7F, kept_velocity, key >> 12


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
# (velocity 0 for a note-off); one pedal message: tick << 12 | channel << 8 | value.
_TICK, _VELOCITY = 20, 12  # _parse_track writes these shifts as literals, for speed


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


def _pair(messages: np.ndarray, track: np.ndarray, track_end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Notes from note messages by the module's rules, per (track, channel, pitch), in ticks.

    Args:
        messages: packed note messages, in file order within each track.
        track: the track number of each message.
        track_end: the last tick of each track.

    Returns:
        ``start, end, key, velocity, counts``: one entry per note (``key`` is
        track << 12 | channel << 8 | pitch) and the counts for :class:`MidiReport`.
    """
    key = track << 12 | (messages & 0xFFF)
    # by key, file order kept within a key (a radix sort when the keys fit in 16 bits)
    order = np.argsort(key.astype(np.uint16) if len(track_end) <= 16 else key, kind="stable")
    key, tick = key[order], messages[order] >> _TICK
    velocity = (messages[order] >> _VELOCITY) & 0xFF
    strike, n = velocity > 0, len(key)

    def ahead(values, k, fill):
        out = np.full(n, fill, dtype=values.dtype)
        out[:n - k] = values[k:]
        return out

    same1 = ahead(key, 1, -1) == key
    same2 = same1 & (ahead(key, 2, -1) == key)
    t1, t2 = ahead(tick, 1, 0), ahead(tick, 2, 0)
    s1, s2 = ahead(strike, 1, False), ahead(strike, 2, False)
    # Does a strike end a note still sounding? Yes when the message before it is an earlier
    # strike of its key. A release on a strike's own tick belongs to that earlier note, so
    # along a chain "strike, release on its tick, later strike, …" the answer carries over,
    # as it does from a strike to a second strike of the key on the same tick.
    before = lambda values, fill: np.concatenate([[fill], values[:-1]])  # noqa: E731
    later = before(tick, 0) < tick
    after_strike = before(same1 & strike, False)
    behind = after_strike & later
    tie = strike & same1 & ~s1 & (t1 == tick)
    link = strike & ((before(before(tie & same2, False), False) & later) | (after_strike & ~later))
    chain_start = np.maximum.accumulate(np.where(strike & ~link, np.arange(n), 0)) if n else np.zeros(0, int)
    behind = behind[chain_start]
    consumed = tie & behind
    nxt_same, nxt_tick, nxt_strike = (np.where(consumed, b, a) for a, b in ((same1, same2), (t1, t2), (s1, s2)))
    last = track_end[track[order]]
    end = np.where(nxt_same, nxt_tick, last)
    sounds = strike & (end > tick)
    counts = {
        "unisons": int((strike & nxt_same & nxt_strike & (nxt_tick == tick)).sum()),
        "zero_length": int((strike & ~sounds).sum()),
        "restruck": int((sounds & nxt_same & nxt_strike).sum()),
        "unterminated": int((sounds & ~nxt_same).sum()),
    }
    counts["zero_length"] -= counts["unisons"]
    released = int((strike & nxt_same & ~nxt_strike).sum())  # releases that ended a note, with or without length
    counts["stray_releases"] = int((~strike).sum()) - released - int(consumed.sum())
    return tick[sounds], end[sounds], key[sounds], velocity[sounds], counts


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


def _pedal_intervals(messages: np.ndarray, last_tick: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per channel, the ticks where the sustain pedal goes down and comes up again.

    ``messages`` packs tick << 12 | channel << 8 | value, in file order per track.
    """
    order = np.argsort(messages >> 12, kind="stable")
    messages = messages[order]
    intervals = {}
    for channel in np.unique((messages >> 8) & 0xF):
        mine = messages[((messages >> 8) & 0xF) == channel]
        down = (mine & 0xFF) >= 64
        # keep the messages that change the pedal's state (it starts up)
        change = down != np.concatenate([[False], down[:-1]])
        ticks, down = mine[change] >> 12, down[change]
        presses, releases = ticks[down], ticks[~down]
        if len(releases) < len(presses):  # still down at the end: it comes up with the file
            releases = np.append(releases, last_tick)
        intervals[int(channel)] = (presses, releases)
    return intervals


def _hold_by_pedal(start, end, channel, pitch, messages, last_tick) -> np.ndarray:
    """Notes released while their channel's pedal is down sound until it comes up or
    their pitch is struck again on that channel, whichever is first."""
    end = end.copy()
    for ch, (presses, releases) in _pedal_intervals(messages, last_tick).items():
        mine = np.flatnonzero(channel == ch)
        if len(presses) == 0 or len(mine) == 0:
            continue
        i = np.searchsorted(presses, end[mine], side="right") - 1
        held = (i >= 0) & (end[mine] < releases[np.maximum(i, 0)])
        up = np.where(held, releases[np.maximum(i, 0)], end[mine])
        strike = _next_strike(pitch[mine], start[mine])
        end[mine] = np.maximum(end[mine], np.minimum(up, strike))
    return end


def _next_strike(pitch: np.ndarray, start: np.ndarray) -> np.ndarray:
    """For each note, the next later onset of the same pitch (int64 max if none)."""
    by_pitch = np.lexsort((start, pitch))
    p, s = pitch[by_pitch], start[by_pitch]
    later = np.full(len(p), np.iinfo(np.int64).max)
    # the next onset of the same pitch that is strictly later (unisons on one tick skip ahead)
    for_each = np.searchsorted(p.astype(np.int64) * 2**40 + s, p.astype(np.int64) * 2**40 + s, side="right")
    inside = for_each < len(p)
    same = np.zeros(len(p), dtype=bool)
    same[inside] = p[for_each[inside]] == p[inside]
    later[same] = s[for_each[same]]
    out = np.empty_like(later)
    out[by_pitch] = later
    return out


def _tick_clock(tempos: list, division: int, name: str):
    """Ticks → seconds (float64, one division per time, so exact halves stay exact)."""
    if division & 0x8000:  # SMPTE: frames per second and ticks per frame; tempo does not apply
        fps = 256 - (division >> 8)
        ticks_per_second = (30000 / 1001 if fps == 29 else fps) * (division & 0xFF)
        if ticks_per_second <= 0:
            raise MidiError(f"{name}: damaged MIDI file (SMPTE time with 0 ticks per frame)")
        return lambda ticks: ticks / ticks_per_second
    changes = sorted(tempos, key=lambda change: change[0])  # stable: file order within a tick
    if any(tempo == 0 for _, tempo in changes):
        tick = next(t for t, tempo in changes if tempo == 0)
        raise MidiError(f"{name}: damaged MIDI file (a tempo of 0 µs per quarter note at tick {tick})")
    ticks = np.array([0] + [t for t, _ in changes], dtype=np.int64)
    tempo = np.array([_DEFAULT_TEMPO] + [v for _, v in changes], dtype=np.int64)
    # µs·ticks elapsed at each change, as exact integers
    elapsed = np.concatenate([[0], np.cumsum(np.diff(ticks) * tempo[:-1])])
    scale = 1e6 * division

    def seconds(t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(ticks, t, side="right") - 1
        return (elapsed[i] + (t - ticks[i]) * tempo[i]) / scale

    return seconds


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
