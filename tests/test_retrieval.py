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
