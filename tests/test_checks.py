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
