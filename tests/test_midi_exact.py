"""read_midi is exact: hand-made files for each reading rule, random files written by an
independent writer (mido), and every MIDI file music21 ships compared note by note with an
independent tick-level reading written here."""

import io
import struct
from fractions import Fraction
from pathlib import Path

import mido
import music21
import numpy as np
import pytest
import symusic
from hypothesis import given, settings
from hypothesis import strategies as st

import course_lib.midi
from course_lib.encoding import PerformanceEncoding
from course_lib.midi import MidiError, inspect_midi, read_midi, read_midi_bytes
from course_lib.performance import Performance

EOT = b"\x00\xff\x2f\x00"


@pytest.fixture(autouse=True, params=["symusic where exact", "byte by byte"])
def reader(request, monkeypatch):
    """Every test here runs twice: with the fast path (symusic's parser where it provably
    gives the rules' notes) and with the byte-by-byte reader alone."""
    if request.param == "byte by byte":
        monkeypatch.setattr(course_lib.midi, "_read_with_symusic", lambda *args: None)
    return request.param


def smf(tracks: list[bytes], division: int = 480) -> bytes:
    """A Standard MIDI File built byte by byte from raw track bodies."""
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), division)
    return header + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def track(*events: tuple[int, bytes]) -> bytes:
    """A track body from (absolute tick, message bytes) pairs, in the order given."""
    body, now = b"", 0
    for tick, message in events:
        body += vlq(tick - now) + message
        now = tick
    return body + EOT


def on(pitch, velocity=100, channel=0):
    return bytes([0x90 | channel, pitch, velocity])


def off(pitch, channel=0):
    return bytes([0x80 | channel, pitch, 0])


def pedal(value, channel=0):
    return bytes([0xB0 | channel, 64, value])


def tempo(us_per_quarter):
    return b"\xff\x51\x03" + us_per_quarter.to_bytes(3, "big")


def spans(data: bytes, **kw) -> list[tuple[int, float, float]]:
    return [(p, s, e) for p, _, s, e in read_midi_bytes(data, **kw).notes()]


# -- the five defects of the reader this one replaced, one hand-made file each ------------

def test_pedal_on_a_second_channel_holds_only_notes_released_while_it_is_down():
    # channel 1 (second track): a note released at 0.5 s, the pedal pressed at 1 s, a note
    # released at 1.5 s while it is down, the pedal up at 2 s. 480 ticks = 0.5 s.
    piano = track((0, on(60, channel=1)), (480, off(60, channel=1)),
                  (720, on(64, channel=1)), (960, pedal(127, channel=1)),
                  (1440, off(64, channel=1)), (1920, pedal(0, channel=1)))
    other = track((0, on(48)), (2400, off(48)))  # channel 0 has no pedal: untouched
    assert spans(smf([other, piano])) == [(48, 0.0, 2.5), (60, 0.0, 0.5), (64, 0.75, 2.0)]
    assert spans(smf([other, piano]), sustain=False) == [(48, 0.0, 2.5), (60, 0.0, 0.5), (64, 0.75, 1.5)]


def test_a_pedal_pressed_twice_and_one_never_released():
    body = track((0, on(60)), (10, pedal(100)), (20, pedal(127)), (480, off(60)),
                 (960, pedal(10)), (1000, on(62)), (1100, pedal(64)), (1200, off(62)), (1440, b"\xff\x01\x00"))
    assert spans(smf([body])) == [(60, 0.0, 1.0), (62, 1000 / 960, 1.5)]  # the second held to the end


def test_a_note_exactly_on_a_half_step_rounds_up():
    # 1,000 ticks per quarter at 120 bpm: tick 10 is exactly 5 ms, tick 30 exactly 15 ms
    body = track((10, on(60)), (30, on(62)), (1010, off(60)), (1030, off(62)))
    perf = read_midi_bytes(smf([body], division=1000))
    assert list(perf.start) == [0.005, 0.015]
    enc = PerformanceEncoding()
    assert list(enc.quantize(perf.start)) == [1, 2]


@pytest.mark.parametrize("release_first", [True, False])
def test_a_note_repeated_on_the_tick_of_its_release_keeps_its_length(release_first):
    # 60 from 0 to 0.6 s, struck again at 0.6 s (576 ticks) until 1.2 s; either file order
    at_576 = [(576, off(60)), (576, on(60, 90))] if release_first else [(576, on(60, 90)), (576, off(60))]
    body = track((0, on(60)), *at_576, (1152, off(60)))
    assert read_midi_bytes(smf([body])).notes() == [(60, 100, 0.0, 0.6), (60, 90, 0.6, 1.2)]


def test_every_note_on_becomes_a_note():
    # 60 struck at 0 and again at 0.5 s, one release at 1 s; 62 struck and never released
    body = track((0, on(60)), (240, on(62)), (480, on(60, 80)), (960, off(60)), (1440, b"\xff\x01\x00"))
    assert spans(smf([body])) == [(60, 0.0, 0.5), (62, 0.25, 1.5), (60, 0.5, 1.0)]
    report = inspect_midi_bytes(smf([body]))
    assert (report.restruck, report.unterminated, report.notes) == (1, 1, 3)


def test_zero_length_notes_are_dropped_and_counted():
    # 60 on and off on one tick, then a later stray release: no 0.5 s note appears
    body = track((0, on(60)), (0, off(60)), (240, on(64)), (480, off(60)), (720, off(64)))
    assert spans(smf([body])) == [(64, 0.25, 0.75)]
    report = inspect_midi_bytes(smf([body]))
    assert (report.zero_length, report.stray_releases, report.notes) == (1, 1, 1)


def test_two_voices_striking_one_key_on_one_tick_make_one_note():
    body = track((0, on(60)), (0, on(60, 70)), (480, off(60)), (480, off(60)))
    assert read_midi_bytes(smf([body])).notes() == [(60, 70, 0.0, 0.5)]
    assert inspect_midi_bytes(smf([body])).unisons == 1


def test_tempo_changes_in_a_later_track_are_honoured():
    conductor = track((0, b"\xff\x03\x00"))
    tempo_track = track((0, tempo(1_000_000)), (480, tempo(250_000)))  # 60 bpm, then 240 bpm
    notes = track((0, on(60)), (480, off(60)), (480, on(62)), (960, off(62)))
    assert spans(smf([conductor, tempo_track, notes])) == [(60, 0.0, 1.0), (62, 1.0, 1.25)]


def test_notes_of_one_pitch_on_other_channels_and_tracks_are_paired_apart():
    a = track((0, on(60, channel=0)), (960, off(60, channel=0)))
    b = track((240, on(60, channel=1)), (480, off(60, channel=1)))
    assert spans(smf([a, b])) == [(60, 0.0, 1.0), (60, 0.25, 0.5)]


def inspect_midi_bytes(data, tmp=Path("/tmp")):
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".mid") as f:
        f.write(data)
        f.flush()
        return inspect_midi(f.name)


# -- files that are not what they claim ------------------------------------------------------

def test_zero_division_and_zero_tempo_are_errors():
    body = track((0, on(60)), (480, off(60)))
    with pytest.raises(MidiError, match="0 ticks per quarter"):
        read_midi_bytes(smf([body], division=0), name="d.mid")
    with pytest.raises(MidiError, match="tempo of 0"):
        read_midi_bytes(smf([track((0, tempo(0)), (0, on(60)), (480, off(60)))]), name="t.mid")


def test_velocities_above_127_are_clamped_with_a_warning():
    body = track((0, bytes([0x90, 60, 0xC8])), (480, off(60)))
    with pytest.warns(UserWarning, match="velocities above 127"):
        assert read_midi_bytes(smf([body])).notes() == [(60, 127, 0.0, 0.5)]


def test_devices_pipes_and_huge_files_are_refused(tmp_path, monkeypatch):
    import os
    with pytest.raises(MidiError, match="not a regular file"):
        read_midi("/dev/zero")
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    with pytest.raises(MidiError, match="not a regular file"):
        read_midi(fifo)
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd")
    monkeypatch.setattr("course_lib.midi.MAX_FILE_BYTES", 3)
    with pytest.raises(MidiError, match="larger than any real MIDI file"):
        read_midi(big)


# -- an independent reading: mido's messages, paired one by one -------------------------------

def reference_notes(data: bytes, sustain: bool = True) -> list[tuple[int, int, float, float]]:
    """The reading rules applied message by message to mido's parse, with exact fractions."""
    mid = mido.MidiFile(file=io.BytesIO(data))
    tempos, pedals, notes, last = [], [], [], 0
    for trk in mid.tracks:
        now, sounding, ended_at = 0, {}, {}
        for msg in trk:
            now += msg.time
            if msg.type == "set_tempo":
                tempos.append((now, msg.tempo))
            elif msg.type == "control_change" and msg.control == 64:
                pedals.append((now, msg.channel, msg.value))
            elif msg.type in ("note_on", "note_off"):
                key = (msg.channel, msg.note)
                strike = msg.type == "note_on" and msg.velocity > 0
                if strike:
                    if key in sounding and sounding[key][0] < now:
                        notes.append((*key, sounding[key][0], now, sounding[key][1]))
                        ended_at[key] = now
                    sounding[key] = (now, msg.velocity)
                elif key in sounding:
                    start, velocity = sounding.pop(key)
                    if start < now:
                        notes.append((*key, start, now, velocity))
                    elif ended_at.pop(key, None) == now:  # the release of the note just re-struck
                        sounding[key] = (start, velocity)
        for key, (start, velocity) in sounding.items():
            if start < now:
                notes.append((*key, start, now, velocity))
        last = max(last, now)
    notes = [n for n in notes if n[0] != 9]
    if sustain:
        notes = _held(notes, sorted(pedals, key=lambda p: p[0]), last)
    seconds = _clock(mid.ticks_per_beat, sorted(tempos, key=lambda t: t[0]))
    return sorted((p, v, seconds(s), seconds(e)) for _, p, s, e, v in notes)


def _held(notes, pedals, last):
    out = []
    for channel, pitch, start, end, velocity in notes:
        down, up, state = None, None, False
        for tick, ch, value in pedals + [(last, channel, 0)]:
            if ch != channel or (value >= 64) == state:
                continue
            state = value >= 64
            if state:
                down = tick
            elif down is not None and down <= end < tick:
                up = tick
        if up is not None:
            strikes = [s for c, p, s, _, _ in notes if c == channel and p == pitch and s > start]
            end = max(end, min([up] + strikes))
        out.append((channel, pitch, start, end, velocity))
    return out


def _clock(division, tempos):
    def seconds(tick):
        total, at, current = Fraction(0), 0, 500_000
        for change_tick, value in tempos:
            if change_tick > tick:
                break
            total += Fraction((change_tick - at) * current, 10**6 * division)
            at, current = change_tick, value
        return float(total + Fraction((tick - at) * current, 10**6 * division))
    return seconds


MUSIC21_MIDI = sorted(Path(music21.__file__).parent.rglob("*.mid"))


def test_music21_ships_midi_files():
    assert len(MUSIC21_MIDI) >= 20


@pytest.mark.parametrize("path", MUSIC21_MIDI, ids=lambda p: p.name)
def test_every_midi_file_music21_ships_reads_like_the_independent_reading(path):
    data = path.read_bytes()
    for sustain in (True, False):
        assert sorted(read_midi(path, sustain=sustain).notes()) == reference_notes(data, sustain)


# -- random files written by mido: read back exactly ----------------------------------------

@st.composite
def midi_files(draw):
    """Random multi-track files: tempo changes, notes on several channels, repeated notes
    that touch (release and re-strike on one tick, in either order), pedals."""
    division = draw(st.sampled_from([96, 384, 480, 1000]))
    mid = mido.MidiFile(ticks_per_beat=division)
    tempo_track = [(0, mido.MetaMessage("set_tempo", tempo=draw(st.integers(200_000, 1_500_000))))]
    for _ in range(draw(st.integers(0, 3))):
        tempo_track.append((draw(st.integers(0, 4000)),
                            mido.MetaMessage("set_tempo", tempo=draw(st.integers(200_000, 1_500_000)))))
    tracks, expected = [tempo_track], []
    for _ in range(draw(st.integers(1, 3))):
        events, used = [], set()
        for _ in range(draw(st.integers(1, 6))):
            channel, pitch = draw(st.integers(0, 3)), draw(st.integers(21, 108))
            if (channel, pitch) in used:  # one run of notes per key and track: the truth is then plain
                continue
            used.add((channel, pitch))
            at = draw(st.integers(0, 500))
            for _ in range(draw(st.integers(1, 4))):  # a run of notes of one key, each touching or not
                length = draw(st.integers(1, 700))
                velocity = draw(st.integers(1, 127))
                key_order = draw(st.booleans())
                events.append((at, 1 if key_order else 0, mido.Message("note_on", channel=channel, note=pitch,
                                                                     velocity=velocity)))
                events.append((at + length, 0, mido.Message("note_off", channel=channel, note=pitch)))
                expected.append((channel, pitch, at, at + length, velocity))
                at += length + draw(st.sampled_from([0, 0, 1, 50]))
            if draw(st.booleans()):
                events.append((draw(st.integers(0, 3000)), 0,
                               mido.Message("control_change", channel=channel, control=64, value=127)))
                events.append((draw(st.integers(3000, 4000)), 0,
                               mido.Message("control_change", channel=channel, control=64, value=0)))
        tracks.append([(t, m) for t, _, m in sorted(events, key=lambda e: (e[0], e[1]))])
    for events in tracks:
        trk, now = mido.MidiTrack(), 0
        for tick, msg in sorted(events, key=lambda e: e[0]):
            trk.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(trk)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    seconds = _clock(division, sorted(((t, m.tempo) for t, m in tempo_track), key=lambda t: t[0]))
    notes = sorted((p, v, seconds(s), seconds(e)) for c, p, s, e, v in expected)
    return buffer.getvalue(), notes


@settings(max_examples=100, deadline=None)
@given(midi_files())
def test_random_files_read_back_exactly_the_notes_written(file):
    data, notes = file
    assert sorted(read_midi_bytes(data, sustain=False).notes()) == notes
    assert sorted(read_midi_bytes(data).notes()) == reference_notes(data)


@st.composite
def message_streams(draw):
    """Any order of strikes and releases of a few keys, ties on one tick included."""
    events, now = [], 0
    for _ in range(draw(st.integers(0, 40))):
        now += draw(st.sampled_from([0, 0, 0, 1, 7, 100]))
        pitch = draw(st.sampled_from([60, 61]))
        strike = draw(st.booleans())
        events.append((now, on(pitch, draw(st.integers(1, 127))) if strike else off(pitch)))
    return smf([track(*events)])


@settings(max_examples=300, deadline=None)
@given(message_streams())
def test_any_message_order_pairs_like_the_message_by_message_rules(data):
    assert sorted(read_midi_bytes(data, sustain=False).notes()) == reference_notes(data, sustain=False)


def test_the_fast_path_takes_plain_files_and_leaves_the_rest_to_the_rules(reader):
    fast = course_lib.midi._read_with_symusic
    if reader != "symusic where exact":
        pytest.skip("about the fast path")

    def taken(*events):
        data = smf([track(*events)])
        return fast(data, *course_lib.midi._chunks(data, "x"), "x") is not None

    assert taken((0, on(60)), (480, off(60)), (480, on(60)), (960, off(60)))
    assert taken((0, on(60)), (480, b"\xff\x01\x00"))  # closed at the end of its track, as the rules say
    # overlaps and two voices on one key: symusic's notes still give the order of every message
    assert taken((0, on(60)), (240, on(60)), (480, off(60)), (960, off(60)))
    assert taken((0, on(60)), (0, on(60)), (480, off(60)), (480, off(60)))
    assert taken((0, on(60)), (0, off(60)))  # no length, and symusic says the strike came first
    assert taken((0, on(60)), (240, on(60)), (480, b"\xff\x01\x00"))  # two notes left open at the end
    # ...but not where the order within one tick is unknown and matters
    assert not taken((0, on(60)), (0, on(60, 80)), (480, off(60)), (480, off(60)))  # which velocity is kept?
    # a re-strike ended the first note; then a strike and a release on one tick, none sounding
    assert not taken((0, on(60)), (100, on(60)), (200, off(60)), (300, on(60)), (300, off(60)), (400, off(60)))
    assert not taken((0, on(60)), (0, on(60)), (0, on(60)), (0, on(60)), (0, on(60)))  # closers run out
    assert taken((0, on(60)), (0, pedal(127)), (480, off(60)))  # a pedal in its notes' track and channel
    assert not taken((0, b"\xc0\x05"), (0, pedal(127)), (0, on(60)), (480, off(60)))  # controllers and programs

    def taken_apart(*tracks):
        data = smf([track(*events) for events in tracks])
        return fast(data, *course_lib.midi._chunks(data, "x"), "x") is not None

    # symusic drops a part with no notes, its pedal with it: the rules must read that file
    assert not taken_apart([(100, pedal(127))], [(0, on(60)), (200, off(60))])
    assert taken_apart([(100, b"\xff\x01\x01a")], [(0, on(60)), (200, off(60))])


def test_a_program_change_between_two_strikes_of_one_key_keeps_the_rules():
    # symusic files the two notes under two programs; the rules still pair them on one key
    body = track((0, b"\xff\x03\x03abc"), (0, on(60)), (16, b"\xc0\x28"), (16, on(60, 80)),
                 (32, off(60)), (48, off(60)))
    notes = read_midi_bytes(smf([body], division=96)).notes()
    assert [(p, v, s, e) for p, v, s, e in notes] == [(60, 100, 0.0, 1 / 12), (60, 80, 1 / 12, 1 / 6)]


def test_a_longer_header_and_an_early_end_of_track_read_like_the_rules():
    body = track((0, on(60)), (480, off(60)))
    long_header = b"MThd" + struct.pack(">IHHH", 8, 1, 1, 480) + b"\x00\x00" + body[0:0]
    data = long_header + b"MTrk" + struct.pack(">I", len(body)) + body
    assert spans(data) == [(60, 0.0, 0.5)]
    # an end of track before the last one: the rules stop there and close what sounds
    early = (vlq(0) + on(60) + vlq(240) + b"\xff\x2f\x00" + vlq(240) + off(60) + EOT)
    assert spans(smf([early])) == [(60, 0.0, 0.25)]


def test_written_files_say_one_thing_to_every_reader(reader):
    # two voices on one key: the file holds the notes the rules read, none overlapping, so a
    # first-in-first-out reader (symusic) reads the same notes and the fast path takes it
    performance = Performance(np.array([60, 60, 60, 62]), np.array([80, 90, 70, 64]),
                              np.array([0.0, 0.0, 0.5, 0.2]), np.array([1.0, 0.5, 1.5, 0.7]))
    data = course_lib.midi.midi_bytes(performance)
    notes = read_midi_bytes(data).notes()
    assert [(p, s, e) for p, _, s, e in notes] == [(60, 0.0, 0.5), (62, 0.2, 0.7), (60, 0.5, 1.0)]
    symusic_notes = symusic.Score.from_midi(data).to("second").tracks[0].notes
    assert sorted((n.pitch, n.velocity, round(n.time, 3), round(n.end, 3)) for n in symusic_notes) == sorted(notes)
    if reader == "symusic where exact":
        assert course_lib.midi._read_with_symusic(data, *course_lib.midi._chunks(data, "x"), "x") is not None
    assert read_midi_bytes(course_lib.midi.midi_bytes(read_midi_bytes(data))).notes() == notes
