"""Tempo and form: the corpus metadata (course_lib.corpus.titles, data/tempo_words.csv,
data/forms.csv), the tempo estimate and the form classifier (course_lib.tempo_form)."""

import collections
from dataclasses import dataclass, field

import numpy as np
import pytest

from course_lib import corpus
from course_lib.corpus import titles
from course_lib.performance import Performance
from course_lib.tempo_form import FormClassifier, estimate_tempo, form_features, tempo_estimate_errors


def _record(**fields):
    record = {"id": "x/y", "title": "", "source": "x/y.xml", "meter": "4/4", "tune_type": None,
              "tempo_marks": [], "score_words": []}
    record.update(fields)
    return record


# -- the tables ---------------------------------------------------------------------------------
def test_words_are_matched_without_case_accents_or_punctuation():
    assert titles.plain_words("Op.18: Mäßig_bewegt") == " op massig bewegt "
    assert titles.plain_words(None) == " "
    assert titles.tempo_word_in("Allegro moderato").word == "allegro moderato"   # the phrase first
    assert titles.tempo_word_in("Andante, then Presto").word == "andante"        # else the earliest
    assert titles.tempo_word_in("Nicht schnell").word == "nicht schnell"
    assert titles.tempo_word_in("Prestigious") is None                          # whole words only
    assert titles.tempo_word_in("The Grave of Carolan", title=True) is None     # not a title word
    assert titles.tempo_word_in("Grave").bpm == pytest.approx((25 * 45) ** 0.5)


def test_the_tables_are_well_formed():
    words = [w.word for w in titles.tempo_words()]
    assert len(words) == len(set(words)) and all(0 < w.low <= w.high for w in titles.tempo_words())
    rules = titles.form_rules()
    keys = [(r.kind, r.key) for r in rules]
    assert len(keys) == len(set(keys))
    assert {r.kind for r in rules} == {"every", "type", "title", "words", "collection"}
    assert set(titles.CONTROL_FORMS) <= {r.form for r in rules}
    collections_ = {r.key.split("/")[0] for r in rules if r.kind in ("collection", "every")}
    assert collections_ <= set(corpus.available_collections())


def test_beats_of_a_meter_in_quarters():
    assert [titles.beat_in_quarters(m) for m in ("4/4", "2/2", "6/8", "12/8", "3/8", None, "C")] == \
        [1.0, 1.0, 1.5, 1.5, 0.5, 1.0, 1.0]


# -- a work's tempo and form --------------------------------------------------------------------
def test_tempo_from_the_mark_that_rules_longest_else_words():
    marks = [[60.0, 2.0, "Adagio", True], [120.0, 30.0, None, False], [90.0, 30.0, None, True]]
    assert titles.work_tempo(_record(tempo_marks=marks, title="Presto")) == (120.0, "score mark")
    assert titles.work_tempo(_record(title="Sonata: Adagio", score_words=["Presto"])) == \
        (pytest.approx((66 * 76) ** 0.5, abs=0.05), "title word")
    assert titles.work_tempo(_record(score_words=["dolce", "Presto"], meter="6/8")) == \
        (pytest.approx(1.5 * (168 * 200) ** 0.5, abs=0.05), "score word")
    assert titles.work_tempo(_record(title="The Slow Air")) == (None, None)   # English words: scores only


def test_form_from_tune_type_then_title_then_words_then_collection():
    form = titles.work_form
    assert form(_record(tune_type="Reel.", title="The Jig"), "ryansMammoth") == ("reel", "ABC R: field")
    assert form(_record(tune_type="double jig"), "oneills1850") == ("jig", "ABC R: field")
    assert form(_record(tune_type="Liebes - Lied", title="Das deutsche Gloria"), "essenFolksong") == \
        ("folk song", "collection")   # every Essen work is a song, whatever its title says
    assert form(_record(title="String Quartet Op. 133 (Große Fuge)"), "beethoven") == ("fugue", "title")
    assert form(_record(title="Slip Jig in A"), "x") == ("slip jig", "title")
    assert form(_record(title="maple_leaf_rag"), "x") == ("rag", "title")
    assert form(_record(title="opus1no1/movement2", score_words=["Menuetto"]), "haydn") == \
        ("minuet", "score words")
    assert form(_record(title="opus1no1/movement1"), "haydn") == ("sonata movement", "collection")
    assert form(_record(source="schumann_robert/opus48no2.mxl"), "schumann_robert") == ("song", "collection")
    assert form(_record(source="schumann_robert/other.mxl"), "schumann_robert") == (None, None)
    assert form(_record(title="The Ranting Highlandman"), "airdsAirs") == (None, None)


@dataclass
class _Work:
    id: str
    period: str = "Traditional"
    tempo: float | None = None
    tempo_source: str | None = None
    form: str | None = None
    form_source: str | None = None
    performance: Performance = field(default_factory=Performance.empty)


def test_coverage_counts_sources_forms_and_periods(capsys):
    works = [_Work("a", tempo=120, tempo_source="score mark", form="reel", form_source="ABC R: field"),
             _Work("b", form="reel", form_source="title"), _Work("c", period="Baroque")]
    cover = titles.title_coverage(works)
    assert cover["tempo_sources"] == {None: 2, "score mark": 1}
    assert cover["forms"] == {"reel": 2}
    assert cover["periods"] == {"Baroque": (0, 1), "Traditional": (2, 2)}
    titles.print_title_coverage(works)
    out = capsys.readouterr().out
    assert "score mark" in out and "Traditional" in out and "reel" in out


# -- the tempo estimate --------------------------------------------------------------------------
def _pulse(bpm: float, beats: int = 40, subdivide: int = 1, accent: int = 1) -> Performance:
    """Notes on every beat (accented: a chord) and ``subdivide`` - 1 notes between beats."""
    notes, step = [], 60.0 / bpm / subdivide
    for i in range(beats * subdivide):
        t = i * step
        notes.append((60 + i % 5, 80, t, t + step))
        if i % (subdivide * accent) == 0:
            notes.append((48, 80, t, t + step))
    return Performance.from_notes(notes)


@pytest.mark.parametrize("bpm", [72, 96, 120, 150])
def test_a_steady_beat_gives_its_tempo(bpm):
    assert estimate_tempo(_pulse(bpm)) == pytest.approx(bpm, rel=0.03)
    with_eighths = estimate_tempo(_pulse(bpm, subdivide=2))   # eighths between the beats, beats a chord
    # Near the preferred 120 the beat wins; a slow beat is heard at its eighths (twice the tempo).
    assert with_eighths == pytest.approx(bpm if bpm >= 96 else 2 * bpm, rel=0.03)


def test_a_beat_divided_in_three_is_a_dotted_quarter():
    jig = _pulse(120, subdivide=3)   # 120 dotted quarters a minute, as in 6/8: 180 quarters
    assert estimate_tempo(jig) == pytest.approx(180, rel=0.03)
    assert estimate_tempo(jig, compound=False) == pytest.approx(120, rel=0.03)


def test_tempo_estimate_needs_onsets_and_reports_its_errors():
    with pytest.raises(ValueError, match="four onsets"):
        estimate_tempo(_pulse(100, beats=3))
    works = [_Work("a", tempo=100.0, tempo_source="score mark", performance=_pulse(100)),
             _Work("b", tempo=60.0, tempo_source="score mark", performance=_pulse(120)),
             _Work("c", tempo=100.0, tempo_source="title word", performance=_pulse(50))]
    errors = tempo_estimate_errors(works)
    assert errors["n"] == 2 and errors["within_10"] == 0.5 and errors["within_10_metrical"] == 1.0
    assert tempo_estimate_errors([])["n"] == 0


# -- the form classifier --------------------------------------------------------------------------
def _tune(form: str, seed: int) -> Performance:
    rng = np.random.default_rng(seed)
    if form == "jig":      # running eighths in threes, a leap at each group's start
        times = np.arange(60) * 0.2
        pitch = 62 + np.where(np.arange(60) % 3 == 0, 7, rng.integers(0, 3, 60))
    else:                  # a chorale: four-note chords half a second apart
        times = np.repeat(np.arange(30) * 0.5, 4)
        pitch = np.tile([48, 55, 64, 72], 30) + rng.integers(-2, 3, 120)
    return Performance.from_notes([(int(p), 80, float(t), float(t) + 0.18) for p, t in zip(pitch, times)])


def test_form_classifier_tells_two_plain_forms_apart():
    works = [_Work(f"{form}{i}", form=form, performance=_tune(form, i)) for form in ("jig", "chorale")
             for i in range(12)]
    judge = FormClassifier(("jig", "chorale"), excerpt_seconds=5.0).fit(works[::2] + works[1::2][:4])
    assert judge.evaluate(works[1::2][4:])["accuracy"] == 1.0
    assert judge.predict([_tune("jig", 99).slice(0, 5), _tune("chorale", 99).slice(0, 5)]) == ["jig", "chorale"]
    assert len(form_features(_tune("jig", 0))) == len(judge.feature_names)
    thinned = FormClassifier(("jig", "chorale"), works_per_form=3).thin(works + [_Work("z", form="reel")])
    assert 0 < len(thinned) < len(works) and {w.form for w in thinned} <= {"jig", "chorale"}
    assert thinned == FormClassifier(("jig", "chorale"), works_per_form=3).thin(works)   # the same choice


# -- on the shipped corpus -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    return corpus.load_works(cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def test_control_forms_are_those_with_enough_training_works(shipped):
    counts = collections.Counter(w.form for w in shipped if w.form and w.split == "train")
    enough = sorted((form for form, n in counts.items() if n >= titles.MIN_CONTROL_WORKS),
                    key=lambda form: (-counts[form], form))
    assert titles.CONTROL_FORMS == tuple(enough)


def test_the_corpus_gets_tempos_and_forms_where_its_files_say(shipped):
    cover = titles.title_coverage(shipped)
    assert cover["tempo_sources"]["score mark"] > 1000 and cover["form_sources"]["ABC R: field"] > 1500
    by_id = {w.id: w for w in shipped}
    assert (by_id["verdi/laDonnaEMobile"].tempo, by_id["verdi/laDonnaEMobile"].tempo_source) == (75.0, "score mark")
    aird = [w for w in shipped if w.collection == "airdsAirs"]
    assert sum(w.tempo_source == "score mark" for w in aird) > 0.95 * len(aird)
    assert {w.form for w in shipped if w.collection == "bach"} == {"chorale"}
    ryans = collections.Counter(w.form for w in shipped if w.collection == "ryansMammoth")
    assert ryans.most_common(1)[0][0] == "reel"
    assert all(w.tempo is None for w in shipped if w.tempo_source is None)
