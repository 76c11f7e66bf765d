"""Tests of course_lib.corpus: splits, composer table, score conversion, cache, MIDI folders.

Fast tests build a few small collections into a temporary cache (with the cache that ships
in the package hidden, so that they really parse); the whole-corpus test loads the shipped
cache (tests/test_corpus_shipped.py checks that it matches a fresh parse).
"""

import collections
import time

import numpy as np
import pytest

from course_lib import corpus
from course_lib.midi import write_midi
from course_lib.performance import Performance

SMALL = ["josquin", "luca", "nottingham-dataset", "schoenberg", "verdi"]
SHIPPED = corpus.cache.SHIPPED_CACHE  # the cache the package ships (hidden by the fixture below)


@pytest.fixture(scope="module", autouse=True)
def without_the_shipped_cache(tmp_path_factory):
    """These tests are about building and reading caches: hide the one the package ships."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(corpus.cache, "SHIPPED_CACHE", tmp_path_factory.mktemp("no-shipped-cache"))
        yield


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
    """A cache of a few small collections, built once with two worker processes."""
    cache_dir = tmp_path_factory.mktemp("cache")
    works = corpus.load_works(collections=SMALL, cache_dir=cache_dir, progress=False, workers=2)
    return cache_dir, works


# -- splits ---------------------------------------------------------------------------------
def test_split_is_deterministic_and_80_10_10():
    ids = [f"collection/piece{i}#{i % 7}" for i in range(20_000)]
    splits = [corpus.split_of(i) for i in ids]
    assert splits == [corpus.split_of(i) for i in ids]
    counts = collections.Counter(splits)
    assert abs(counts["train"] / len(ids) - 0.8) < 0.015
    assert abs(counts["valid"] / len(ids) - 0.1) < 0.01
    assert abs(counts["test"] / len(ids) - 0.1) < 0.01
    # Fixed values: sha256 of the id gives the same split on every machine and Python run.
    assert {w: corpus.split_of(w) for w in ("bach/bwv0.6", "bach/bwv2.6", "bach/bwv17.6", "bach/bwv66.6")} == \
        {"bach/bwv0.6": "train", "bach/bwv2.6": "valid", "bach/bwv17.6": "test", "bach/bwv66.6": "train"}


def test_work_split_property(small_cache):
    _, works = small_cache
    assert all(w.split == corpus.split_of(w.id) for w in works)


# -- composers --------------------------------------------------------------------------------
def test_composer_table_rows_are_valid():
    table = corpus.composer_table()
    assert table["bach"] == corpus.ComposerInfo("Johann Sebastian Bach", 1685, "Baroque", table["bach"].note)
    assert table["essenFolksong"].name == "Traditional" and table["essenFolksong"].born is None
    for key, info in table.items():
        assert info.period in corpus.PERIODS, key
        assert info.born is None or 1200 < info.born < 1950, key


def test_composer_table_covers_every_kept_file():
    files, skipped = corpus._scan_corpus()
    index = corpus._ComposerIndex(corpus.composer_table())
    assert set(corpus.available_collections()) == set(files)  # every kept folder has a row
    for sources in files.values():
        for source in sources:
            info, warning = index.find(source, None)
            assert info is not None, warning
    skipped_reasons = dict(skipped)
    assert "demos" not in files and "theoryExercises" not in files
    assert any(s.endswith(".rntxt") for s in skipped_reasons)
    assert skipped_reasons["beethoven/opus18no1/movement1.krn"].startswith("same work as")


def test_trecento_composers_come_from_metadata():
    index = corpus._ComposerIndex(corpus.composer_table())
    landini, _ = index.find("trecento/PMFC_04-Cara mi donna.xml", "Francesco Landini")
    assert (landini.name, landini.born, landini.period) == ("Francesco Landini", 1325, "Medieval")
    anonymous, _ = index.find("trecento/PMFC_12_9-Gloria Clementiae Pax.xml", "Anonymous I-Pu 1475")
    assert anonymous.name == "Anonymous"
    giovanni, _ = index.find("trecento/PMFC_06_Giovanni-04_De_Come_Dolce_Mente.xml", None)
    assert giovanni.name == "Giovanni da Cascia"
    stranger, warning = index.find("trecento/new.xml", "Somebody Else")
    assert stranger.period == "Medieval" and "Somebody Else" in warning


def test_unknown_collection_is_a_clear_error():
    with pytest.raises(ValueError, match="choose from: .*bach"):
        corpus.load_works(collections=["bahc"], progress=False)
    with pytest.raises(ValueError, match="demonstration"):
        corpus.load_works(collections=["demos"], progress=False)


# -- score → performance ------------------------------------------------------------------------
def _stream(*items):
    from music21 import stream

    s = stream.Stream()
    for item in items:
        s.append(item)
    return s


def test_metronome_marks_set_the_seconds():
    from music21 import note, stream, tempo

    s = stream.Stream()
    s.insert(0, tempo.MetronomeMark(number=60))
    s.insert(2, tempo.MetronomeMark(number=120))
    for i, p in enumerate(["C4", "D4", "E4", "F4"]):
        s.insert(i, note.Note(p, quarterLength=1))
    perf = corpus.score_to_performance(s)
    assert np.allclose(perf.start, [0, 1, 2, 2.5])
    assert np.allclose(perf.end, [1, 2, 2.5, 3])


def test_a_tempo_mark_in_a_lower_part_counts_for_all():
    from music21 import note, stream, tempo

    score = stream.Score()
    upper, lower = stream.Part(), stream.Part()
    upper.append(note.Note("E5", quarterLength=2))
    lower.append(tempo.MetronomeMark(number=30))
    lower.append(note.Note("C3", quarterLength=2))
    score.insert(0, upper)
    score.insert(0, lower)
    perf = corpus.score_to_performance(score)
    assert np.allclose(perf.end, [4.0, 4.0])


def test_defaults_when_no_tempo_or_dynamic_is_marked():
    from music21 import note

    perf = corpus.score_to_performance(_stream(note.Note("C4", quarterLength=1), note.Note("G4")))
    assert corpus.DEFAULT_QPM == 120 and corpus.DEFAULT_VELOCITY == 70
    assert np.allclose(perf.start, [0, 60 / corpus.DEFAULT_QPM])
    assert perf.velocity.tolist() == [corpus.DEFAULT_VELOCITY] * 2


def test_dynamics_set_the_velocity():
    from music21 import dynamics, note

    perf = corpus.score_to_performance(_stream(
        note.Note("C4"), dynamics.Dynamic("pp"), note.Note("D4"), dynamics.Dynamic("ff"), note.Note("E4")))
    assert perf.velocity.tolist() == [corpus.DEFAULT_VELOCITY, round(127 * 0.25), round(127 * 0.85)]


def test_ties_are_joined_and_grace_notes_and_chord_symbols_left_out():
    from music21 import chord, harmony, note, tie

    a, b = note.Note("C4", quarterLength=2), note.Note("C4", quarterLength=2)
    a.tie, b.tie = tie.Tie("start"), tie.Tie("stop")
    grace = note.Note("D4").getGrace()
    perf = corpus.score_to_performance(_stream(
        harmony.ChordSymbol("C"), a, b, grace, chord.Chord(["E4", "G4"], quarterLength=1)))
    assert perf.notes() == [(60, 70, 0.0, 2.0), (64, 70, 2.0, 2.5), (67, 70, 2.0, 2.5)]


def test_an_opus_is_refused():
    from music21 import stream

    with pytest.raises(TypeError, match="opus.scores"):
        corpus.score_to_performance(stream.Opus())


def test_tempo_marks_and_opening_words_are_kept_for_the_metadata():
    """What course_lib.corpus.titles reads: each mark with the seconds it rules, and the words
    over the first bars (issue 20)."""
    from music21 import expressions, note, stream, tempo

    s = stream.Stream()
    s.insert(0, tempo.MetronomeMark(number=60))
    s.insert(0, expressions.TextExpression("Adagio"))
    s.insert(2, tempo.MetronomeMark("Allegro"))   # a word only: music21's number, 132
    for i in range(4):
        s.insert(i, note.Note("C4", quarterLength=1))
    perf = corpus.score_to_performance(s)
    assert corpus.scores._tempo_marks(s, perf) == [[60.0, 2.0, None, True],
                                                    [132.0, round(120 / 132, 3), "Allegro", False]]
    assert corpus.scores._score_words(s) == ["Adagio", "Allegro"]
    assert corpus.scores._tempo_marks(_stream(note.Note("C4")), perf) == []
    _, (tune, _), _, _ = corpus._parse_task(("airdsAirs/book1.abc", 0, 2))   # an ABC Q: field is a mark
    assert len(tune["tempo_marks"]) == 1 and tune["tempo_marks"][0][3] is True
    assert tune["tempo_marks"][0][1] == pytest.approx(tune["notes"].duration, abs=1e-3)


# -- parsing the corpus ---------------------------------------------------------------------------
def test_small_collections_load_with_plausible_metadata(small_cache):
    _, works = small_cache
    by_collection = collections.Counter(w.collection for w in works)
    assert by_collection == {"josquin": 8, "luca": 1, "nottingham-dataset": 2, "schoenberg": 2, "verdi": 1}
    assert [w.id for w in works] == sorted(w.id for w in works)
    verdi = next(w for w in works if w.collection == "verdi")
    assert (verdi.id, verdi.composer, verdi.born, verdi.period) == \
        ("verdi/laDonnaEMobile", "Giuseppe Verdi", 1813, "Romantic")
    assert verdi.source == "verdi/laDonnaEMobile.mxl" and verdi.meter == "3/8" and verdi.key == "Bb major"
    josquin = [w for w in works if w.collection == "josquin"]
    assert all((w.composer, w.born, w.period) == ("Josquin des Prez", 1450, "Renaissance") for w in josquin)
    mille = next(w for w in josquin if w.id == "josquin/milleRegrets")
    assert mille.key == "E phrygian"
    # The voices of a Josquin piece (one X: each) are merged: several voices sound at once.
    assert len(np.unique(mille.performance.start)) < len(mille.performance)
    tunes = [w for w in works if w.collection == "nottingham-dataset"]
    assert [w.id for w in tunes] == ["nottingham-dataset/reelsa-c#80", "nottingham-dataset/reelsa-c#81"]
    assert all(w.period == "Traditional" and w.composer == "Traditional" and w.born is None for w in tunes)
    for w in works:
        assert len(w.performance) > 50 and 10 < w.performance.duration < 3600, w.id


def test_abc_tunes_get_ids_and_tags():
    _, records, failures, empty = corpus._parse_task(("essenFolksong/han1.abc", 11, 13))
    assert not failures and not empty
    assert [r["id"] for r in records] == ["essenFolksong/han1#12", "essenFolksong/han1#13"]
    assert records[0]["tune_type"] == "Xiaodiao. Geming lishi minge]" and records[0]["meter"] == "2/4"
    _, (reel,), _, _ = corpus._parse_task(("ryansMammoth/AcaciaReel.abc", 0, 100))
    assert (reel["id"], reel["tune_type"], reel["meter"], reel["key"]) == \
        ("ryansMammoth/AcaciaReel", "reel", "2/4", "G major")


def test_skipping_beams_changes_no_notes(monkeypatch):
    import contextlib

    from music21 import stream

    original = stream.Stream.makeBeams
    task = ("oneills1850/0001-0050.abc", 0, 6)
    fast = corpus._parse_task(task)
    assert stream.Stream.makeBeams is original  # restored after parsing
    monkeypatch.setattr(corpus.scores, "_no_beaming", contextlib.nullcontext)
    slow = corpus._parse_task(task)
    assert len(fast[1]) == len(slow[1]) == 6
    for a, b in zip(fast[1], slow[1]):
        assert a["notes"] == b["notes"] and np.array_equal(a["notes"].velocity, b["notes"].velocity)
        assert {k: v for k, v in a.items() if k != "notes"} == {k: v for k, v in b.items() if k != "notes"}


def test_a_file_music21_cannot_parse_is_reported_not_raised():
    _, records, failures, _ = corpus._parse_task(("no/such/file.xml", None, None))
    assert records == [] and failures and failures[0][0] == "no/such/file.xml"


def test_cache_round_trip_equals_a_fresh_parse(small_cache):
    from music21 import corpus as m21corpus

    _, works = small_cache
    for work in works:
        if work.collection in ("verdi", "schoenberg", "luca"):
            fresh = corpus.score_to_performance(m21corpus.parse(work.source, forceSource=True))
            assert fresh == work.performance, work.id
            assert np.array_equal(fresh.velocity, work.performance.velocity)
    again = corpus.load_works(collections=SMALL, cache_dir=small_cache[0], progress=False)
    assert [w.id for w in again] == [w.id for w in works]
    assert all(a.performance == b.performance and a.title == b.title and a.key == b.key
               for a, b in zip(again, works))


def test_loading_from_the_cache_is_fast(small_cache):
    t0 = time.perf_counter()
    corpus.load_works(collections=SMALL, cache_dir=small_cache[0], progress=False)
    assert time.perf_counter() - t0 < 1.0


def test_cache_file_is_plain_arrays_and_json(small_cache):
    cache_dir, _ = small_cache
    with np.load(cache_dir / "corpus" / "verdi.npz", allow_pickle=False) as npz:
        assert set(npz.files) == {"meta", "pitch", "velocity", "start", "end", "offsets"}
        assert npz["offsets"].tolist() == [0, len(npz["pitch"])]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_cache_is_rebuilt_not_a_crash(tmp_path, capsys, damage):
    first = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False, workers=1)
    path = tmp_path / "corpus" / "verdi.npz"
    data = path.read_bytes()
    path.write_bytes({"garbage": b"not a cache \x00\xff" * 100, "truncated": data[: len(data) // 2],
                      "empty": b""}[damage])
    capsys.readouterr()
    again = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False, workers=1)
    assert "damaged" in capsys.readouterr().err
    assert [w.performance for w in again] == [w.performance for w in first]
    assert corpus._Collection.read(path, "verdi")[0] is not None  # and the file is good again


def test_a_stale_cache_is_rebuilt(tmp_path, capsys, monkeypatch):
    corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False, workers=1)
    monkeypatch.setattr(corpus.cache, "CACHE_VERSION", corpus.CACHE_VERSION + 1)
    capsys.readouterr()
    works = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False, workers=1)
    assert "stale" in capsys.readouterr().err and len(works) == 1
    coll, why = corpus._Collection.read(tmp_path / "corpus" / "verdi.npz", "verdi")
    assert why == "" and coll is not None


def test_concurrent_loads_parse_once(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    calls, real_build = [], corpus.cache._build

    def counting_build(names, *args, **kwargs):
        calls.append(list(names))
        return real_build(names, *args, **kwargs)

    monkeypatch.setattr(corpus.cache, "_build", counting_build)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: corpus.load_works(
            collections=["verdi"], cache_dir=tmp_path, progress=False, workers=1), range(2)))
    assert calls == [["verdi"]]
    assert [len(r) for r in results] == [1, 1]


def test_cache_dir_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path))
    assert corpus._cache_folder(None) == tmp_path / "corpus"
    monkeypatch.delenv("COURSE_LIB_CACHE")
    assert corpus._cache_folder(None).parts[-3:] == (".cache", "course_lib", "corpus")


def test_duplicates_are_dropped(tmp_path):
    tune = Performance.from_notes([(60, 70, 0.0, 1.0), (64, 70, 1.0, 2.0)])
    slower = tune.stretch(1.5)  # the same tune at another tempo is still a duplicate
    other = tune.transpose(2)
    records = [
        {"id": f"verdi/{name}", "title": name, "composer_raw": None, "source": f"verdi/{name}.mxl",
         "meter": None, "key": None, "tune_type": None, "tempo_marks": [], "score_words": [], "notes": perf}
        for name, perf in (("b", slower), ("a", tune), ("c", other))
    ]
    corpus._Collection.from_records("verdi", records, [], [], 3, 0.0).write(tmp_path / "corpus" / "verdi.npz")
    works = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False)
    assert [w.id for w in works] == ["verdi/a", "verdi/c"]
    assert works.skipped == [("verdi/b", "same pitches as verdi/a")]
    both = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False, dedupe=False)
    assert len(both) == 3


def test_summary_counts_works_and_notes(small_cache):
    _, works = small_cache
    rows = corpus.summary(works)
    assert sum(r["works"] for r in rows) == len(works)
    assert sum(r["notes"] for r in rows) == sum(len(w.performance) for w in works)
    assert [r["period"] for r in rows] == sorted((r["period"] for r in rows), key=corpus.PERIODS.index)
    assert "total" in corpus.format_summary(rows)


# -- MIDI folders ---------------------------------------------------------------------------------
def test_load_midi_folder_keeps_good_files_and_reports_bad_ones(tmp_path, capsys):
    perf = Performance.from_notes([(60, 80, 0.0, 0.5), (64, 90, 0.5, 1.0)])
    write_midi(perf, tmp_path / "a.mid")
    write_midi(perf.transpose(2), tmp_path / "sub" / "b.midi")
    (tmp_path / "empty.mid").write_bytes(b"")
    (tmp_path / "text.mid").write_text("these are not the notes you are looking for")
    (tmp_path / "truncated.mid").write_bytes((tmp_path / "a.mid").read_bytes()[:30])
    (tmp_path / "readme.txt").write_text("not a .mid file, ignored")
    works = corpus.load_midi_folder(tmp_path, progress=False)
    assert [w.id for w in works] == ["a.mid", "sub/b.midi"]
    assert works[0].performance == perf
    assert all(w.period == corpus.UNKNOWN and w.composer == corpus.UNKNOWN for w in works)
    assert works[1].split == corpus.split_of("sub/b.midi")
    assert sorted(name for name, _ in works.skipped) == ["empty.mid", "text.mid", "truncated.mid"]
    err = capsys.readouterr().err
    assert "3 skipped" in err and "truncated.mid" in err


def test_load_midi_folder_needs_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError):
        corpus.load_midi_folder(tmp_path / "missing")


# -- the whole corpus (the shipped cache; `make cache` rebuilds it) -------------------------------
def test_whole_corpus_loads_with_every_period(tmp_path, monkeypatch):
    # its speed is measured in benchmarks/encoding.py, not here
    monkeypatch.setattr(corpus.cache, "SHIPPED_CACHE", SHIPPED)
    works = corpus.load_works(progress=False, cache_dir=tmp_path)
    assert len(works) > 10_000
    periods = collections.Counter(w.period for w in works)
    assert set(periods) == set(corpus.PERIODS)
    assert len({w.id for w in works}) == len(works)
    reels = [w for w in works if w.collection == "ryansMammoth" and w.tune_type]
    assert len(reels) > 1000


@pytest.mark.parametrize("wrong", ["pitch", "velocity", "times", "missing field", "no works entry"])
def test_a_well_formed_but_wrong_cache_is_reported_and_replaced(tmp_path, capsys, wrong):
    import json

    first = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False, workers=1)
    path = tmp_path / "corpus" / "verdi.npz"
    with np.load(path) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    if wrong == "pitch":
        arrays["pitch"][0] = 200
    elif wrong == "velocity":
        arrays["velocity"][0] = 0
    elif wrong == "times":
        arrays["end"][0] = arrays["start"][0] - 1
    elif wrong == "missing field":
        del meta["works"][0]["source"]
    else:
        del meta["failures"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    assert corpus._Collection.read(path, "verdi")[0] is None
    capsys.readouterr()
    again = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False, workers=1)
    assert "damaged" in capsys.readouterr().err
    assert [w.performance for w in again] == [w.performance for w in first]
