"""Shingles and Jaccard similarity against hand-computed examples."""

import pytest
from hypothesis import given, strategies as st

from course_lib.performance import Performance
from course_lib.retrieval import containment, jaccard, shingles

# C D E C at 0, 0.5, 1.0, 2.0 s
TUNE = Performance.from_notes([(60, 80, 0, 0.4), (62, 80, 0.5, 0.9), (64, 80, 1.0, 1.4), (60, 80, 2.0, 2.4)])


def test_jaccard_and_containment_by_hand():
    assert jaccard({1, 2, 3}, {2, 3, 4}) == pytest.approx(2 / 4)
    assert jaccard([], []) == 0.0 and jaccard("ab", "ab") == 1.0
    assert containment({1, 2}, {2, 3, 4}) == 0.5 and containment([], {1}) == 0.0


@given(st.sets(st.integers(0, 20)), st.sets(st.integers(0, 20)))
def test_jaccard_is_symmetric_and_bounded(a, b):
    j = jaccard(a, b)
    assert j == jaccard(b, a) and 0.0 <= j <= 1.0
    assert (j == 1.0) == (a == b and len(a) > 0)


def test_each_kind_of_shingle():
    assert shingles(TUNE, "pitch", 2) == {(60, 62), (62, 64), (64, 60)}
    assert shingles(TUNE, "interval", 2) == {(2, 2), (2, -4)}
    assert shingles(TUNE, "rhythm", 1) == {(50,), (100,)}
    assert shingles(TUNE, "pitch", 5) == set()
    assert len(shingles(TUNE, "event", 3)) > 0
    assert shingles(TUNE.transpose(3), "interval", 2) == shingles(TUNE, "interval", 2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n >= 1"):
        shingles(TUNE, "pitch", 0)
    with pytest.raises(ValueError, match="unknown shingle kind 'chord'; choose from"):
        shingles(TUNE, "chord", 2)


from hypothesis import settings  # noqa: E402

from course_lib.retrieval import JaccardIndex, MinHashIndex, minhash_signatures, tags  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.integers(0, 15), max_size=8), min_size=1, max_size=25),
       st.sets(st.integers(0, 20), min_size=1, max_size=8), st.integers(1, 30))
def test_the_exact_index_agrees_with_brute_force(sets, query, k):
    index = JaccardIndex(sets)
    brute = sorted(((jaccard(query, s), -i) for i, s in enumerate(sets)), reverse=True)[:k]
    got = index.query(query, k)
    assert [i for i, _ in got] == [-i for _, i in brute]
    assert [sim for _, sim in got] == pytest.approx([sim for sim, _ in brute])
    assert index.similarities(query) == pytest.approx([jaccard(query, s) for s in sets])


def test_index_errors_and_strings():
    index = JaccardIndex([{"type:jig", "mode:major"}, {"type:reel"}])
    assert index.query({"type:jig"}, 1) == [(0, 0.5)]
    with pytest.raises(ValueError, match="k must be >= 1"):
        index.query({"type:jig"}, 0)
    with pytest.raises(ValueError, match="query set is empty"):
        index.query(set(), 3)


def test_minhash_estimates_jaccard_and_lsh_finds_planted_near_copies():
    import numpy as np

    rng = np.random.default_rng(0)
    sets = [set(rng.integers(0, 100_000, 40).tolist()) for _ in range(3000)]
    planted = {}
    for original in range(0, 3000, 100):  # near-copies: 36 of 40 items kept, 4 new ones
        copy = set(list(sets[original])[:36]) | set(rng.integers(200_000, 300_000, 4).tolist())
        planted[len(sets)] = original
        sets.append(copy)
    sig = minhash_signatures([sets[0], sets[3000]], num_perm=256)
    assert (sig[0] == sig[1]).mean() == pytest.approx(jaccard(sets[0], sets[3000]), abs=0.08)
    lsh = MinHashIndex(sets, num_perm=128, threshold=0.5)
    found = sum(original in [i for i, _ in lsh.query(sets[copy], 3)] for copy, original in planted.items())
    assert found / len(planted) >= 0.95
    exact = JaccardIndex(sets)
    assert lsh.query(sets[3000], 2) == exact.query(sets[3000], 2)


def test_tags_of_a_work():
    class Jig:
        type, meter, mode, key, period, composer = "jig", "6/8", "major", "D major", "Traditional", "Traditional"

    assert tags(Jig()) == {"type:jig", "meter:6/8", "mode:major", "key:D major", "period:Traditional",
                           "composer:Traditional"}


def test_longest_common_run_by_hand_and_against_brute_force():
    from course_lib.retrieval import longest_common_run

    assert longest_common_run([1, 2, 3, 4, 9], [0, 2, 3, 4, 5]) == 3
    assert longest_common_run([1, 2], [3, 4]) == 0 and longest_common_run([], [1]) == 0
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(30):
        a, b = rng.integers(0, 3, rng.integers(0, 12)).tolist(), rng.integers(0, 3, rng.integers(0, 12)).tolist()
        brute = max([n for n in range(min(len(a), len(b)) + 1)
                     if any(a[i:i + n] == b[j:j + n] for i in range(len(a) - n + 1) for j in range(len(b) - n + 1))])
        assert longest_common_run(a, b) == brute


def test_copy_detector_flags_a_copied_passage():
    import numpy as np

    from course_lib.encoding import PerformanceEncoding
    from course_lib.retrieval import CopyDetector

    rng = np.random.default_rng(1)

    class Work:
        def __init__(self, seed):
            r = np.random.default_rng(seed)
            start = np.arange(60) * 0.25
            self.performance = Performance(r.integers(50, 80, 60), np.full(60, 80), start, start + 0.2)

    works = [Work(s) for s in range(20)]
    detector = CopyDetector(works, n=8)
    events = PerformanceEncoding().encode(works[7].performance)
    copied = np.concatenate([rng.integers(256, 300, 10), events[20:80], rng.integers(256, 300, 10)])
    report = detector.check(copied)
    assert report["work"] is works[7] and report["longest_run"] == 60
    assert report["containment"] == pytest.approx(53 / 73)  # 53 of its 73 8-grams lie inside the copied run
    fresh = detector.check(rng.integers(0, 388, 80))
    assert fresh["longest_run"] < 5 and fresh["containment"] == 0.0
