"""The studio's logic without a browser: every control path, every strategy and primer, a bad upload."""

import datetime

import numpy as np
import pytest

from course_lib.controls import KEY_NAMES
from course_lib.midi import MidiError, midi_bytes, read_midi_bytes
from course_lib.performance import Performance
from course_lib.search import DEFAULT_MAX_NOTE_SECONDS
from course_lib.style import load_period_judge
from course_lib.widgets import STRATEGIES, Studio, StudioView, scale_profile


@pytest.fixture(scope="module")
def studio():
    return Studio()


@pytest.fixture(autouse=True)
def fresh(studio):
    """Every test starts from the conditioned model, nothing requested, no primer."""
    studio.select_model("prnn-cpu-cond")
    studio.controls.clear()
    studio.use_none()
    studio.strategy, studio.seconds, studio.seed, studio.temperature, studio.top_p = "sample", 4.0, 0, 1.0, None
    studio.max_note_seconds = DEFAULT_MAX_NOTE_SECONDS
    yield


def test_scale_profiles():
    assert scale_profile("C major").nonzero()[0].tolist() == [0, 2, 4, 5, 7, 9, 11]
    assert scale_profile("A minor").nonzero()[0].tolist() == [0, 2, 4, 5, 7, 9, 11]   # natural: G, as chapter 3
    assert scale_profile("C minor").nonzero()[0].tolist() == [0, 2, 3, 5, 7, 8, 10]
    with pytest.raises(ValueError, match="unknown key"):
        scale_profile("H major")


def test_the_conditioned_model_offers_each_of_its_controls(studio):
    assert studio.model_name == "prnn-cpu-cond"
    assert set(studio.control_names) == {"density", "velocity", "pitch_classes", "key", "period", "group", "composer"}
    for name in studio.control_names:
        option = studio.control_option(name)
        studio.set_control(name, option.default)   # every offered default is a value the model accepts
        if option.kind == "choice":
            for value in list(option.choices.values())[:3]:
                studio.set_control(name, value)
        else:
            studio.set_control(name, option.high)
    assert set(studio.controls) == set(studio.control_names)
    vector = studio.control_vector()
    assert vector.shape == (studio.spec.size,)
    assert all(vector[where.start] == 0 for where in studio.spec.slices().values())   # all given: c0 = 0
    studio.set_control("density", None)
    assert studio.control_vector()[studio.spec.slices()["density"].start] == 1      # not given: c0 = 1


def test_bad_controls_say_what_is_allowed(studio):
    with pytest.raises(ValueError, match="allowed: .*Baroque"):
        studio.set_control("period", "Jazz")
    with pytest.raises(ValueError, match="0–100"):
        studio.set_control("density", -1)
    with pytest.raises(ValueError, match="it reads"):
        studio.set_control("tempo", 120)
    assert studio.controls == {}


def test_switching_to_an_unconditioned_model_drops_the_controls(studio):
    studio.set_control("period", "Baroque")
    studio.select_model("prnn-cpu")
    assert studio.control_names == () and studio.controls == {} and studio.control_vector() is None
    with pytest.raises(ValueError, match="no controls"):
        studio.set_control("period", "Baroque")
    with pytest.raises(ValueError, match="choose from"):
        studio.select_model("gpt-4")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_generates_measured_music(studio, strategy):
    studio.strategy = strategy
    studio.set_control("key", "D minor")
    result = studio.generate()
    assert len(result.events) > 0 and result.performance.duration <= studio.seconds + 10
    assert (result.performance.start < studio.seconds).all()
    rows = {name: (asked, got) for name, asked, got in result.rows}
    assert rows["key"][0] == "D minor" and rows["density"][0] == "not given"
    assert rows["density"][1].endswith("notes/s") and "estimated" in rows["key"][1]
    assert "says the period judge: right on" in rows["period"][1] or rows["period"][1].startswith("too few notes")
    assert rows["composer"][1].startswith("no composer judge")
    assert strategy.split("-")[0] in result.description or strategy == "sample"
    played = read_midi_bytes(result.midi())
    assert set(played.pitch.tolist()) == set(result.performance.pitch.tolist())
    assert result.wav()[:4] == b"RIFF" and result.piano_roll_png()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "control" in result.table() and "<table" in result.html_table()


def test_the_same_seed_gives_the_same_music(studio):
    first = studio.generate().events
    assert np.array_equal(first, studio.generate().events)


def test_requested_density_moves_the_measured_density(studio):
    """The studio's promise, measured: asking for sparse vs dense music changes the result."""
    studio.seconds = 10

    def measured(density):
        studio.set_control("density", density)
        counts = []
        for seed in range(3):
            studio.seed = seed
            counts.append(len(studio.generate().performance) / studio.seconds)
        return np.mean(counts)

    sparse, dense = measured(1.0), measured(12.0)
    assert dense > 2 * sparse, (sparse, dense)


def test_primer_from_a_work_with_search_as_you_type(studio):
    assert studio.search_works("bach bwv66")[0] == "bach/bwv66.6"
    assert studio.search_works("") == []
    studio.use_work("bach/bwv66.6")
    primer = studio.primer_events()
    assert len(primer) > 20
    assert "after bach/bwv66.6" in studio.generate().description
    with pytest.raises(ValueError, match="did you mean"):
        studio.use_work("bach/bwv66")


def test_primer_from_a_request(studio):
    hits = studio.use_request("a jig in D major")
    assert len(hits) == 3 and all(0 < s <= 1 for _, s in hits)
    assert all(w.type == "jig" for w in studio.primer_works)
    with pytest.raises(ValueError, match="nothing recognised"):
        studio.use_request("something nice")


def test_primer_from_an_upload_and_bad_uploads(studio, tmp_path):
    song = Performance(np.array([60, 64, 67, 72]), np.full(4, 80), np.arange(4) * 0.5, np.arange(4) * 0.5 + 0.4)
    performance = studio.use_midi(midi_bytes(song), "song.mid")
    assert len(performance) == 4 and studio.primer_kind == "midi"
    assert len(studio.primer_events()) >= 8
    with pytest.raises(MidiError, match="bad.mid: not a Standard MIDI File"):
        studio.use_midi(b"RIFF1234WAVE", "bad.mid")
    with pytest.raises(ValueError, match="no notes"):
        studio.use_midi(midi_bytes(Performance.empty()), "empty.mid")
    assert studio.primer_name == "song.mid"   # a refused file leaves the last good primer


def test_bad_lengths_and_strategies(studio):
    studio.seconds = 0
    with pytest.raises(ValueError, match="0.5–120 seconds"):
        studio.generate()
    studio.seconds, studio.strategy = 4, "top-k"
    with pytest.raises(ValueError, match="choose from"):
        studio.generate()


def test_the_view_only_sets_the_studio(studio):
    view = StudioView(studio)
    density = next(row for row in view.controls_box.children if "studio-given-density" in row.children[0]._dom_classes)
    given, value = density.children[:2]
    value.value = 2.0
    given.value = True
    assert studio.controls == {"density": 2.0}
    given.value = False
    assert studio.controls == {}
    view.strategy.value = "beam"
    assert studio.strategy == "beam" and view.strategy_options.children == (view.beam_size,)
    view.model.value = "prnn-cpu"
    assert studio.model_name == "prnn-cpu" and "without controls" in view.controls_box.children[0].value
    view.model.value = "prnn-cpu-cond"
    key = next(row for row in view.controls_box.children if "studio-given-key" in row.children[0]._dom_classes)
    key.children[1].value = KEY_NAMES[14]
    key.children[0].value = True
    assert studio.controls == {"key": KEY_NAMES[14]}


def test_the_view_shows_a_bad_upload_as_a_message(studio):
    view = StudioView(studio)
    view.primer.value = "midi"
    view.upload.value = ({"name": "holiday.mid", "type": "audio/midi", "size": 4, "content": memoryview(b"PK\x03\x04"),
                          "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert "holiday.mid: not a Standard MIDI File" in view.message.value
    view.request.value = "something nice"
    assert "nothing recognised" in view.message.value
    view.request.value = "a reel in G major"
    assert view.message.value == "" and "Jaccard" in view.primer_status.value


def test_the_view_generates(studio):
    view = StudioView(studio)
    view.seconds.value = 3
    result = view.generate()
    assert result is not None and view.message.value == ""
    assert view.roll.value[:4] == b"\x89PNG" and bytes(view.player.value)[:4] == b"RIFF"
    assert "download the MIDI file" in view.download.value and "studio-measured" in view.measured.value
    assert view.results.children[1] is view.roll and not view.generate_button.disabled


def test_notes_are_held_at_most_the_default_limit_and_the_learner_can_change_it(studio):
    assert studio.max_note_seconds == DEFAULT_MAX_NOTE_SECONDS == 8.0
    studio.seconds = 30
    result = studio.generate()
    assert "notes ≤ 8 s" in result.description
    assert (result.performance.end - result.performance.start).max() <= 8.0 + 1e-9
    studio.max_note_seconds = 2.0
    held = studio.generate().performance
    assert (held.end - held.start).max() <= 2.0 + 1e-9
    studio.max_note_seconds = 0
    assert "no note limit" in studio.describe()
    studio.max_note_seconds = -1
    with pytest.raises(ValueError, match="longest note"):
        studio.generate()


def test_the_period_judge_says_what_it_hears_and_how_far_to_trust_it(studio):
    judge, held_out = load_period_judge()
    studio.set_control("period", "Baroque")
    studio.set_control("composer", "Johann Sebastian Bach")
    studio.seconds = 10
    rows = {name: (asked, got) for name, asked, got in studio.generate().rows}
    heard = rows["period"][1].split(" (")[0]
    assert rows["period"][0] == "Baroque" and heard in judge.labels
    assert f"right on {held_out[10.0]['balanced_accuracy']:.0%} of held-out 10-s excerpts" in rows["period"][1]
    assert rows["composer"][1] == (f"no composer judge; the period judge hears {heard}, "
                                   "Johann Sebastian Bach wrote in the Baroque period")
    assert rows["group"][1] == f"no group judge; the period judge hears {heard}"
    studio.select_model("prnn-cpu")   # no period control: the judge still listens
    rows = {name: (asked, got) for name, asked, got in studio.generate().rows}
    assert rows["period"][0] == "not a control of this model" and "period judge" in rows["period"][1]
    assert studio.judge_period(Performance.empty())[0] is None


def test_the_form_judge_hears_a_real_jig_and_says_how_far_to_trust_it(studio):
    from course_lib.corpus import load_works
    from course_lib.tempo_form import load_form_judge

    judge, held_out = load_form_judge()
    jigs = [w for w in load_works(progress=False) if w.form == "jig" and w.split == "valid"][:20]
    studio.seconds = 10
    heard = [studio.judge("form", w.performance.slice(0.0, 10.0)) for w in jigs]
    assert all(label in judge.labels and f"says the form judge: right on {held_out[10.0]['balanced_accuracy']:.0%}"
               in text for label, text in heard)
    assert sum(label == "jig" for label, _ in heard) > len(jigs) / 2   # it hears jigs as jigs, mostly
    assert studio.judge("form", Performance.empty()) == (None, "too few notes for the form judge")


def test_the_view_sets_the_longest_note(studio):
    view = StudioView(studio)
    assert view.max_note.value == 8.0 and "99.9th-percentile" in view.max_note_hint.value
    view.max_note.value = 3.5
    assert studio.max_note_seconds == 3.5
    view.max_note.value = 0
    assert studio.max_note_seconds is None and "no note limit" in studio.describe()
