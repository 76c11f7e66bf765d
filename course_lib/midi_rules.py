"""The reading rules of :mod:`course_lib.midi`, in integer ticks: notes paired per key, the
sustain pedal per channel, and ticks turned into seconds once, in float64.

Both of the reader's paths end here: the byte-by-byte pass (course_lib.midi) and the
replay of symusic's notes (course_lib.midi_fast). The rules themselves are listed in
course_lib.midi's docstring.

Notebook: notebooks/01_event_encoding.ipynb
"""

from __future__ import annotations

import numpy as np

_DEFAULT_TEMPO = 500_000  # µs per quarter note (120 bpm) until the first tempo event
_TICK, _VELOCITY = 20, 12  # a packed note message: tick << 20 | velocity << 12 | channel << 8 | pitch


class MidiError(ValueError):
    """A file that is not a readable MIDI file (the message names the file and the problem)."""


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
