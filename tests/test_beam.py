"""Beam search and stochastic beam search on models whose probabilities we know."""

import math
from collections import Counter

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from course_lib.models import PerformanceRNN
from course_lib.search import (beam_search, beam_step, greedy, gumbel_top_k, stochastic_beam_search,
                               truncated_gumbel)
from course_lib.toy import RandomModel, TreeModel

# Greedy is wrong here: A (0.6) then one of four (0.25 each) = 0.15, but B (0.4) then X (0.9) = 0.36.
A, B, X = 10, 20, 30
TRAP = TreeModel({(0,): {A: 0.6, B: 0.4}, (0, A): {1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25}, (0, B): {X: 0.9, 5: 0.1}})


@torch.no_grad()
def _logprob_by_stepping(model, primer, events):
    logits, state, total = None, None, 0.0
    for e in primer:
        logits, state = model.step(torch.tensor([e]), None, state)
    for e in events:
        total += float(torch.log_softmax(logits[0].double(), -1)[e])
        logits, state = model.step(torch.tensor([int(e)]), None, state)
    return total


def test_the_classic_case_where_greedy_is_wrong_and_a_beam_of_two_is_right():
    assert greedy(TRAP, [0], 2).tolist()[0] == A
    best = beam_search(TRAP, [0], 2, beam_size=2)
    assert best[0].events.tolist() == [B, X] and best[0].logprob == pytest.approx(math.log(0.36))
    assert beam_search(TRAP, [0], 2, beam_size=1)[0].events.tolist() == greedy(TRAP, [0], 2).tolist()


def test_beam_of_one_is_greedy_on_a_real_model():
    torch.manual_seed(0)
    model = PerformanceRNN.from_profile("quick", embed_dim=16, hidden_size=32, num_layers=1).eval()
    (only,) = beam_search(model, [370, 60], 12, beam_size=1)
    assert only.events.tolist() == greedy(model, [370, 60], 12).tolist()


def test_beam_as_wide_as_the_vocabulary_is_exact_over_two_steps():
    model = RandomModel(seed=3)
    first, state = model.step(torch.tensor([7]), None, None)
    lp1 = torch.log_softmax(first[0].double(), -1)
    second, _ = model.step(torch.arange(388), None, state * 388)
    total = lp1[:, None] + torch.log_softmax(second.double(), -1)     # (388, 388): every two-event sequence
    exact, flat = total.reshape(-1).topk(388)
    beams = beam_search(model, [7], 2, beam_size=388)
    assert [h.events.tolist() for h in beams[:50]] == [[int(f) // 388, int(f) % 388] for f in flat[:50]]
    assert np.allclose([h.logprob for h in beams], exact.numpy())


def test_scores_are_the_models_log_probability_and_beams_are_distinct_and_sorted():
    torch.manual_seed(1)
    model = PerformanceRNN.from_profile("quick", embed_dim=16, hidden_size=32, num_layers=1).eval()
    beams = beam_search(model, [370, 60], 8, beam_size=5)
    assert len({tuple(h.events) for h in beams}) == 5
    assert all(a.logprob >= b.logprob for a, b in zip(beams, beams[1:]))
    for h in beams:
        assert h.logprob == pytest.approx(_logprob_by_stepping(model, [370, 60], h.events), abs=1e-4)
    penalised = beam_search(model, [370, 60], 8, beam_size=5, length_penalty=1.0)
    assert [h.events.tolist() for h in penalised] == [h.events.tolist() for h in beams]
    assert penalised[0].score == pytest.approx(beams[0].logprob / ((5 + 8) / 6))


def test_beams_follow_per_step_controls():
    spec_size = 3
    torch.manual_seed(2)
    model = PerformanceRNN.from_profile("quick", embed_dim=8, hidden_size=16, num_layers=1,
                                        control_dim=spec_size).eval()
    controls = torch.rand(20, spec_size)
    assert len(beam_search(model, [1], 5, 3, controls=controls)) == 3
    assert len(stochastic_beam_search(model, [1], 5, 3, controls=controls[0])) == 3


def test_beam_step_keeps_the_best_extensions_with_back_pointers():
    scores = torch.tensor([-1.0, -2.0])
    logprobs = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]]))
    new, parents, events = beam_step(scores, logprobs, 3)
    assert parents.tolist() == [0, 1, 0] and events.tolist() == [0, 0, 1]
    assert torch.allclose(new, torch.tensor([-1 + math.log(0.5), -2 + math.log(0.9), -1 + math.log(0.3)]))
    impossible = torch.log(torch.tensor([[1.0, 0.0, 0.0]]))  # one possible extension: one beam, not three
    assert beam_step(torch.zeros(1), impossible, 3)[2].tolist() == [0]


def test_truncated_gumbel_makes_the_childrens_maximum_the_parents_value():
    g = torch.Generator().manual_seed(0)
    parent = torch.tensor([1.5, -3.0], dtype=torch.float64)
    perturbed = torch.randn(2, 6, generator=g, dtype=torch.float64) * 4
    shifted = truncated_gumbel(parent, perturbed)
    assert torch.allclose(shifted.max(-1).values, parent)
    assert (shifted.argsort(-1) == perturbed.argsort(-1)).all()  # the order of the children is kept
    # far below the maximum the stable form must not lose the value to rounding
    extreme = truncated_gumbel(torch.tensor([0.0], dtype=torch.float64), torch.tensor([[0.0, -40.0]], dtype=torch.float64))
    assert torch.isfinite(extreme).all() and extreme[0, 1] == pytest.approx(-40.0, abs=1e-9)


def test_gumbel_top_k_samples_without_replacement_as_the_distribution_says():
    probs = torch.tensor([0.5, 0.25, 0.15, 0.1], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    firsts = Counter()
    for _ in range(4000):
        idx, _ = gumbel_top_k(probs.log(), 3, generator=g)
        assert len(set(idx.tolist())) == 3
        firsts[int(idx[0])] += 1
    observed = [firsts[i] for i in range(4)]
    assert chisquare(observed, (probs * 4000).numpy()).pvalue > 0.01


@pytest.mark.parametrize("max_note_seconds", [None, 5.0])   # 5 s: a note limit that never binds here
def test_stochastic_beam_samples_are_distinct_and_the_first_is_a_sample_from_the_model(max_note_seconds):
    # two steps over three events each (note-ons, no time passes): nine sequences with known probabilities
    table = {(0,): {1: 0.5, 2: 0.3, 3: 0.2}}
    second = {1: {1: 0.6, 2: 0.3, 3: 0.1}, 2: {1: 0.2, 2: 0.2, 3: 0.6}, 3: {1: 0.34, 2: 0.33, 3: 0.33}}
    table.update({(0, a): row for a, row in second.items()})
    model = TreeModel(table)
    sequences = [(a, b) for a in (1, 2, 3) for b in (1, 2, 3)]
    expected = np.array([model.probability([0], s) for s in sequences])
    g = torch.Generator().manual_seed(0)
    firsts = Counter()
    runs = 3000
    for _ in range(runs):
        beams = stochastic_beam_search(model, [0], 2, beam_size=4, generator=g, max_note_seconds=max_note_seconds)
        assert len({tuple(h.events) for h in beams}) == 4
        assert all(a.score >= b.score for a, b in zip(beams, beams[1:]))
        firsts[tuple(beams[0].events.tolist())] += 1
    observed = [firsts[s] for s in sequences]
    assert chisquare(observed, expected * runs).pvalue > 0.01
    everything = stochastic_beam_search(model, [0], 2, beam_size=9, generator=g, max_note_seconds=max_note_seconds)
    assert sorted(tuple(h.events) for h in everything) == sorted(sequences)
    for h in everything:
        assert h.logprob == pytest.approx(math.log(model.probability([0], h.events)))


def test_stochastic_beam_is_reproducible_with_a_generator_and_tempered():
    model = RandomModel(support=20, seed=5)
    a = stochastic_beam_search(model, [1], 6, 4, generator=torch.Generator().manual_seed(7))
    b = stochastic_beam_search(model, [1], 6, 4, generator=torch.Generator().manual_seed(7))
    assert [h.events.tolist() for h in a] == [h.events.tolist() for h in b]
    hot = stochastic_beam_search(model, [1], 6, 4, temperature=3.0, generator=torch.Generator().manual_seed(7))
    assert [h.events.tolist() for h in hot] != [h.events.tolist() for h in a]
    for h in hot:  # the reported log-probability is the model's, not the tempered one
        assert h.logprob == pytest.approx(_logprob_by_stepping(model, [1], h.events), abs=1e-6)
    assert len(beam_search(TRAP, [0], 2, beam_size=50)) == 6  # only six sequences are possible


@pytest.mark.parametrize("call, message", [
    (lambda: beam_search(TRAP, [0], 2, beam_size=0), "beam_size"),
    (lambda: stochastic_beam_search(TRAP, [0], 2, beam_size=2, temperature=0), "temperature"),
    (lambda: beam_search(TRAP, [], 2, beam_size=2), "empty"),
    (lambda: beam_search(TRAP, [400], 2, beam_size=2), "0–387"),
    (lambda: beam_search(TRAP, [0], -1, beam_size=2), "steps"),
])
def test_bad_arguments_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
