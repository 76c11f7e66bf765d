"""The corpus cache shipped in the package must be what a fresh parse gives."""

import numpy as np
import pytest

from course_lib import corpus

SMALL = ["schubert", "beach", "corelli", "joplin", "webern", "luca"]


def test_every_collection_is_shipped():
    shipped = {p.stem for p in corpus.SHIPPED_CACHE.glob("*.npz")}
    assert shipped == set(corpus.available_collections())


def test_shipped_cache_matches_a_fresh_parse(tmp_path):
    fresh = {w.id: w for w in corpus.load_works(collections=SMALL, cache_dir=tmp_path, progress=False)}
    shipped = {w.id: w for w in corpus.load_works(collections=SMALL, cache_dir=tmp_path / "empty",
                                                   progress=False)}
    assert not (tmp_path / "empty" / "corpus").exists() or not list((tmp_path / "empty" / "corpus").glob("*.npz")), \
        "the shipped cache was not used: loading parsed the scores again"
    assert fresh.keys() == shipped.keys() and len(fresh) == len(SMALL)
    for key, work in fresh.items():
        other = shipped[key]
        assert work.performance == other.performance, key
        assert (work.title, work.meter, work.key, work.composer) == (other.title, other.meter, other.key, other.composer)


def test_the_whole_shipped_corpus_loads_fast_and_is_plausible(tmp_path):
    import time

    t = time.perf_counter()
    works = corpus.load_works(cache_dir=tmp_path, progress=False)
    assert time.perf_counter() - t < 30  # from the shipped cache: about a second here
    assert len(works) > 14_000
    assert sum(len(w.performance) for w in works) > 1_900_000
    assert {w.period for w in works} == set(corpus.PERIODS)
    assert not list((tmp_path / "corpus").glob("*.npz")), "loading the shipped corpus parsed scores"


def test_a_stale_user_cache_falls_back_to_the_shipped_one(tmp_path, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "verdi.npz").write_bytes(b"left over from an older version")
    works = corpus.load_works(collections=["verdi"], cache_dir=tmp_path, progress=False)
    assert len(works) == 1 and "rebuilding" not in capsys.readouterr().err
