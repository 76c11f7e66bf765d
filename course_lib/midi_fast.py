"""The MIDI reader's fast path: symusic's C++ parser, where its notes determine the rules' notes.

symusic reads the file with a few messages appended to each track (note-offs closing every
key, a mark per controller channel, the track's number as its name); its first-in-first-out
notes are then replayed by the rules of :mod:`course_lib.midi` in ticks. Where that cannot
give the rules' notes for certain, :func:`_read_with_symusic` returns None and the
byte-by-byte reader reads the file. tests/test_midi_exact.py runs every test on both paths;
tools/fuzz_midi_reader.py compares them on random files.

Notebook: notebooks/01_event_encoding.ipynb
"""

from __future__ import annotations

import re
import struct

import numpy as np
import symusic

from .midi_rules import _TICK, _VELOCITY, _hold_by_pedal, _pair, _tick_clock
from .performance import Performance

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
    """symusic's reading of the file with every track closed and marked, and the channel of
    each of its parts (-1 if unmarked); or None where its parts may have lost controller
    messages.

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
    channels = [_channel_of(track) for track in score.tracks]
    if sum(channel >= 0 for channel in channels) != sum(map(len, marked)):
        return None
    return score, channels


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
    read = _symusic_score(data, division, chunks)
    if read is None:
        return None
    score, channels = read
    tempos = [(t.time, t.mspq) for t in score.tempos]
    if len({tick for tick, _ in tempos}) < len(tempos):  # which of two tempi on one tick wins: ask the rules
        return None
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
    messages = m_tick << _TICK | m_velocity << _VELOCITY | (m_key & 0x7F)
    track = m_key >> 7
    tick, tock, key, kept_velocity, _ = _pair(messages, track, np.zeros(int(track.max()) + 1 if n else 0, np.int64))
    return tick, tock, key & 0x7F, kept_velocity, key >> 12
