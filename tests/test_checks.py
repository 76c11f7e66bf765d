import numpy as np
import pytest

from course_lib import checks
from course_lib.encoding import PerformanceEncoding, split_time_shift

ENC = PerformanceEncoding()


def _transpose(events, k):
    events = events.astype(np.int64)
    keys = events < 256
    events[keys] += k
    return events


def test_reference_answers_pass(capsys):
    checks.check_split_time_shift(split_time_shift)
    checks.check_velocity_to_bin(lambda v: int(ENC.velocity_to_bin(v)))
    checks.check_transpose_events(_transpose)
    assert capsys.readouterr().out.count("✓") == 3


@pytest.mark.parametrize(
    "check, wrong",
    [
        (checks.check_split_time_shift, lambda s, m: [m] * (s // m) + [s % m]),  # appends a 0 shift
        (checks.check_velocity_to_bin, lambda v: v // 4),
        (checks.check_transpose_events, lambda e, k: e + k),  # shifts every event, not just keys
    ],
)
def test_wrong_answers_fail_with_the_first_disagreeing_input(check, wrong):
    with pytest.raises(AssertionError, match="expected"):
        check(wrong)


def test_not_attempted_is_reported():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(checks.NotAttempted, match="not attempted"):
        checks.check_split_time_shift(stub)


@pytest.mark.parametrize("name", [n for n in checks.__all__ if n.startswith("check_")])
def test_every_check_says_not_attempted_for_the_stub_and_only_for_it(name):
    """The grader reads "not attempted" from this exception type alone, never from a message."""
    check = getattr(checks, name)

    def stub(*args):
        raise NotImplementedError()

    def pretender(*args):
        raise AssertionError("not attempted")

    with pytest.raises(checks.NotAttempted):
        check(stub)
    with pytest.raises(AssertionError) as err:
        check(pretender)
    assert not isinstance(err.value, checks.NotAttempted)


def test_check_encode_is_gone():
    assert not hasattr(checks, "check_encode")   # no exercise used it


def test_chapter_2_checks_accept_the_reference_and_reject_mistakes():
    import torch.nn.functional as F

    def loss(model, events):
        logits = model(events[:, :-1])
        return F.cross_entropy(logits.reshape(-1, 388), events[:, 1:].reshape(-1))

    def unshifted(model, events):  # predicts each event from itself
        logits = model(events)
        return F.cross_entropy(logits.reshape(-1, 388), events.reshape(-1))

    def step(model, optimizer, events):
        value = loss(model, events)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        return value.item()

    def step_without_zero_grad(model, optimizer, events):
        loss(model, events).backward()
        optimizer.step()

    checks.check_teacher_forcing_loss(loss)
    checks.check_training_step(step)
    with pytest.raises(AssertionError, match="expected"):
        checks.check_teacher_forcing_loss(unshifted)
    with pytest.raises(AssertionError, match="differs"):
        checks.check_training_step(step_without_zero_grad)


def test_chapter_3_and_4_checks_accept_the_library_and_reject_mistakes():
    from course_lib import controls, retrieval, training

    checks.check_note_density(controls.note_density)
    checks.check_with_missing_bit(controls.with_missing_bit)
    checks.check_nll_table(training.nll_table)
    checks.check_containment(retrieval.containment)
    with pytest.raises(AssertionError, match="note_density"):
        checks.check_note_density(lambda e, w: controls.note_density(e, w) * w)  # a count, not a rate
    with pytest.raises(AssertionError, match="with_missing_bit"):
        checks.check_with_missing_bit(lambda v, s: controls.with_missing_bit(v, s)[1:])  # no c0 bit
    with pytest.raises(AssertionError, match="nll_table"):
        checks.check_nll_table(lambda l, p: {k: (c, m + 0.1) for k, (c, m) in training.nll_table(l, p).items()})
    with pytest.raises(AssertionError, match="containment"):
        checks.check_containment(retrieval.jaccard)


def test_nll_table_groups_and_orders():
    from course_lib.training import nll_table

    table = nll_table([1.0, 2.0, 4.0], ["b", "a", "b"], order=["b", "a", "c"])
    assert list(table) == ["b", "a"] and table["b"] == (2, 2.5) and table["a"] == (1, 2.0)
    with pytest.raises(ValueError, match="one label per loss"):
        nll_table([1.0], ["a", "b"])


def test_chapter_5_checks_accept_the_library_and_reject_mistakes():
    import torch

    from course_lib import search

    checks.check_beam_step(search.beam_step)
    checks.check_gumbel_top_k(lambda lp, k, u: search.gumbel_top_k(lp, k, uniform=u)[0])

    def advance(model, history, state, parents, events):
        return torch.cat([history[parents], events[:, None]], 1), model.reorder_state(state, parents)

    checks.check_advance_beams(advance)

    def best_per_beam(scores, logprobs, k):  # a common mistake: the best events of the first beam only
        best, events = (scores[0] + logprobs[0]).topk(min(k, logprobs.shape[1]))
        return best, torch.zeros_like(events), events

    with pytest.raises(AssertionError, match="beam_step"):
        checks.check_beam_step(best_per_beam)
    with pytest.raises(AssertionError, match="gumbel_top_k"):
        checks.check_gumbel_top_k(lambda lp, k, u: (lp + torch.log(-torch.log(u))).topk(k).indices)  # wrong sign
    with pytest.raises(AssertionError, match="state should follow"):
        checks.check_advance_beams(lambda m, h, s, p, e: (torch.cat([h[p], e[:, None]], 1), s))


def test_chapter_6_checks_accept_the_library_and_reject_mistakes():
    import numpy as np

    from course_lib import rag, retrieval

    checks.check_jaccard(retrieval.jaccard)
    checks.check_interval_shingles(lambda p, n: retrieval.shingles(p, "interval", n))
    checks.check_parse_request(rag.parse_request)

    def top_k(matrix, query, k):
        q = np.zeros(matrix.shape[1])
        q[query] = 1
        inter = matrix @ q
        sims = inter / (np.asarray(matrix.sum(1)).ravel() + len(query) - inter)
        order = np.lexsort((np.arange(len(sims)), -sims))[:k]
        return [(i, sims[i]) for i in order]

    checks.check_top_k_query(top_k)
    with pytest.raises(AssertionError, match="jaccard"):
        checks.check_jaccard(lambda a, b: len(set(a) & set(b)) / max(len(set(a)), 1))
    with pytest.raises(AssertionError, match="interval_shingles"):
        checks.check_interval_shingles(lambda p, n: retrieval.shingles(p, "pitch", n))
    with pytest.raises(AssertionError, match="top_k_query"):
        checks.check_top_k_query(lambda m, q, k: top_k(m, q, k)[::-1])
    with pytest.raises(AssertionError, match="parse_request"):
        checks.check_parse_request(lambda r: rag.parse_request(r) - {t for t in rag.parse_request(r) if "meter" in t})


def test_chapter_7_checks_accept_the_library_and_reject_mistakes():
    import math

    import torch

    from course_lib.attention import skew_logits

    checks.check_skew(skew_logits)

    def step(q, k, v, cache, e):
        if cache is not None:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        logits = (q @ k.transpose(-1, -2) + q @ e.transpose(-1, -2)[None]) / math.sqrt(q.shape[-1])
        return logits.softmax(-1) @ v, (k, v)

    checks.check_cached_attention_step(step)
    with pytest.raises(AssertionError, match="skew"):
        checks.check_skew(lambda qe: qe)
    with pytest.raises(AssertionError, match="attention_step"):
        checks.check_cached_attention_step(lambda q, k, v, c, e: step(q, k, v, c, e.flip(-2)))
