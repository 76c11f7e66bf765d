"""Constrained decoding: ``max_note_seconds`` keeps every note within the limit under every
strategy, the stream stays valid, and the searches' probabilities say what forcing did."""

import math
from collections import Counter

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from course_lib.constraints import DEFAULT_MAX_NOTE_SECONDS, NoteLimit
from course_lib.encoding import PerformanceEncoding
from course_lib.models import PerformanceRNN
from course_lib.search import STRATEGIES, beam_search, generate, sample, stochastic_beam_search
from course_lib.toy import RandomModel, TreeModel

ENC = PerformanceEncoding()
ON, OFF, SHIFT = ENC.note_on, ENC.note_off, ENC.time_shift
# A model that never lets a key go: notes, velocities and silences of 0.07, 0.5 and 1 s, no NOTE_OFF.
DRONE = TreeModel({}, default={ON(60): 0.15, ON(67): 0.1, 370: 0.05, SHIFT(100): 0.4, SHIFT(50): 0.2, SHIFT(7): 0.1})
PRIMER = [370, ON(60)]
LIMIT = 2.5


def _seeded():
    return torch.Generator().manual_seed(0)


def _every_off_ends_a_sounding_note(primer, events) -> bool:
    """Replays the stream as the decoder reads it: no NOTE_OFF of a silent pitch (the drone's
    NOTE_OFFs are all forced, and a forced one that ended nothing would be a wasted step)."""
    sounding = set()
    for i, e in enumerate(np.concatenate([primer, events])):
        if e < ENC.note_off_offset:
            sounding.add(int(e))
        elif e < ENC.time_shift_offset:
            if i >= len(primer) and int(e) - ENC.note_off_offset not in sounding:
                return False
            sounding.discard(int(e) - ENC.note_off_offset)
    return True


def _longest_note(primer, events) -> float:
    performance = ENC.decode(np.concatenate([primer, events]))
    return float((performance.end - performance.start).max())


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_a_model_that_never_lets_go_holds_no_note_longer_than_the_limit(strategy):
    options = {"num_samples": 4} if strategy == "sample" else {}
    free = generate(DRONE, PRIMER, 150, strategy, generator=_seeded(), every=True, **options)
    assert max(_longest_note(PRIMER, e) for e in free) > 3 * LIMIT     # the drone, unconstrained
    held = generate(DRONE, PRIMER, 150, strategy, generator=_seeded(), every=True, max_note_seconds=LIMIT, **options)
    for events in held:
        assert len(events) == 150 and ENC.clock(events)[1] > 10 * ENC.steps_per_second   # the music goes on
        assert _longest_note(PRIMER, events) <= LIMIT + 1e-9
        assert _every_off_ends_a_sounding_note(PRIMER, events)
        assert ((events >= ENC.note_off_offset) & (events < ENC.time_shift_offset)).any()   # forced


@pytest.mark.parametrize("strategy", ["sample", "greedy"])
def test_the_limit_holds_when_generating_for_seconds(strategy):
    options = {"num_samples": 3} if strategy == "sample" else {}
    pieces = generate(DRONE, PRIMER, strategy=strategy, seconds=20.0, generator=_seeded(), every=True,
                      max_note_seconds=LIMIT, **options)
    for events in pieces:
        assert ENC.clock(events)[1] >= 2000 and _longest_note(PRIMER, events) <= LIMIT + 1e-9


def test_a_real_model_and_a_primer_already_over_the_limit():
    torch.manual_seed(0)
    model = PerformanceRNN.from_profile("quick", embed_dim=16, hidden_size=32, num_layers=1).eval()
    for events in sample(model, PRIMER, 300, num_samples=4, generator=_seeded(), max_note_seconds=0.5):
        assert _longest_note(PRIMER, events) <= 0.5 + 1e-9
    long_primer = PRIMER + [SHIFT(100)] * 3   # the primer's note has sounded 3 s already
    for strategy in STRATEGIES:
        first = generate(DRONE, long_primer, 1, strategy, generator=_seeded(), max_note_seconds=LIMIT)
        assert first.tolist() == [OFF(60)], strategy


def test_a_limit_that_never_binds_changes_nothing():
    model = RandomModel(seed=4)
    for strategy, options in [("sample", {"top_p": 0.9, "num_samples": 3}), ("greedy", {}),
                              ("beam", {"beam_size": 3}), ("stochastic-beam", {"beam_size": 3})]:
        free = generate(model, PRIMER, 25, strategy, generator=_seeded(), every=True, **options)
        bound = generate(model, PRIMER, 25, strategy, generator=_seeded(), every=True, max_note_seconds=600, **options)
        assert np.array_equal(free, bound), strategy
    plain, limited = beam_search(model, PRIMER, 12, 3), beam_search(model, PRIMER, 12, 3, max_note_seconds=600)
    assert [(h.logprob, h.score) for h in plain] == [(h.logprob, h.score) for h in limited]


# A note (pitch 60) sounds from the primer on; the limit is two clock steps (0.02 s).
# After it, the model wants shifts of 1, 2 or 3 steps; 3 would carry the note past the limit.
# After one step it may shift 1 more step or let go (a shift of 2 is masked); after two steps
# the NOTE_OFF is forced, though the model gives it only 0.25.
BIND = TreeModel({
    (ON(60),): {SHIFT(1): 0.5, SHIFT(2): 0.3, SHIFT(3): 0.2},
    (ON(60), SHIFT(1)): {SHIFT(1): 0.6, SHIFT(2): 0.3, OFF(60): 0.1},
    (ON(60), SHIFT(2)): {SHIFT(1): 0.75, OFF(60): 0.25},
})
# q: p renormalised over what the limit allows, step by step.
CONSTRAINED = {
    (SHIFT(1), SHIFT(1)): (0.5 / 0.8) * (0.6 / 0.7),
    (SHIFT(1), OFF(60)): (0.5 / 0.8) * (0.1 / 0.7),
    (SHIFT(2), OFF(60)): (0.3 / 0.8) * 1.0,
}


def test_forcing_keeps_the_models_log_probability_and_ranks_by_the_renormalised_one():
    beams = beam_search(BIND, [ON(60)], 2, beam_size=5, max_note_seconds=0.02)
    assert {tuple(h.events.tolist()) for h in beams} == set(CONSTRAINED)   # every allowed path, no other
    assert [tuple(h.events.tolist()) for h in beams] == sorted(CONSTRAINED, key=CONSTRAINED.get, reverse=True)
    for h in beams:
        assert h.score == pytest.approx(math.log(CONSTRAINED[tuple(h.events.tolist())]))     # log q: what it ranked by
        assert h.logprob == pytest.approx(math.log(BIND.probability([ON(60)], h.events)))  # log p: the model's
        assert h.logprob <= h.score
    forced = next(h for h in beams if h.events[0] == SHIFT(2))
    assert forced.score - forced.logprob == pytest.approx(-math.log(0.8) - math.log(0.25))   # what the limit cost
    # a model that gives the forced event probability 0: log p is −inf, the search still ranks by log q
    (only,) = beam_search(DRONE, PRIMER, 30, beam_size=1, max_note_seconds=0.5)
    assert only.logprob == -math.inf and math.isfinite(only.score)


def test_sampling_and_stochastic_beams_draw_from_the_constrained_model():
    paths = list(CONSTRAINED)
    expected = np.array([CONSTRAINED[p] for p in paths])
    drawn = sample(BIND, [ON(60)], 2, num_samples=3000, generator=_seeded(), max_note_seconds=0.02)
    counts = Counter(map(tuple, drawn.tolist()))
    assert set(counts) <= set(paths)
    assert chisquare([counts[p] for p in paths], expected * 3000).pvalue > 0.01
    g, firsts = _seeded(), Counter()
    for _ in range(1000):
        beams = stochastic_beam_search(BIND, [ON(60)], 2, beam_size=2, generator=g, max_note_seconds=0.02)
        assert len({tuple(h.events) for h in beams}) == 2
        firsts[tuple(beams[0].events.tolist())] += 1
    assert set(firsts) <= set(paths)
    assert chisquare([firsts[p] for p in paths], expected * 1000).pvalue > 0.01


def test_the_limit_reads_the_stream_as_the_decoder_does():
    limit = NoteLimit(0.05, [ON(60), SHIFT(3), ON(60)], batch=2)   # struck again: the note starts anew
    assert limit.onset[:, 60].tolist() == [3, 3] and limit.now.tolist() == [3, 3]
    limit.feed([SHIFT(5), OFF(60)])
    ok = limit.allowed()
    assert ok[0].sum() == 1 and ok[0, OFF(60)]                 # 5 steps held: only its NOTE_OFF
    assert ok[1].all()                                         # nothing sounds: anything goes
    limit.reorder([1, 1, 0])
    assert limit.now.tolist() == [3, 3, 8] and limit.allowed()[2, OFF(60)]
    limit = NoteLimit(0.05, [ON(60), SHIFT(2)])
    allowed_shifts = [n for n in range(1, 101) if limit.allowed()[0, SHIFT(n)]]
    assert allowed_shifts == [1, 2, 3]                         # 2 + 3 = 5 steps, the limit


@pytest.mark.parametrize("seconds", [0, -1, 0.004])
def test_a_limit_shorter_than_a_clock_step_is_a_clear_error(seconds):
    with pytest.raises(ValueError, match="at least one clock step"):
        generate(DRONE, PRIMER, 5, "greedy", max_note_seconds=seconds)


def test_the_default_limit_is_the_corpus_99_9th_percentile():
    from course_lib.corpus import load_works

    durations = np.concatenate([w.performance.end - w.performance.start
                                for w in load_works(progress=False) if w.split == "train"])
    assert DEFAULT_MAX_NOTE_SECONDS == pytest.approx(np.percentile(durations, 99.9), abs=0.05)
    assert (durations > DEFAULT_MAX_NOTE_SECONDS).mean() < 0.001


def test_long_notes_are_counted_with_wilson_intervals():
    from course_lib.constraints import long_notes
    from course_lib.performance import Performance

    def piece(*durations):
        n = len(durations)
        start = np.arange(n, dtype=float)
        return Performance(np.full(n, 60), np.full(n, 64), start, start + np.array(durations))

    counted = long_notes([piece(1.0, 9.0, 8.0), piece(0.5, 0.5), piece(12.0)], 8.0)
    assert (counted.long, counted.notes, counted.pieces_with, counted.pieces) == (2, 6, 2, 3)
    assert counted.notes_rate().value == pytest.approx(2 / 6) and counted.pieces_rate().n == 3
    assert 0 < counted.notes_rate().lo < 2 / 6 < counted.notes_rate().hi < 1
    none = long_notes([piece(1.0)] * 50, 8.0)
    assert none.notes_rate().lo == 0 and 0 < none.notes_rate().hi < 0.1   # none seen is not "none at all"
    assert "0.00% of     50 notes" in str(none)


@pytest.mark.parametrize("text, value", [(None, DEFAULT_MAX_NOTE_SECONDS), ("4.5", 4.5), ("0", None),
                                         ("none", None), ("off", None)])
def test_the_command_line_limit(text, value):
    from course_lib import cli

    argv = ["generate", "--checkpoint", "prnn"] + ([] if text is None else ["--max-note-seconds", text])
    assert cli._parser().parse_args(argv).max_note_seconds == value


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "0.001", "long"])
def test_the_command_line_refuses_a_bad_limit(text, capsys):
    from course_lib import cli

    with pytest.raises(SystemExit):
        cli._parser().parse_args(["generate", "--checkpoint", "prnn", "--max-note-seconds", text])
    assert "--max-note-seconds" in capsys.readouterr().err


def test_the_notes_of_a_continuation_include_those_held_from_the_primer():
    from course_lib.constraints import continuation_notes

    primer = [370, ON(60), SHIFT(50), ON(64), SHIFT(50), OFF(64)]            # 60 still sounds, 64 is over
    notes = continuation_notes(primer, [SHIFT(100), OFF(60), ON(67), SHIFT(10)])
    assert sorted(zip(notes.pitch.tolist(), (notes.end - notes.start).round(2).tolist())) == [(60, 2.0), (67, 0.1)]
