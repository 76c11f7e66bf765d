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

    with pytest.raises(AssertionError, match="not attempted"):
        checks.check_split_time_shift(stub)


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
