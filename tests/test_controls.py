"""Control signals against examples computed by hand."""

import numpy as np
import pytest

from course_lib import controls
from course_lib.encoding import PerformanceEncoding
from course_lib.performance import Performance

ENC = PerformanceEncoding()
# C4 and E4 together at 0 s (velocity 40), G4 at 1 s (velocity 100), silence until 4 s
EVENTS = ENC.encode(Performance.from_notes([(60, 40, 0, 0.5), (64, 40, 0, 0.5), (67, 100, 1.0, 4.0)]))


def test_event_times_add_up_the_shifts():
    times = controls.event_times(EVENTS)
    names = ENC.event_names(EVENTS)
    assert names[:3] == ["VELOCITY(9)", "NOTE_ON(60)", "NOTE_ON(64)"]
    assert times[names.index("NOTE_ON(67)")] == pytest.approx(1.0)
    assert np.all(np.diff(times) >= 0)


def test_note_density_counts_notes_in_the_centred_window():
    density = controls.note_density(EVENTS, window=3.0)
    names = ENC.event_names(EVENTS)
    # at 0 s the window [-1.5, 1.5) holds all three notes; at 4 s ([2.5, 5.5)) none
    assert density[names.index("NOTE_ON(60)")] == pytest.approx(3 / 3.0)
    assert density[-1] == 0.0
    assert controls.note_density(EVENTS, window=1.0)[names.index("NOTE_ON(60)")] == pytest.approx(2 / 1.0)


def test_mean_velocity_and_pitch_classes():
    names = ENC.event_names(EVENTS)
    at_start = names.index("NOTE_ON(60)")
    v40, v100 = (int(ENC.bin_to_velocity(ENC.velocity_to_bin(v))) for v in (40, 100))
    assert controls.mean_velocity(EVENTS, window=3.0)[at_start] == pytest.approx((2 * v40 + v100) / 3)
    assert controls.mean_velocity(EVENTS, window=1.0)[at_start] == pytest.approx(v40)
    assert np.isnan(controls.mean_velocity(EVENTS)[-1])
    hist = controls.pitch_class_histogram(EVENTS, window=3.0)
    assert hist[at_start].tolist() == pytest.approx([1 / 3, 0, 0, 0, 1 / 3, 0, 0, 1 / 3, 0, 0, 0, 0])
    assert hist[-1].sum() == 0.0


def test_relative_position_runs_from_zero_to_one():
    pos = controls.relative_position(EVENTS)
    assert pos[0] == 0.0 and pos[-1] == 1.0 and np.all(np.diff(pos) >= 0)  # the last note-off ends the piece
    assert pos[ENC.event_names(EVENTS).index("NOTE_ON(67)")] == pytest.approx(1.0 / 4.0)


def test_the_missing_bit():
    assert controls.with_missing_bit([0.25, 0.75], 2).tolist() == [0.0, 0.25, 0.75]
    assert controls.with_missing_bit(None, 3).tolist() == [1.0, 0.0, 0.0, 0.0]
    per_event = controls.with_missing_bit(np.ones((5, 12)), 12)
    assert per_event.shape == (5, 13) and np.all(per_event[:, 0] == 0)
    with pytest.raises(ValueError, match="12 components"):
        controls.with_missing_bit(np.ones(11), 12)


def test_bad_window_and_ids():
    with pytest.raises(ValueError, match="window"):
        controls.note_density(EVENTS, window=0)
    with pytest.raises(ValueError, match="vocabulary"):
        controls.note_density([400])


class _Work:
    period = "Baroque"


def test_control_vectors_have_the_spec_size_and_missing_bits():
    spec = controls.ControlSpec(("density", "velocity", "position", "pitch_classes", "period"))
    assert spec.size == (7 + 1) + (8 + 1) + (1 + 1) + (12 + 1) + (7 + 1)
    v = spec.vectors(EVENTS, _Work())
    assert v.shape == (len(EVENTS), spec.size) and v.dtype == np.float32
    start = 0
    for name, size in spec.sizes.items():
        block = v[:, start:start + size + 1]
        assert np.all(block[:, 0] == 0), name  # every control known here
        start += size + 1
    dropped = spec.vectors(EVENTS, _Work(), drop=("density", "period"))
    assert dropped[0, 0] == 1 and dropped[0, 1:8].sum() == 0
    assert dropped[0, -8] == 1 and dropped[0, -7:].sum() == 0


def test_requests_encode_like_the_data_and_refuse_bad_values():
    spec = controls.ControlSpec(("density", "period"))
    data = spec.vectors(EVENTS, _Work())[ENC.event_names(EVENTS).index("NOTE_ON(60)")]
    assert np.array_equal(spec.request(density=1.0, period="Baroque"), data)
    missing = spec.request()
    assert missing[0] == 1 and missing[8] == 1 and missing.sum() == 2
    with pytest.raises(ValueError, match="allowed: \\['Medieval'"):
        spec.request(period="Jazz")
    with pytest.raises(ValueError, match="no control \\['tempo'\\]"):
        spec.request(tempo=120)
    with pytest.raises(ValueError, match="0–100"):
        spec.request(density=-1)
    with pytest.raises(ValueError, match="choose from"):
        controls.ControlSpec(("loudness",))
    with pytest.raises(ValueError, match="12 non-negative"):
        controls.ControlSpec(("pitch_classes",)).request(pitch_classes=[1, 2])


class _Bach:
    period, composer, born = "Baroque", "Johann Sebastian Bach", 1685


class _Folk:
    period, composer, born = "Traditional", "Traditional", None


def test_metadata_controls_composer_and_year_of_birth():
    spec = controls.ControlSpec(("composer", "born"))
    assert "Johann Sebastian Bach" in spec.composers and spec.size == len(spec.composers) + 1 + 2
    bach = spec.vectors(EVENTS, _Bach())
    assert bach[0, 0] == 0 and bach[0, 1 + spec.composers.index("Johann Sebastian Bach")] == 1
    assert bach[0, -2] == 0 and bach[0, -1] == pytest.approx((1685 - 1250) / 700)
    folk = spec.vectors(EVENTS, _Folk())
    assert folk[0, -2] == 1 and folk[0, -1] == 0  # no year of birth: the control is missing
    assert np.array_equal(spec.request(composer="Johann Sebastian Bach", born=1685), bach[0])
    with pytest.raises(ValueError, match="unknown composer 'Bach'; allowed"):
        spec.request(composer="Bach")
    with pytest.raises(ValueError, match="1250–1950"):
        spec.request(born=2020)


class _BachInD:
    period, composer, born, key = "Baroque", "Johann Sebastian Bach", 1685, "D minor"


class _ModalTune:
    period, composer, born, key = "Traditional", "Traditional", None, "D dorian"


def test_key_names_and_the_key_control_moves_with_transposition():
    assert controls.key_index("C major") == 0 and controls.key_index("B- major") == 10
    assert controls.key_index("e- minor") == 15 and controls.key_index("C# minor") == 13
    with pytest.raises(ValueError, match="unknown key 'D dorian'.*allowed: C major"):
        controls.key_index("D dorian")
    spec = controls.ControlSpec(("key",))
    d_minor = spec.vectors(EVENTS, _BachInD())
    assert d_minor[0, 0] == 0 and d_minor[0, 1 + controls.KEY_NAMES.index("D minor")] == 1
    up_three = spec.vectors(EVENTS, _BachInD(), transpose=3)  # D minor + 3 semitones = F minor
    assert up_three[0, 1 + controls.KEY_NAMES.index("F minor")] == 1
    down_three = spec.vectors(EVENTS, _BachInD(), transpose=-3)
    assert down_three[0, 1 + controls.KEY_NAMES.index("B minor")] == 1
    assert spec.vectors(EVENTS, _ModalTune())[0, 0] == 1  # modal: the key control is missing
    assert np.array_equal(spec.request(key="D minor"), d_minor[0])


def test_the_group_control_reads_the_shipped_composer_groups():
    spec = controls.ControlSpec(("group",))
    group = spec.groups["Johann Sebastian Bach"]
    bach = spec.vectors(EVENTS, _BachInD())
    assert bach[0, 0] == 0 and bach[0, 1 + group] == 1 and bach[0].sum() == 1
    assert spec.vectors(EVENTS, _ModalTune())[0, 1 + spec.groups["Traditional"]] == 1
    with pytest.raises(ValueError, match="unknown composer group 9; allowed: 0–"):
        spec.request(group=9)


def test_windows_carry_the_transposed_key():
    from course_lib.data import EventWindows

    piece = Performance.from_notes([(60 + (i % 5), 80, i * 0.25, i * 0.25 + 0.2) for i in range(200)])

    class Work:
        performance, period, composer, born, key = piece, "Baroque", "Johann Sebastian Bach", 1685, "C major"

    spec = controls.ControlSpec(("key",))
    windows = EventWindows([Work()], 32, augment=True, controls=spec, seed=3)
    for i in range(len(windows)):
        item = windows[i]
        assert item["controls"][0, 1 + item["transpose"] % 12] == 1


def test_only_presents_the_other_controls_as_missing():
    import torch

    spec = controls.ControlSpec(("density", "period"))
    full = spec.vectors(EVENTS, _BachInD())
    period_only = spec.only(full, ["period"])
    where = spec.slices()
    assert where["density"] == slice(0, 8) and where["period"] == slice(8, 16)
    assert np.array_equal(period_only[:, where["period"]], full[:, where["period"]])
    assert (period_only[:, 0] == 1).all() and (period_only[:, 1:8] == 0).all()
    assert torch.equal(spec.only(torch.as_tensor(full), ["period"]), torch.as_tensor(period_only))
    assert np.array_equal(spec.only(full, ["density", "period"]), full)
    with pytest.raises(ValueError, match="no control \\['key'\\]"):
        spec.only(full, ["key"])


def _every_control():
    return controls.ControlSpec(tuple(controls.CONTROLS))


def test_every_row_of_the_table_is_complete():
    spec = _every_control()
    for name, control in controls.CONTROLS.items():
        option = spec.option(name)
        assert option.name == name and option.kind in ("choice", "number")
        values = list(option.choices.values())[:3] if option.kind == "choice" else [option.low, option.default,
                                                                                     option.high]
        for value in values:   # every value the studio offers is one the control accepts
            assert control.encode(spec, value).shape == (spec.sizes[name],), name
        assert (control.from_events is None) != (control.from_work is None), name
        assert option.label(None) == "not given" and option.label(option.default) != "not given"
    data = spec.vectors(EVENTS, _BachInD())
    assert data.shape == (len(EVENTS), spec.size)


def test_command_line_text_is_parsed_by_each_row():
    spec = _every_control()
    typed = {"density": "6", "velocity": "90", "position": "0.5", "pitch_classes": "1,0,1,0,1,1,0,1,0,1,0,1",
             "key": "D minor", "period": "Baroque", "composer": "Johann Sebastian Bach", "born": "1685", "group": "2",
             "tempo": "120", "form": "jig"}
    assert set(typed) == set(controls.CONTROLS)
    values = {name: spec.parse(name, text) for name, text in typed.items()}
    assert values["density"] == 6.0 and values["group"] == 2 and len(values["pitch_classes"]) == 12
    assert spec.request(**values).shape == (spec.size,)
    with pytest.raises(ValueError, match="needs a number"):
        spec.parse("density", "fast")
    with pytest.raises(ValueError, match="for each of the 12 pitch classes"):
        spec.parse("pitch_classes", "1,x")
    assert values["tempo"] == 120.0 and values["form"] == "jig"
    assert spec.parse("mood", "calm") == "calm"   # not a control: request() says so


def test_one_scale_definition_for_keys_and_the_studio():
    from course_lib.style import SCALES, scale_profile

    assert controls.KEY_NAMES[:2] == ("C major", "C# major") and len(controls.KEY_NAMES) == 12 * len(SCALES)
    minor = _every_control().option("pitch_classes").choices["A minor scale"]
    assert np.flatnonzero(minor).tolist() == np.flatnonzero(scale_profile("A minor")).tolist() == [0, 2, 4, 5, 7, 9, 11]


def test_a_new_control_is_one_row_of_the_table(monkeypatch):
    """What issue 20's tempo needs: a row, and the spec, the command line and the studio's option follow."""
    from course_lib.cli import _requested_controls

    tempo = controls.Control(
        "tempo", size=lambda spec: 3, parse=float,
        encode=lambda spec, bpm: controls._one_hot(np.array(np.searchsorted((80, 120), bpm, side="right")), 3),
        from_work=lambda spec, work, transpose: getattr(work, "tempo", None),
        option=lambda spec: controls.ControlOption("tempo", "number", 100, low=40, high=200, step=5, unit="BPM"),
        measure=lambda performance, seconds, requested: "—")
    monkeypatch.setitem(controls.CONTROLS, "tempo", tempo)
    spec = controls.ControlSpec(("density", "tempo"))
    assert spec.size == 8 + 4 and spec.request(tempo=130)[-4:].tolist() == [0, 0, 0, 1]

    class Allegro:
        tempo = 132

    assert spec.vectors(EVENTS, Allegro())[0, -4:].tolist() == [0, 0, 0, 1]
    assert spec.vectors(EVENTS, _Work())[0, -4:].tolist() == [1, 0, 0, 0]   # no tempo: missing
    assert spec.option("tempo").label(120) == "120 BPM"

    class Model:
        class train_config:
            control_spec = staticmethod(lambda: spec)

    assert _requested_controls(Model(), ["tempo=90"]).tolist()[-4:] == [0, 0, 1, 0]


class _Jig:
    period, composer, born, key = "Traditional", "Traditional", None, "D major"
    tempo, tempo_source, form, form_source = 180.0, "score mark", "jig", "ABC R: field"


class _AdagioMazurka:
    period, composer, born, key = "Romantic", "Frédéric Chopin", 1810, "C# minor"
    tempo, tempo_source, form, form_source = 70.8, "title word", "mazurka", "title"


def test_tempo_and_form_controls_read_the_metadata_the_notes_follow():
    """Issue 20: tempo in bins of quarter notes per minute (only a metronome mark, which the
    performance follows), form one-hot over the forms with enough training works."""
    from course_lib.corpus import CONTROL_FORMS

    spec = controls.ControlSpec(("tempo", "form"))
    assert spec.forms == CONTROL_FORMS and "jig" in spec.forms and "mazurka" not in spec.forms
    assert spec.size == len(controls.TEMPO_EDGES) + 2 + len(CONTROL_FORMS) + 1
    jig = spec.vectors(EVENTS, _Jig())[0]
    where = spec.slices()
    assert jig[where["tempo"]][0] == 0 and jig[where["tempo"]][1:].argmax() == np.searchsorted(
        controls.TEMPO_EDGES, 180, side="right")
    assert jig[where["form"]][0] == 0 and jig[where["form"]][1 + CONTROL_FORMS.index("jig")] == 1
    assert np.array_equal(spec.request(tempo=180, form="jig"), jig)
    other = spec.vectors(EVENTS, _AdagioMazurka())[0]   # a word's tempo, an unknown form: missing
    assert other[where["tempo"]][0] == 1 and other[where["form"]][0] == 1
    assert spec.option("tempo").label(120) == "120 BPM" and spec.option("form").choices["reel"] == "reel"
    with pytest.raises(ValueError, match="quarter notes per minute, 20–400"):
        spec.request(tempo=1000)
    with pytest.raises(ValueError, match="unknown form 'symphony'; allowed"):
        spec.request(form="symphony")
    assert controls.ControlSpec(("form",), forms=("reel", "jig")).sizes["form"] == 2
    from course_lib.cli import _requested_controls

    class Model:
        class train_config:
            control_spec = staticmethod(lambda: spec)

    assert np.array_equal(_requested_controls(Model(), ["tempo=180", "form=jig"]).numpy(), jig)


def test_tempo_and_form_are_dropped_in_training_like_the_other_controls():
    from course_lib.data import EventWindows

    piece = Performance.from_notes([(60 + (i % 5), 80, i * 0.25, i * 0.25 + 0.2) for i in range(200)])

    class Work(_Jig):
        performance = piece

    spec = controls.ControlSpec(("tempo", "form"))
    starts = [where.start for where in spec.slices().values()]
    kept = EventWindows([Work()], 32, controls=spec, drop_controls=0.0)[0]["controls"]
    dropped = EventWindows([Work()], 32, controls=spec, drop_controls=1.0)[0]["controls"]
    assert (kept[:, starts] == 0).all() and (dropped[:, starts] == 1).all()
    assert dropped.sum() == len(dropped) * 2
