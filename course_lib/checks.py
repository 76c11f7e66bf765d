"""Automatic checks for the exercises: a learner's function against the library's.

Each ``check_*`` runs the learner's code on many inputs, compares with the
reference implementation, prints what passed, and raises ``AssertionError`` with
the first input that disagrees (what was expected, what came back). While the
learner's function is still the stub (it raises ``NotImplementedError``), the check
raises :class:`NotAttempted`, the one signal ``course-lib check`` reads as "not
attempted" (see :mod:`course_lib.grading`).

Notebook: exercises/*.ipynb
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from .encoding import PerformanceEncoding, split_time_shift

__all__ = ["NotAttempted", "check_split_time_shift", "check_velocity_to_bin", "check_transpose_events",
           "check_teacher_forcing_loss", "check_training_step", "check_note_density", "check_with_missing_bit",
           "check_nll_table", "check_containment", "check_beam_step", "check_advance_beams", "check_gumbel_top_k",
           "check_jaccard", "check_interval_shingles", "check_top_k_query", "check_parse_request",
           "check_skew", "check_cached_attention_step"]


class NotAttempted(AssertionError):
    """The learner's function is still the exercise's stub: it raised ``NotImplementedError``."""


def _call(name: str, fn: Callable, *args):
    """``fn(*args)``, with the stub's ``NotImplementedError`` turned into :class:`NotAttempted`."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise NotAttempted(f"{name}: not attempted yet (it raises NotImplementedError)") from None


def _compare(name: str, learner: Callable, reference: Callable, cases: Iterable[tuple], *,
             close: bool = False) -> None:
    """``close``: numbers may differ by rounding (1e-6 relative), not more."""
    cases = list(cases)
    for args in cases:
        expected = reference(*args)
        got = _call(name, learner, *args)
        same = (np.shape(got) == np.shape(expected) and np.allclose(got, expected, rtol=1e-6, atol=1e-9, equal_nan=True)
                if close else np.array_equal(np.asarray(got), np.asarray(expected)))
        if not same:
            shown = ", ".join(_short(a) for a in args)
            raise AssertionError(f"{name}({shown}): expected {_short(expected)}, got {_short(got)}")
    print(f"✓ {name}: {len(cases)} cases agree with the library")


def _short(value, limit: int = 120) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= limit else text[: limit - 4] + " ...]"


def check_split_time_shift(fn: Callable[[int, int], list[int]]) -> None:
    """Chapter 1: splitting a silence into TIME_SHIFT events of at most ``max_shift`` steps."""
    cases = [(s, 100) for s in (0, 1, 37, 99, 100, 101, 250, 1000, 1234)] + [(7, 3), (9, 3)]
    _compare("split_time_shift", lambda s, m: list(fn(s, m)), split_time_shift, cases)


def check_velocity_to_bin(fn: Callable[[int], int], bins: int = 32) -> None:
    """Chapter 1: MIDI velocity 1–127 → one of ``bins`` loudness bins."""
    enc = PerformanceEncoding(velocity_bins=bins)
    _compare("velocity_to_bin", lambda v: int(fn(v)), lambda v: int(enc.velocity_to_bin(v)),
             [(v,) for v in range(1, 128)])


def check_transpose_events(fn: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """Chapter 1: transposing on the events (shift NOTE_ON/NOTE_OFF ids, leave the rest)."""
    from .performance import Performance

    enc = PerformanceEncoding()
    rng = np.random.default_rng(0)
    cases = []
    for n in (1, 5, 40):
        start = np.sort(rng.uniform(0, 5, n))
        perf = Performance(rng.integers(40, 90, n), rng.integers(1, 128, n), start, start + rng.uniform(0.05, 1, n))
        cases += [(enc.encode(perf), k) for k in (-6, -1, 0, 3, 6)]

    def reference(events, k):
        return enc.encode(enc.decode(events).transpose(k))

    _compare("transpose_events", lambda e, k: np.asarray(fn(e.copy(), k)), reference, cases)


def _toy_model_and_batch(seed: int = 0):
    import torch

    from .models import PerformanceRNN, RNNConfig

    torch.manual_seed(seed)
    model = PerformanceRNN(RNNConfig(embed_dim=8, hidden_size=16, num_layers=1, dropout=0.0))
    events = torch.randint(0, 388, (4, 21), generator=torch.Generator().manual_seed(seed))
    return model, events


def check_teacher_forcing_loss(fn: Callable) -> None:
    """Chapter 2: ``fn(model, events)`` → mean next-event cross-entropy (nats), as
    ``course_lib.training.sequence_loss`` computes it."""
    from .training import sequence_loss

    for seed in range(3):
        model, events = _toy_model_and_batch(seed)
        got = _call("teacher_forcing_loss", fn, model, events)
        got = float(got.detach()) if hasattr(got, "detach") else float(got)
        want = float(sequence_loss(model, events).detach())
        if not np.isclose(got, want, rtol=1e-5, atol=1e-6):
            raise AssertionError(f"teacher_forcing_loss on a batch of shape {tuple(events.shape)}: expected "
                                 f"{want:.6f}, got {got:.6f} (are inputs events[:, :-1] and targets events[:, 1:]?)")
    print("✓ teacher_forcing_loss: 3 batches agree with the library")


def check_training_step(fn: Callable) -> None:
    """Chapter 2: ``fn(model, optimizer, events)`` → loss, after one AdamW update; the
    parameters must end up where the library's step puts them."""
    import copy

    import torch

    from .training import sequence_loss

    model, events = _toy_model_and_batch(1)
    reference = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    ref_opt = torch.optim.AdamW(reference.parameters(), lr=1e-2)
    for _ in range(2):
        _call("training_step", fn, model, opt, events)
        loss = sequence_loss(reference, events)
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
    for (name, a), b in zip(model.named_parameters(), reference.parameters()):
        if not torch.allclose(a, b, atol=1e-6):
            raise AssertionError(f"training_step: after two steps parameter {name!r} differs from the library's "
                                 "(zero the gradients, backward the loss, then optimizer.step())")
    print("✓ training_step: two steps move every parameter exactly as the library's step")


def _random_pieces(count: int, seed: int) -> list:
    from .performance import Performance

    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(count):
        n = int(rng.integers(1, 40))
        start = np.sort(rng.choice(np.arange(0, 1200), n)) / 100  # on the 10 ms grid
        length = rng.integers(5, 150, n) / 100
        pieces.append(Performance(rng.integers(40, 90, n), rng.integers(20, 120, n), start, start + length))
    return pieces


def check_note_density(fn: Callable) -> None:
    """Chapter 3: notes struck per second in the window centred on each event."""
    from .controls import note_density

    enc = PerformanceEncoding()
    cases = [(enc.encode(p), w) for p, w in zip(_random_pieces(12, 3), [1.0, 2.0, 3.0, 4.5] * 3)]
    _compare("note_density", lambda e, w: np.asarray(fn(e, w), dtype=np.float64), note_density, cases, close=True)


def check_with_missing_bit(fn: Callable) -> None:
    """Chapter 3: a control with its c0 bit: [0, *values] if known, [1, 0, ..., 0] if None."""
    from .controls import with_missing_bit

    cases = [(None, 1), (None, 7), ([0.25], 1), ([0, 0, 1, 0, 0, 0, 0], 7), (list(np.linspace(0, 1, 12)), 12)]
    _compare("with_missing_bit", lambda v, s: np.asarray(fn(v, s), dtype=np.float32), with_missing_bit, cases,
             close=True)


def check_nll_table(fn: Callable) -> None:
    """Chapter 4: {label: (number of windows, mean NLL)} from per-window losses and labels."""
    from .training import nll_table

    rng = np.random.default_rng(4)
    cases = []
    for n in (1, 5, 40):
        labels = list(rng.choice(["Baroque", "Renaissance", "Traditional"], n))
        cases.append((rng.uniform(1, 4, n), labels))

    def as_rows(table):
        return sorted((k, int(c), float(m)) for k, (c, m) in dict(table).items())

    for losses, labels in cases:
        got, expected = as_rows(_call("nll_table", fn, losses, labels)), as_rows(nll_table(losses, labels))
        if [r[:2] for r in got] != [r[:2] for r in expected] or not np.allclose(
                [r[2] for r in got], [r[2] for r in expected]):
            raise AssertionError(f"nll_table: expected {expected}, got {got}")
    print(f"✓ nll_table: {len(cases)} cases agree with the library")


def check_containment(fn: Callable) -> None:
    """Chapter 4: the share of a sample's n-grams that a source piece also has."""
    from .retrieval import containment, shingles

    pieces = _random_pieces(6, 5)
    cases = [(shingles(a, "pitch", 2), shingles(b, "pitch", 2)) for a in pieces[:3] for b in pieces[3:]]
    cases += [(set(), {(1, 2)}), ({(1, 2), (2, 3)}, {(1, 2)})]
    _compare("containment", lambda a, b: float(fn(a, b)), containment, cases, close=True)


def _random_beams(seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    beams, vocab = int(torch.randint(1, 6, (1,), generator=g)), int(torch.randint(3, 12, (1,), generator=g))
    scores = -torch.rand(beams, generator=g, dtype=torch.float64) * 5
    logprobs = torch.log_softmax(torch.randn(beams, vocab, generator=g, dtype=torch.float64) * 2, -1)
    return scores, logprobs


def check_beam_step(fn: Callable) -> None:
    """Chapter 5: the best extensions of all beams at once, with back-pointers."""
    import torch

    from .search import beam_step

    for seed in range(20):
        scores, logprobs = _random_beams(seed)
        k = 1 + seed % 6
        expected = beam_step(scores, logprobs, k)
        got = _call("beam_step", fn, scores, logprobs, k)
        names = ("new scores", "parents", "events")
        for name, g, e in zip(names, got, expected):
            g = torch.as_tensor(g)
            if g.shape != e.shape or not torch.allclose(g.to(e.dtype), e):
                raise AssertionError(f"beam_step(scores={_short(scores.numpy())}, k={k}): {name} should be "
                                     f"{_short(e.numpy())}, got {_short(g.numpy())}")
    print("✓ beam_step: 20 cases agree with the library")


def check_advance_beams(fn: Callable) -> None:
    """Chapter 5: follow the back-pointers: the kept beams' histories and model states."""
    import torch

    from .toy import TreeModel

    model = TreeModel({})
    history = torch.tensor([[5, 6], [7, 8], [9, 10]])
    _, state = model.step(torch.tensor([1, 2, 3]), None, [(0,), (0,), (0,)])
    parents, events = torch.tensor([2, 0, 2]), torch.tensor([11, 12, 13])
    new_history, new_state = _call("advance_beams", fn, model, history, state, parents, events)
    expected = torch.tensor([[9, 10, 11], [5, 6, 12], [9, 10, 13]])
    if not torch.equal(torch.as_tensor(new_history), expected):
        raise AssertionError(f"advance_beams: history should be {expected.tolist()}, got {_short(new_history)}")
    if new_state != [(0, 3), (0, 1), (0, 3)]:
        raise AssertionError(f"advance_beams: the state should follow the parents (rows 2, 0, 2 of the old state: "
                             f"[(0, 3), (0, 1), (0, 3)]), got {new_state}")
    print("✓ advance_beams: histories and states follow the back-pointers")


def check_gumbel_top_k(fn: Callable) -> None:
    """Chapter 5: k draws without replacement by perturbing log-probabilities with Gumbel noise."""
    import torch

    from .search import gumbel_top_k

    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        logprobs = torch.log_softmax(torch.randn(8, generator=g, dtype=torch.float64), -1)
        uniform = torch.rand(8, generator=g, dtype=torch.float64)
        k = 1 + seed % 5
        expected, _ = gumbel_top_k(logprobs, k, uniform=uniform)
        got = torch.as_tensor(_call("gumbel_top_k", fn, logprobs, k, uniform))
        if not torch.equal(got.long(), expected):
            raise AssertionError(f"gumbel_top_k(k={k}) with uniform noise {_short(uniform.numpy())}: expected "
                                 f"{expected.tolist()}, got {got.tolist()}")
    print("✓ gumbel_top_k: 20 cases agree with the library")


def check_jaccard(fn: Callable) -> None:
    """Chapter 6: |A ∩ B| / |A ∪ B| (0 for two empty sets)."""
    from .retrieval import jaccard

    rng = np.random.default_rng(6)
    cases = [(set(), set()), ({1}, {1}), ({1, 2}, {3}), ({"type:jig", "mode:major"}, {"type:jig"})]
    cases += [(set(rng.integers(0, 8, rng.integers(0, 6)).tolist()), set(rng.integers(0, 8, rng.integers(1, 6)).tolist()))
              for _ in range(20)]
    _compare("jaccard", lambda a, b: float(fn(a, b)), jaccard, cases, close=True)


def check_interval_shingles(fn: Callable) -> None:
    """Chapter 6: the set of n-grams of intervals between consecutive pitches."""
    from .retrieval import shingles

    cases = [(p, n) for p in _random_pieces(8, 7) for n in (1, 2, 3)]
    _compare("interval_shingles", lambda p, n: set(fn(p, n)), lambda p, n: shingles(p, "interval", n), cases)


def check_top_k_query(fn: Callable) -> None:
    """Chapter 6: the exact top-k query as a sparse matrix product, ties to the lower index."""
    from scipy import sparse

    from .retrieval import JaccardIndex

    rng = np.random.default_rng(8)
    for case in range(15):
        sets = [set(rng.integers(0, 12, rng.integers(1, 7)).tolist()) for _ in range(int(rng.integers(3, 30)))]
        query = set(rng.integers(0, 14, rng.integers(1, 6)).tolist())
        k = int(rng.integers(1, 6))
        rows = [i for i, s in enumerate(sets) for _ in s]
        cols = [x for s in sets for x in s]
        matrix = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(sets), 14))
        expected = JaccardIndex(sets).query(query, k)
        got = [(int(i), float(sim)) for i, sim in _call("top_k_query", fn, matrix, sorted(query), k)]
        if [i for i, _ in got] != [i for i, _ in expected] or not np.allclose(
                [s for _, s in got], [s for _, s in expected]):
            raise AssertionError(f"top_k_query(sets={sets}, query={sorted(query)}, k={k}): expected {expected}, "
                                 f"got {got}")
    print("✓ top_k_query: 15 cases agree with the library")


def check_parse_request(fn: Callable) -> None:
    """Chapter 6: a request → the set of tags (type, key, mode, meter) it names."""
    from .rag import parse_request

    requests = ["a jig in D major, 6/8", "a reel in A minor", "slip jig in E dorian", "a hornpipe, 2/4",
                "something in G mixolydian", "a strathspey in F# minor, 4/4", "a waltz, 3/4", "reels in D"]
    _compare("parse_request", lambda r: set(fn(r)), parse_request, [(r,) for r in requests])


def check_skew(fn: Callable) -> None:
    """Chapter 7: the skewing trick on (..., L, L) logits; compared on and below the diagonal."""
    import torch

    from .attention import skew_logits

    for case, shape in enumerate([(4, 4), (1, 1), (3, 7, 7), (2, 3, 5, 5)]):
        qe = torch.randn(*shape, generator=torch.Generator().manual_seed(case), dtype=torch.float64)
        expected = skew_logits(qe)
        got = torch.as_tensor(_call("skew", fn, qe))
        below = torch.ones(shape[-1], shape[-1], dtype=torch.bool).tril()
        if got.shape != expected.shape or not torch.allclose(got[..., below], expected[..., below]):
            raise AssertionError(f"skew on a {tuple(shape)} input: expected (on and below the diagonal)\n"
                                 f"{expected[..., below]}\ngot\n{got[..., below] if got.shape == expected.shape else got.shape}")
    print("✓ skew: 4 cases agree with the library")


def check_cached_attention_step(fn: Callable) -> None:
    """Chapter 7: one cached attention step with the relative term, against full causal attention."""
    import math

    import torch

    from .attention import relative_embeddings_for, relative_logits

    g = torch.Generator().manual_seed(7)
    b, h, length, d = 2, 3, 6, 4
    q, k, v = (torch.randn(b, h, length, d, generator=g, dtype=torch.float64) for _ in range(3))
    table = torch.randn(h, 8, d, generator=g, dtype=torch.float64)
    logits = q @ k.transpose(-1, -2) + relative_logits(q, relative_embeddings_for(table, length))
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    full = (logits / math.sqrt(d)).masked_fill(~causal, float("-inf")).softmax(-1) @ v
    cache = None
    for t in range(length):
        out, cache = _call("attention_step", fn, q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1], cache,
                           relative_embeddings_for(table, t + 1))
        if not torch.allclose(torch.as_tensor(out), full[:, :, t:t + 1]):
            raise AssertionError(f"attention_step at position {t}: the output differs from full causal attention")
        if cache[0].shape != (b, h, t + 1, d):
            raise AssertionError(f"attention_step at position {t}: the key cache should have shape "
                                 f"{(b, h, t + 1, d)}, got {tuple(cache[0].shape)}")
    print(f"✓ attention_step: {length} cached steps equal full causal attention")
