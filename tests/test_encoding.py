import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.encoding import PerformanceEncoding, split_time_shift
from course_lib.performance import Performance

ENC = PerformanceEncoding()


def test_vocabulary_layout():
    assert ENC.vocab_size == 388
    assert ENC.note_on(0) == 0 and ENC.note_on(127) == 127
    assert ENC.note_off(0) == 128 and ENC.note_off(127) == 255
    assert ENC.time_shift(1) == 256 and ENC.time_shift(100) == 355
    assert ENC.velocity(0) == 356 and ENC.velocity(31) == 387


def test_event_names():
    assert ENC.event_name(60) == "NOTE_ON(60)"
    assert ENC.event_name(128 + 60) == "NOTE_OFF(60)"
    assert ENC.event_name(256 + 24) == "TIME_SHIFT(250 ms)"
    assert ENC.event_name(356 + 17) == "VELOCITY(17)"
    assert list(ENC.event_kind([5, 200, 300, 380])) == [0, 1, 2, 3]


def test_split_time_shift():
    assert split_time_shift(250) == [100, 100, 50]
    assert split_time_shift(100) == [100]
    assert split_time_shift(0) == []
    with pytest.raises(ValueError):
        split_time_shift(-1)


def test_velocity_bins_cover_midi_range():
    bins = ENC.velocity_to_bin(np.arange(1, 128))
    assert bins.min() == 0 and bins.max() == 31
    assert np.all(np.diff(bins) >= 0)
    back = ENC.bin_to_velocity(bins)
    assert np.all(np.abs(back - np.arange(1, 128)) <= 2)
    assert np.all(ENC.velocity_to_bin(back) == bins)  # the decoded velocity stays in its bin


def test_hand_encoded_example():
    perf = Performance.from_notes([(60, 80, 0.0, 0.5), (64, 80, 0.25, 1.0)])
    names = ENC.event_names(ENC.encode(perf))
    assert names == [
        "VELOCITY(19)", "NOTE_ON(60)", "TIME_SHIFT(250 ms)", "NOTE_ON(64)",
        "TIME_SHIFT(250 ms)", "NOTE_OFF(60)", "TIME_SHIFT(500 ms)", "NOTE_OFF(64)",
    ]


def test_long_silence_is_split_into_one_second_shifts():
    perf = Performance.from_notes([(60, 80, 2.5, 2.6)])
    names = ENC.event_names(ENC.encode(perf))
    assert names[:3] == ["TIME_SHIFT(1000 ms)", "TIME_SHIFT(1000 ms)", "TIME_SHIFT(500 ms)"]


def test_restruck_pitch_is_ended_first():
    perf = Performance.from_notes([(60, 80, 0.0, 1.0), (60, 80, 0.5, 0.8)])
    out = ENC.decode(ENC.encode(perf)).notes()
    assert [(s, e) for _, _, s, e in out] == [(0.0, 0.5), (0.5, 0.8)]


def test_decode_accepts_any_sequence():
    # unmatched note-off, note-on of a sounding pitch, dangling note-on
    events = [ENC.note_off(61), ENC.note_on(60), ENC.time_shift(10), ENC.note_on(60),
              ENC.time_shift(20), ENC.note_on(62)]
    notes = ENC.decode(events).notes()
    assert [(p, round(s, 2), round(e, 2)) for p, _, s, e in notes] == [(60, 0.0, 0.1), (60, 0.1, 0.3)]
    # note 62 starts at the very end: zero length, dropped


def test_decode_uses_default_velocity_before_any_velocity_event():
    notes = ENC.decode([ENC.note_on(60), ENC.time_shift(50)]).notes()
    assert notes == [(60, int(ENC.bin_to_velocity(ENC.velocity_to_bin(64))), 0.0, 0.5)]


@pytest.mark.parametrize("bad", [[388], [-1], [0, 1000], [1.5]])
def test_decode_rejects_ids_outside_vocabulary(bad):
    with pytest.raises(ValueError, match="outside the vocabulary|integers"):
        ENC.decode(bad)


def test_empty():
    assert len(ENC.encode(Performance.empty())) == 0
    assert len(ENC.decode([])) == 0


@st.composite
def performances(draw):
    """Random performances without two notes of one pitch closer than 20 ms."""
    n = draw(st.integers(0, 40))
    notes, last_end = [], {}
    for _ in range(n):
        pitch = draw(st.integers(0, 127))
        start = draw(st.floats(0, 30, allow_nan=False))
        length = draw(st.floats(0.001, 4, allow_nan=False))
        velocity = draw(st.integers(1, 127))
        if any(abs(start - s) < 0.02 or (s <= start < e + 0.02) or (start <= s < start + length + 0.02)
               for s, e in last_end.get(pitch, [])):
            continue
        last_end.setdefault(pitch, []).append((start, start + length))
        notes.append((pitch, velocity, start, start + length))
    return Performance.from_notes(notes)


@settings(max_examples=300, deadline=None)
@given(performances())
def test_round_trip_within_one_step_and_one_velocity_bin(perf):
    out = ENC.decode(ENC.encode(perf))
    assert len(out) == len(perf)
    # Performance sorts by (start, pitch, end); quantisation can reorder near-simultaneous
    # notes, so compare note by note after matching on (pitch, quantised start).
    def key(p):
        return np.lexsort((np.round(p.start * 100), p.pitch))
    a, b = key(perf), key(out)
    assert np.array_equal(perf.pitch[a], out.pitch[b])
    assert np.all(np.abs(perf.start[a] - out.start[b]) <= 0.005 + 1e-9)
    end_error = np.abs(perf.end[a] - out.end[b])
    one_step = np.isclose(out.end[b] - out.start[b], 0.01)  # a note shorter than a step gets one
    assert np.all(end_error[~one_step] <= 0.005 + 1e-9)
    assert np.all(end_error[one_step] <= 0.015 + 1e-9)
    assert np.all(np.abs(ENC.velocity_to_bin(perf.velocity[a]) - ENC.velocity_to_bin(out.velocity[b])) == 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 387), max_size=300))
def test_any_id_sequence_decodes_to_valid_notes_and_reencodes(ids):
    perf = ENC.decode(ids)
    assert np.all(perf.end > perf.start)
    again = ENC.decode(ENC.encode(perf))
    assert again == perf  # decoded notes sit on the clock already: a fixed point


@settings(max_examples=100, deadline=None)
@given(performances())
def test_encode_is_a_fixed_point_after_one_round(perf):
    events = ENC.encode(ENC.decode(ENC.encode(perf)))
    assert np.array_equal(events, ENC.encode(perf))


def test_round_trip_errors_separates_keyboard_effects_from_quantisation():
    perf = Performance.from_notes([
        (60, 80, 0.0, 1.0), (60, 90, 0.0, 0.5),    # a unison: merged into the longer note
        (64, 80, 0.0, 2.0), (64, 80, 1.0, 1.5),    # struck again while sounding: shortened
        (67, 81, 0.503, 0.751),                   # plain quantisation: 3 ms and 1 ms
    ])
    r = ENC.round_trip_errors(perf)
    assert (r["notes"], r["merged"], r["shortened"]) == (5, 1, 1)
    assert len(r["onset"]) == 4
    assert r["onset"].max() == pytest.approx(0.003) and r["offset"].max() == pytest.approx(0.001)
    assert r["velocity"].max() <= 2


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(50, 54), st.integers(1, 127), st.floats(0, 3), st.floats(0.011, 2)),
                max_size=30))
def test_round_trip_errors_stay_within_half_a_step(rows):
    perf = Performance.from_notes([(p, v, s, s + d) for p, v, s, d in rows])
    r = ENC.round_trip_errors(perf)
    assert np.all(r["onset"] <= 0.005 + 1e-9) and np.all(r["velocity"] <= 2)


def test_convention_counts_on_a_hand_made_performance():
    from course_lib.encoding import convention_counts

    perf = Performance.from_notes([
        (60, 80, 0.0, 1.0), (60, 40, 0.001, 0.5),   # a unison in one step: the longer is kept
        (64, 80, 0.0, 2.0), (64, 80, 1.0, 1.5),     # 64 struck again while sounding: shortened
        (67, 80, 0.0, 0.5), (67, 80, 0.5, 0.7),     # released and struck again in one step
    ])
    counts = convention_counts([perf, Performance.empty()])
    assert counts["notes"] == 6
    assert counts["merged"] == 1
    assert counts["shortened"] == 1
    assert counts["restruck_in_one_step"] == 2  # 67 at 0.5 s and 64 at 1.0 s
    assert counts["steps_with_offs_and_ons"] == 2
    assert counts["first_note_before_velocity"] == 0
    assert counts["velocity_changed"] == 5 and counts["mean_velocity_error"] == 1.0  # 80 → 79 (bin 19's middle)


def test_a_note_lasting_days_is_cut_and_a_performance_lasting_months_refused():
    from course_lib.encoding import MAX_EVENTS, MAX_NOTE_SECONDS

    enc = PerformanceEncoding()
    with pytest.warns(UserWarning, match="1 note\\(s\\) longer than 300 s"):
        events = enc.encode(Performance.from_notes([(60, 80, 0.0, 1e7)]))
    assert len(events) < 400 and enc.decode(events).notes()[0][3] == MAX_NOTE_SECONDS
    far = Performance.from_notes([(60, 80, 0.0, 1.0), (62, 80, 1e7, 1e7 + 1)])
    with pytest.raises(ValueError, match="MAX_EVENTS"):
        enc.encode(far)
    assert MAX_EVENTS > 100 * 2255  # the corpus's longest work (2,255 s) encodes


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(21, 108), st.integers(1, 127), st.floats(0, 30), st.floats(0.01, 5)),
                max_size=40),
       st.integers(0, 120))
def test_an_opening_encodes_like_the_opening_of_the_whole(notes, n):
    perf = Performance.from_notes([(p, v, s, s + d) for p, v, s, d in notes])
    enc = PerformanceEncoding()
    assert np.array_equal(enc.encode(perf, max_events=n), enc.encode(perf)[:n])


def test_an_opening_of_a_very_long_file_costs_what_the_opening_costs():
    far = Performance.from_notes([(60, 80, 0.0, 1.0), (62, 80, 1e7, 1e7 + 1)])
    assert len(PerformanceEncoding().encode(far, max_events=50)) == 50
