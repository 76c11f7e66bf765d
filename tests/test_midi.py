import struct

import numpy as np
import pytest
import symusic
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.midi import MidiError, midi_bytes, read_midi, read_midi_bytes, write_midi
from course_lib.performance import Performance


def _smf(tracks: list[bytes], division: int = 480) -> bytes:
    """A Standard MIDI File built by hand, byte by byte."""
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), division)
    return header + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def test_write_then_read_round_trip(tmp_path):
    perf = Performance.from_notes([(60, 80, 0.0, 0.5), (64, 90, 0.25, 1.0), (72, 10, 1.0, 1.333)])
    path = write_midi(perf, tmp_path / "sub" / "a.mid")
    back = read_midi(path)
    assert np.array_equal(back.pitch, perf.pitch)
    assert np.array_equal(back.velocity, perf.velocity)
    assert np.allclose(back.start, perf.start, atol=1e-3)
    assert np.allclose(back.end, perf.end, atol=1e-3)


def test_velocity_zero_note_on_is_a_note_off():
    # delta 0: note-on 60 vel 100; delta 480: note-on 60 vel 0; end of track
    track = b"\x00\x90\x3c\x64" + b"\x83\x60\x90\x3c\x00" + b"\x00\xff\x2f\x00"
    perf = read_midi_bytes(_smf([track]))
    assert perf.notes() == [(60, 100, 0.0, 0.5)]  # 480 ticks at the default 120 bpm


def test_tempo_changes_are_honoured():
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    score.tempos.append(symusic.Tempo(960, 60.0))  # after two beats the tempo halves
    track = symusic.Track("t", 0, False)
    for beat in range(4):
        track.notes.append(symusic.Note(beat * 480, 480, 60 + beat, 80))
    score.tracks.append(track)
    starts = read_midi_bytes(bytes(score.dumps_midi())).start
    assert np.allclose(starts, [0.0, 0.5, 1.0, 2.0], atol=1e-4)


def test_tracks_are_merged_and_drums_left_out():
    score = symusic.Score(480)
    for program, pitch, drum in [(0, 60, False), (40, 72, False), (0, 36, True)]:
        t = symusic.Track("t", program, drum)
        t.notes.append(symusic.Note(0, 480, pitch, 80))
        score.tracks.append(t)
    assert list(read_midi_bytes(bytes(score.dumps_midi())).pitch) == [60, 72]


GOOD = midi_bytes(Performance.from_notes([(60, 80, 0, 1), (62, 80, 1, 2), (64, 80, 2, 3)]))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"hello, I am a text file\n", "not a Standard MIDI File"),
        (bytes(range(200)), "not a Standard MIDI File"),
        (GOOD[:20], "damaged"),
        (GOOD[:-7], "damaged"),
        (GOOD[:14] + b"MTrk" + struct.pack(">I", 10_000_000) + GOOD[22:], "damaged"),
        (b"MThd" + struct.pack(">I", 2) + b"\x00\x01", "damaged"),
    ],
    ids=["empty", "text", "random", "truncated-header", "truncated-track", "bad-chunk-length", "short-header"],
)
def test_unreadable_files_raise_midi_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken.mid"
    path.write_bytes(content)
    with pytest.raises(MidiError, match=message) as info:
        read_midi(path)
    assert "broken.mid" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_midi(tmp_path / "nope.mid")
    with pytest.raises(MidiError, match="folder"):
        read_midi(tmp_path)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, len(GOOD)))
def test_corrupted_bytes_never_raise_anything_but_midi_error(noise, cut):
    for data in (GOOD[:cut] + noise, b"MThd" + noise, GOOD[:cut]):
        try:
            perf = read_midi_bytes(data, name="fuzz.mid")
        except MidiError as err:
            assert "fuzz.mid" in str(err)
        else:
            assert isinstance(perf, Performance)


def test_a_note_ends_where_its_pitch_is_struck_again():
    # two overlapping note-ons of one pitch in one track, as music21 exports unisons
    track = (b"\x00\x90\x3c\x64" + b"\x83\x60\x90\x3c\x50"  # on 60 at 0, on 60 again at 480
             + b"\x83\x60\x80\x3c\x00" + b"\x83\x60\x80\x3c\x00"  # offs at 960 and 1440
             + b"\x00\xff\x2f\x00")
    notes = read_midi_bytes(_smf([track])).notes()
    assert [(s, e) for _, _, s, e in notes] == [(0.0, 0.5), (0.5, pytest.approx(notes[1][3]))]
    assert notes[1][3] in (pytest.approx(1.0), pytest.approx(1.5))


def test_sustain_pedal_extends_notes_until_release():
    score = symusic.Score(480)
    t = symusic.Track("p", 0, False)
    t.notes.append(symusic.Note(0, 240, 60, 80))     # released at 0.25 s with the pedal down
    t.notes.append(symusic.Note(960, 240, 60, 80))   # struck again at 1.0 s
    t.notes.append(symusic.Note(300, 100, 62, 80))   # released at ~0.42 s, pedal up at 1.25 s
    t.controls.append(symusic.ControlChange(100, 64, 127))
    t.controls.append(symusic.ControlChange(1200, 64, 0))
    score.tracks.append(t)
    data = bytes(score.dumps_midi())
    held = {(p, round(s, 3)): round(e, 3) for p, _, s, e in read_midi_bytes(data).notes()}
    assert held == {(60, 0.0): 1.0, (62, 0.312): 1.25, (60, 1.0): 1.25}
    dry = {(p, round(s, 3)): round(e, 3) for p, _, s, e in read_midi_bytes(data, sustain=False).notes()}
    assert dry == {(60, 0.0): 0.25, (62, 0.312): 0.417, (60, 1.0): 1.25}


def test_one_missing_note_off_does_not_shift_every_later_note():
    # on 60 at 0 (never released), then three well-formed notes of 60, 480 ticks = 0.5 s
    track = (b"\x00\x90\x3c\x64" + b"\x83\x60\x90\x3c\x64" + b"\x83\x60\x80\x3c\x00"
             + b"\x83\x60\x90\x3c\x64" + b"\x83\x60\x80\x3c\x00"
             + b"\x83\x60\x90\x3c\x64" + b"\x83\x60\x80\x3c\x00" + b"\x00\xff\x2f\x00")
    notes = [(s, e) for _, _, s, e in read_midi_bytes(_smf([track])).notes()]
    assert notes[:3] == [(0.0, 0.5), (0.5, 1.0), (1.5, 2.0)]
    assert all(e - s <= 0.5 for s, e in notes)


def test_write_midi_refuses_times_a_midi_file_cannot_store(tmp_path):
    from course_lib.midi import MAX_WRITE_SECONDS

    ok = Performance.from_notes([(60, 80, 0.0, 1.0), (62, 80, MAX_WRITE_SECONDS - 2, MAX_WRITE_SECONDS - 1)])
    assert read_midi(write_midi(ok, tmp_path / "long.mid")).notes()[-1][3] == pytest.approx(MAX_WRITE_SECONDS - 1)
    for end in (MAX_WRITE_SECONDS + 10, 2.2e6, 1e9):
        with pytest.raises(MidiError, match="later than a MIDI file"):
            write_midi(Performance.from_notes([(60, 80, 0.0, 1.0), (62, 80, end - 1, end)]), tmp_path / "x.mid")
    assert not (tmp_path / "x.mid").exists()
