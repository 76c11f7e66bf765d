"""Style statistics: key estimates, features, composer groups and the period classifier."""

import numpy as np
import pytest

from course_lib import style
from course_lib.performance import Performance


def _scale(tonic: int, steps, seconds=0.5, octave=60):
    pitches, now = [], 0
    for s in steps:
        now += s
        pitches.append(octave + tonic + now)
    return Performance.from_notes([(p, 80, i * seconds, (i + 1) * seconds) for i, p in enumerate(pitches)])


MAJOR = [0, 2, 2, 1, 2, 2, 2, 1, -1, -2, -2, -2, -1, -2, -2, 0, 4, 3, -7]
MINOR = [0, 2, 1, 2, 2, 1, 2, 2, -2, -2, -1, -2, -2, -1, -2, 0, 3, 4, -7]


@pytest.mark.parametrize("tonic", range(12))
def test_scales_and_arpeggios_get_their_key(tonic):
    assert style.estimate_key(_scale(tonic, MAJOR))[0] == f"{style.PITCH_NAMES[tonic]} major"
    assert style.estimate_key(_scale(tonic, MINOR))[0] == f"{style.PITCH_NAMES[tonic]} minor"


def test_key_estimate_from_weights_and_its_errors():
    name, r = style.estimate_key(style.KEY_PROFILES["major"])
    assert name == "C major" and r == pytest.approx(1.0)
    with pytest.raises(ValueError, match="12 non-negative"):
        style.estimate_key([1, 2, 3])
    with pytest.raises(ValueError, match="without notes"):
        style.estimate_key(Performance.empty())


def test_style_features_hand_checked_and_unchanged_by_transposition():
    piece = _scale(0, MAJOR)
    f = dict(zip(style.FEATURE_NAMES, style.style_features(piece)))
    assert len(style.FEATURE_NAMES) == len(style.style_features(piece))
    assert f["notes_per_second"] == pytest.approx(len(MAJOR) / (len(MAJOR) * 0.5))
    assert f["notes_per_onset"] == 1.0 and f["log_ioi_spread"] == pytest.approx(0.0, abs=1e-9)
    assert f["mean_velocity"] == 80 and f["velocity_spread"] == 0
    assert f["top_voice_repeat"] == pytest.approx(1 / 18)  # one repeated note among 18 moves
    assert f["major_minus_minor"] > 0 and style.style_features(_scale(0, MINOR))[13] < 0
    moved = style.style_features(piece.transpose(5))
    same = [i for i, n in enumerate(style.FEATURE_NAMES) if n not in ("mean_pitch",)]
    assert np.allclose(moved[same], style.style_features(piece)[same])
    with pytest.raises(ValueError, match="two onsets"):
        style.style_features(Performance.from_notes([(60, 80, 0, 1)]))


def test_excerpts_cut_consecutive_pieces():
    piece = _scale(0, MAJOR * 3)  # 57 notes, 28.5 s
    parts = style.excerpts(piece, 10)
    assert len(parts) == 2 and len(parts[0]) == 20 and parts[1].start[0] == 0
    assert len(style.excerpts(piece, 100)) == 1 and len(style.excerpts(piece, 5, limit=3)) == 3
    with pytest.raises(ValueError):
        style.excerpts(piece, 0)


class _Work:
    def __init__(self, performance, period, composer):
        self.performance, self.period, self.composer = performance, period, composer


def _toy_works(seed=0):
    """Two 'periods' that differ in texture: slow major scales vs fast minor arpeggios."""
    rng = np.random.default_rng(seed)
    works = []
    for i in range(20):
        t = int(rng.integers(12))
        works.append(_Work(_scale(t, MAJOR * 3, seconds=0.6), "Slow", f"S{i % 3}"))
        works.append(_Work(_scale(t, [0, 3, 4, 5, -5, -4, -3] * 8, seconds=0.15), "Fast", f"F{i % 3}"))
    return works


def test_period_classifier_separates_two_styles_and_reports_a_confusion_matrix():
    clf = style.PeriodClassifier(excerpt_seconds=8).fit(_toy_works(0))
    report = clf.evaluate(_toy_works(1))
    assert report["accuracy"] == 1.0 and report["balanced_accuracy"] == 1.0
    assert report["confusion"].sum() == report["excerpts"] and report["confusion"].shape == (2, 2)
    assert clf.predict([_scale(2, [0, 3, 4, 5, -5, -4, -3] * 8, seconds=0.15)]) == ["Fast"]
    with pytest.raises(RuntimeError, match="fit"):
        style.PeriodClassifier().predict([_scale(0, MAJOR)])


def test_composer_groups_put_composers_of_one_style_together():
    groups = style.composer_groups(_toy_works(0), k=2, excerpt_seconds=8)
    assert groups["S0"] == groups["S1"] == groups["S2"] != groups["F0"] == groups["F1"] == groups["F2"]
    with pytest.raises(ValueError, match="cannot make"):
        style.composer_groups(_toy_works(0), k=9, excerpt_seconds=8)


def test_shipped_composer_groups_match_a_fresh_clustering():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "tools" / "build_composer_groups.py"
    spec = importlib.util.spec_from_file_location("build_composer_groups", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = (Path(style.__file__).parent / "data" / style.COMPOSER_GROUPS_CSV).read_text(encoding="utf-8")
    assert module.build(5) == shipped
    assert style.load_composer_groups()["Traditional"] in range(5)
